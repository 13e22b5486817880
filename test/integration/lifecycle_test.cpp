// Process lifecycle and the main listener's HTTP behaviour: SIGHUP reloads, SIGTERM drains
// (in-flight requests finish, new ones get 503), SIGINT stops, error responses, keep-alive
// and the request size limit.
#include <boost/test/unit_test.hpp>

#include <csignal>

#include "harness.hpp"

namespace {

// `text` with its first `placeholder` replaced by `value`.
std::string with(std::string text, const std::string& placeholder, const std::string& value) {
  return text.replace(text.find(placeholder), placeholder.size(), value);
}

// services/app.json: a fast route, a slow one answering after `slow_ms`, and an echo.
it::Manifests app(int slow_ms = 0) {
  const std::string manifest = R"({
    "name": "app",
    "prefix": "/app",
    "routes": [
      {"method": "GET", "path": "/fast", "kind": "static", "options": {"body": "fast"}},
      {"method": "GET", "path": "/slow", "kind": "static",
       "options": {"delay_ms": SLOW_MS, "body": "slow"}},
      {"method": "POST", "path": "/echo", "kind": "echo"}
    ]
  })";
  return {{"app.json", with(manifest, "SLOW_MS", std::to_string(slow_ms))}};
}

std::string generation_header(const it::HttpResponse& response) {
  return response.header("X-Route-Generation").value_or("<missing>");
}

// Sends GET /app/slow on `client` and waits until the server has read it, so that the
// request is in flight (fully received, per the contract) before the test signals.
// The server does not expose its in-flight requests; the kernel's receive queue of the
// server's socket (empty once the server read the request) is the observable point.
void send_slow_request(it::HttpClient& client) {
  client.send_request("GET", "/app/slow");
  BOOST_REQUIRE(client.wait_server_read());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(sighup_reloads) {
  it::TempDir dir;
  const std::string manifest = R"({"routes": [
    {"method": "GET", "path": "/v", "kind": "static", "options": {"body": "BODY"}}]})";
  it::ServerProcess server(dir, it::Env{{"HOT_RELOAD_ENABLE", "false"}},
                           {{"v.json", with(manifest, "BODY", "one")}});
  server.start();
  dir.write_atomic("services/v.json", with(manifest, "BODY", "two"));
  server.signal(SIGHUP);
  BOOST_REQUIRE(it::wait_for_generation(server, 2));

  const auto status = it::admin_json(server, "/admin/status");
  BOOST_TEST(it::json_string(status["last_reload"]["trigger"]) == "signal");
  BOOST_TEST(status["last_reload"]["changed"].GetBool());
  const auto response = it::http_get(server.port(), "/v");
  BOOST_TEST(response.body == "two");
  BOOST_TEST(generation_header(response) == "2");
}

BOOST_AUTO_TEST_CASE(sigterm_completes_in_flight_request) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"SHUTDOWN_GRACE_MS", "10000"}}, app(400));
  server.start();
  it::HttpClient slow(server.port());
  send_slow_request(slow);
  server.signal(SIGTERM);

  const auto response = slow.read_response();
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "slow");
  BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(drain_refuses_new_requests) {
  it::TempDir dir;
  // The slow request keeps the drain open for 1.5 s while the test probes.
  it::ServerProcess server(dir, it::Env{{"SHUTDOWN_GRACE_MS", "30000"}}, app(1500));
  server.start();
  it::HttpClient slow(server.port());
  send_slow_request(slow);
  server.signal(SIGTERM);

  BOOST_TEST(
      it::wait_until([&] { return it::http_get(server.admin_port(), "/readyz").status == 503; }),
      "/readyz kept answering 200 during the drain");
  // Readiness drops just before the listener starts refusing (two messages to two actors), so
  // the refusal is awaited too; one connection serves every try until the server closes it.
  it::HttpClient fresh(server.port());
  it::HttpResponse refused;
  const bool was_refused = it::wait_until([&] {
    refused = fresh.get("/app/fast");
    return refused.status == 503;
  });
  BOOST_TEST(was_refused, "a new request was never refused during the drain");
  BOOST_TEST(refused.closed_by_server, "503 without Connection: close");
  BOOST_TEST(refused.has_header("X-Route-Generation"));
  BOOST_TEST(fresh.wait_closed(), "the server kept the refused connection open");

  const auto finished = slow.read_response();
  BOOST_TEST(finished.status == 200);
  BOOST_TEST(finished.body == "slow");
  BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(sigint_stops_cleanly) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, app());
  server.start();
  BOOST_TEST(it::http_get(server.port(), "/app/fast").status == 200);
  server.signal(SIGINT);
  BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(error_responses_carry_generation) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, app());
  server.start();
  it::HttpClient client(server.port());

  const auto ok = client.get("/app/fast");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(generation_header(ok) == "1");

  const auto missing = client.get("/nowhere");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(missing.body == R"({"detail":"Not Found"})");
  BOOST_TEST(generation_header(missing) == "1");

  const auto wrong_method = client.request("DELETE", "/app/fast");
  BOOST_TEST(wrong_method.status == 405);
  BOOST_TEST(generation_header(wrong_method) == "1");
  const std::string allow = wrong_method.header("Allow").value_or("");
  BOOST_TEST(allow.find("GET") != std::string::npos, "Allow: " << allow);
  BOOST_TEST(allow.find("HEAD") != std::string::npos, "Allow: " << allow);
}

BOOST_AUTO_TEST_CASE(keep_alive_reuses_the_connection) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, app());
  server.start();
  it::HttpClient client(server.port());
  const auto first = client.get("/app/fast");
  const auto second = client.request("POST", "/app/echo", {}, "hi");
  BOOST_TEST(first.status == 200);
  BOOST_TEST(second.status == 200);
  BOOST_TEST(!first.closed_by_server);
  BOOST_TEST(client.connects() == 1, "the server closed the connection between two requests");
}

// What the client asked for: the server ends the connection once the response is written.
BOOST_AUTO_TEST_CASE(connection_close_is_answered_and_honoured) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, app());
  server.start();
  it::HttpClient client(server.port());
  const auto response = client.request("GET", "/app/fast", {{"Connection", "close"}});
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.closed_by_server, "no Connection: close in the answer");
  BOOST_TEST(client.wait_closed(), "the server kept the connection open");
}

// HEAD gets GET's headers, Content-Length included, and no body.
BOOST_AUTO_TEST_CASE(head_has_the_length_of_get_and_no_body) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, app());
  server.start();
  it::HttpClient client(server.port());
  const auto get = client.get("/app/fast");
  const auto head = client.request("HEAD", "/app/fast");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());
  BOOST_TEST(head.header("Content-Length").value_or("?") == std::to_string(get.body.size()));
  BOOST_TEST(client.get("/app/fast").body == get.body);  // the connection's framing held
  BOOST_TEST(client.connects() == 1);
}

BOOST_AUTO_TEST_CASE(oversized_body_gets_413_and_close) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"MAX_REQUEST_BYTES", "1000"}}, app());
  server.start();
  it::HttpClient client(server.port());
  // At the limit: served.
  BOOST_TEST(client.request("POST", "/app/echo", {}, std::string(1000, 'a')).status == 200);

  const auto response = client.request("POST", "/app/echo", {}, std::string(1001, 'a'));
  BOOST_TEST(response.status == 413);
  BOOST_TEST(response.closed_by_server, "413 without Connection: close");
  BOOST_TEST(client.wait_closed(), "the server kept the connection open after 413");
}

BOOST_AUTO_TEST_CASE(one_megabyte_body_under_default_limit) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, app());
  server.start();
  const std::string body(1000000, 'x');
  const auto response = it::http_request(server.port(), "POST", "/app/echo", {}, body);
  BOOST_REQUIRE(response.status == 200);
  const auto echoed = it::parse_json(response.body);
  BOOST_TEST(it::json_string(echoed["body"]).size() == body.size());
}

BOOST_AUTO_TEST_SUITE_END()
