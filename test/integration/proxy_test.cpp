// The `proxy` kind end to end: aitools-server forwards to a real local upstream
// (test/upstream/fake_xfyun.py, started per test) over plain HTTP or HTTPS, and relays its
// answers or maps its failures to the AITools envelope.
#include <chrono>
#include <csignal>
#include <set>
#include <string>
#include <vector>

#include <strings.h>

#include <boost/test/unit_test.hpp>

#include "harness.hpp"
#include "upstream.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using it::HttpResponse;

constexpr auto kPatience = 10s;

std::string str(const rapidjson::Value& value) { return it::json_string(value); }

// One proxy route as manifest JSON; `options` are the fields after "url" (may be empty).
std::string route(const std::string& method, const std::string& path, const std::string& url,
                  const std::string& options = "") {
  return R"({"method": ")" + method + R"(", "path": ")" + path +
         R"(", "kind": "proxy", "options": {"url": ")" + url + "\"" +
         (options.empty() ? "" : ", " + options) + "}}";
}

std::string manifest(const std::vector<std::string>& routes) {
  std::string text = R"({"routes": [)";
  for (size_t i = 0; i < routes.size(); ++i) text += (i ? ",\n  " : "\n  ") + routes[i];
  return text + "\n]}\n";
}

it::Env base_env(const it::Env& extra = {}) {
  it::Env env = {{"HOT_RELOAD_ENABLE", "true"}, {"RELOAD_DEBOUNCE_MS", "20"},
                 {"RESCAN_INTERVAL_S", "0"}, {"LOG_LEVEL", "debug"}};
  for (const auto& [key, value] : extra) env[key] = value;
  return env;
}

// A server whose services/proxy.json holds `routes`.
struct ProxyServer {
  ProxyServer(const it::TempDir& dir, const std::vector<std::string>& routes,
              const it::Env& env = base_env())
      : server(dir, env, {{"proxy.json", manifest(routes)}}) {
    server.start();
  }
  it::ServerProcess server;
};

// The envelope of a failed call: its code, and a sid equal to the X-Sid header.
int envelope_code(const HttpResponse& response) {
  const auto body = it::parse_json(response.body);
  BOOST_TEST(response.header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(response.header("X-Sid").value_or("<none>") == str(body["sid"]));
  BOOST_TEST(body.HasMember("message"));
  return body.HasMember("code") && body["code"].IsInt() ? body["code"].GetInt() : -1;
}

long milliseconds_since(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

std::set<std::string> peer_ports(const rapidjson::Document& records) {
  std::set<std::string> ports;
  for (const auto& record : records.GetArray()) ports.insert(std::to_string(record["peer_port"].GetInt()));
  return ports;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy)

BOOST_AUTO_TEST_CASE(relays_get_and_post_with_params_query_and_headers) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir);
  upstream.start();
  ProxyServer live(dir, {
      route("GET", "/v1/items/{id}", upstream.url("/echo/items/{id}?fixed=1"),
            R"("headers": {"X-Added": "yes"}, "pass_headers": ["accept", "x-pass"])"),
      route("POST", "/v1/files/{rest*}", upstream.url("/echo/files/{rest}"),
            R"("method": "PUT", "pass_query": false)"),
  });
  it::HttpClient client(live.server.port());

  auto response = client.get("/v1/items/a%20b?q=1&r=x%26y",
                             {{"Accept", "application/json"}, {"X-Pass", "p"}, {"X-Drop", "d"}});
  BOOST_TEST_REQUIRE(response.status == 200, response.body);
  BOOST_TEST(response.header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(response.header("X-Sid").value_or("").rfind("ait", 0) == 0u);
  // End-to-end headers of the upstream are relayed; framing is the server's own, once.
  BOOST_TEST(response.header("Server").value_or("").find("BaseHTTP") != std::string::npos);
  int lengths = 0;
  for (const auto& header : response.headers)
    lengths += strcasecmp(header.first.c_str(), "Content-Length") == 0;
  BOOST_TEST(lengths == 1);
  auto record = it::parse_json(response.body);
  BOOST_TEST(str(record["method"]) == "GET");
  BOOST_TEST(str(record["path"]) == "/echo/items/a%20b");  // the parameter, percent-encoded
  BOOST_TEST(str(record["query"]["fixed"]) == "1");
  BOOST_TEST(str(record["query"]["q"]) == "1");
  BOOST_TEST(str(record["query"]["r"]) == "x&y");
  BOOST_TEST(str(record["headers"]["x-added"]) == "yes");
  BOOST_TEST(str(record["headers"]["x-pass"]) == "p");
  BOOST_TEST(str(record["headers"]["accept"]) == "application/json");
  BOOST_TEST(!record["headers"].HasMember("x-drop"));
  BOOST_TEST(record["signed_with"].IsNull());

  response = client.request("POST", "/v1/files/dir/f.txt?ignored=1",
                            {{"Content-Type", "application/json"}}, R"({"a": 1})");
  BOOST_TEST_REQUIRE(response.status == 200, response.body);
  record = it::parse_json(response.body);
  BOOST_TEST(str(record["method"]) == "PUT");
  BOOST_TEST(str(record["path"]) == "/echo/files/dir/f.txt");  // {rest*} keeps its slashes
  BOOST_TEST(record["query"].ObjectEmpty());
  BOOST_TEST(str(record["body"]) == R"({"a": 1})");
  BOOST_TEST(str(record["headers"]["content-type"]) == "application/json");

  // Any upstream status is relayed as it is, with its body and type.
  upstream.set_mode("http500");
  response = client.get("/v1/items/x");
  BOOST_TEST(response.status == 500);
  BOOST_TEST(response.body == "upstream exploded");
  BOOST_TEST(response.header("Content-Type").value_or("") == "text/plain");
  BOOST_TEST(response.has_header("X-Sid"));
}

BOOST_AUTO_TEST_CASE(xfyun_hmac_signed_request_verifies_and_a_wrong_secret_is_45102) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir, it::Keys{{"test-key", "test-secret"}});
  upstream.start();
  const std::string auth = R"("auth": {"type": "xfyun-hmac", "api_key": "${AI_API_KEY}", )";
  ProxyServer live(dir,
                   {route("POST", "/v1/signed/{x}", upstream.url("/echo/signed/{x}?a=1"),
                          auth + R"("api_secret": "${AI_API_SECRET}"})"),
                    route("POST", "/v1/wrong", upstream.url("/echo/wrong"),
                          auth + R"("api_secret": "not-the-secret"})")},
                   base_env({{"AI_API_KEY", "test-key"}, {"AI_API_SECRET", "test-secret"}}));
  it::HttpClient client(live.server.port());

  auto response = client.request("POST", "/v1/signed/v?b=2", {}, "hello");
  BOOST_TEST_REQUIRE(response.status == 200, response.body);
  const auto record = it::parse_json(response.body);
  BOOST_TEST(str(record["signed_with"]) == "test-key");
  BOOST_TEST(str(record["path"]) == "/echo/signed/v");
  BOOST_TEST(str(record["query"]["a"]) == "1");
  BOOST_TEST(str(record["query"]["b"]) == "2");
  BOOST_TEST(str(record["query"]["host"]) == "127.0.0.1:" + std::to_string(upstream.port()));
  BOOST_TEST(str(record["body"]) == "hello");

  response = client.request("POST", "/v1/wrong", {}, "x");
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45102);
}

BOOST_AUTO_TEST_CASE(upstream_down_answers_45101_with_502) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir);
  upstream.start();
  const uint16_t closed = it::free_port();
  ProxyServer live(dir, {route("GET", "/v1/up", upstream.url("/echo/up")),
                         route("GET", "/v1/closed", "http://127.0.0.1:" + std::to_string(closed) + "/x")});
  it::HttpClient client(live.server.port());

  BOOST_TEST_REQUIRE(client.get("/v1/up").status == 200);  // a connection is now cached
  upstream.set_mode("close");  // the upstream hangs up without an answer
  auto response = client.get("/v1/up");
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45101);

  upstream.kill();
  response = client.get("/v1/up");
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45101);

  response = client.get("/v1/closed");
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45101);
  BOOST_TEST(live.server.log().find(response.header("X-Sid").value_or("<none>")) != std::string::npos,
             "the sid is logged");

  upstream.start();  // back on the same port: served again
  BOOST_TEST(client.get("/v1/up").status == 200);
}

BOOST_AUTO_TEST_CASE(slow_upstream_past_the_timeout_answers_504) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir);
  upstream.start();
  ProxyServer live(dir, {route("GET", "/v1/slow", upstream.url("/echo/slow"), R"("timeout_ms": 300)")});
  upstream.set_mode("slow", 3000);
  const auto started = Clock::now();
  const auto response = it::http_get(live.server.port(), "/v1/slow");
  const auto took_ms = milliseconds_since(started);
  BOOST_TEST(response.status == 504, response.body);
  BOOST_TEST(envelope_code(response) == 45101);
  BOOST_TEST(took_ms >= 290);
  BOOST_TEST(took_ms < 2500);
}

BOOST_AUTO_TEST_CASE(garbage_and_oversized_answers_are_45100_with_502) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir);
  upstream.start();
  ProxyServer live(dir, {route("GET", "/v1/any", upstream.url("/echo/any")),
                         route("GET", "/v1/small", upstream.url("/echo/small"), R"("max_body_bytes": 64)")});
  it::HttpClient client(live.server.port());

  auto response = client.get("/v1/small");  // the echo record is far above 64 bytes
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45100);
  BOOST_TEST(response.body.find("exceeds 64 bytes") != std::string::npos, response.body);

  upstream.set_mode("garbage");
  response = client.get("/v1/any");
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45100);
}

BOOST_AUTO_TEST_CASE(key_change_applies_to_the_next_request_while_one_in_flight_finishes) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir, it::Keys{{"key-one", "secret-one"}, {"key-two", "secret-two"}});
  upstream.start();
  it::Env env = base_env({{"AI_API_KEY", "key-one"}, {"AI_API_SECRET", "secret-one"}});
  ProxyServer live(dir,
                   {route("GET", "/v1/signed", upstream.url("/echo/signed"),
                          R"("auth": {"type": "xfyun-hmac", "api_key": "${AI_API_KEY}", )"
                          R"("api_secret": "${AI_API_SECRET}"})")},
                   env);
  const uint64_t generation = it::status_generation(live.server);
  upstream.set_mode("slow", 1500);

  it::HttpClient in_flight(live.server.port());
  in_flight.send_request("GET", "/v1/signed");
  BOOST_TEST_REQUIRE(it::wait_until([&] { return upstream.requests().Size() == 1; }, kPatience));

  env["AI_API_KEY"] = "key-two";
  env["AI_API_SECRET"] = "secret-two";
  dir.write_atomic("aitools.env", it::env_text(env));
  BOOST_TEST_REQUIRE(it::wait_for_generation(live.server, generation + 1, kPatience));

  const auto next = it::http_get(live.server.port(), "/v1/signed");
  const auto first = in_flight.read_response();
  BOOST_TEST_REQUIRE(first.status == 200, first.body);
  BOOST_TEST_REQUIRE(next.status == 200, next.body);
  BOOST_TEST(str(it::parse_json(first.body)["signed_with"]) == "key-one");
  BOOST_TEST(str(it::parse_json(next.body)["signed_with"]) == "key-two");
  BOOST_TEST(first.header("X-Route-Generation").value_or("") == std::to_string(generation));
  BOOST_TEST(next.header("X-Route-Generation").value_or("") == std::to_string(generation + 1));
}

BOOST_AUTO_TEST_CASE(https_upstream_with_a_self_signed_certificate_and_ca_file) {
  it::TempDir dir;
  it::FakeUpstreamOptions options;
  options.tls = true;
  it::FakeUpstream upstream(dir, options);
  upstream.start();
  ProxyServer live(dir, {route("GET", "/v1/tls", upstream.url("/echo/tls"),
                               R"("ca_file": ")" + upstream.ca_file() + "\""),
                         route("GET", "/v1/untrusted", upstream.url("/echo/untrusted"))});
  it::HttpClient client(live.server.port());

  auto response = client.get("/v1/tls?x=1");
  BOOST_TEST_REQUIRE(response.status == 200, response.body);
  BOOST_TEST(str(it::parse_json(response.body)["query"]["x"]) == "1");

  // Without the CA the certificate does not verify: a TLS failure is a connection failure.
  response = client.get("/v1/untrusted");
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45101);
  BOOST_TEST(response.body.find("tls") != std::string::npos, response.body);
}

BOOST_AUTO_TEST_CASE(sequential_requests_reuse_upstream_connections) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir);
  upstream.start();
  ProxyServer live(dir, {route("GET", "/v1/r", upstream.url("/echo/r"))});
  it::HttpClient client(live.server.port());
  constexpr int kRequests = 30;
  for (int i = 0; i < kRequests; ++i) BOOST_TEST_REQUIRE(client.get("/v1/r").status == 200);
  const auto records = upstream.requests();
  BOOST_TEST(records.Size() == rapidjson::SizeType(kRequests));
  BOOST_TEST(peer_ports(records).size() <= 2u, "upstream connections: " << peer_ports(records).size());
}

BOOST_AUTO_TEST_CASE(a_slow_upstream_blocks_no_http_thread) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir);
  upstream.start();
  ProxyServer live(dir,
                   {route("GET", "/v1/slow", upstream.url("/echo/slow")),
                    R"({"method": "GET", "path": "/v1/static", "kind": "static", "options": {"body": "here"}})"},
                   base_env({{"HTTP_THREADS", "1"}}));
  upstream.set_mode("slow", 2000);

  it::HttpClient slow(live.server.port());
  slow.send_request("GET", "/v1/slow");
  BOOST_TEST_REQUIRE(it::wait_until([&] { return upstream.requests().Size() == 1; }, kPatience));

  // The only reactor thread is free while the upstream takes its time.
  const auto started = Clock::now();
  const auto response = it::http_get(live.server.port(), "/v1/static");
  const auto took_ms = milliseconds_since(started);
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "here");
  BOOST_TEST(took_ms < 500);

  const auto answer = slow.read_response();
  BOOST_TEST(answer.status == 200, answer.body);
}

BOOST_AUTO_TEST_CASE(shutdown_answers_a_call_still_waiting_past_the_grace) {
  it::TempDir dir;
  it::FakeUpstream upstream(dir);
  upstream.start();
  ProxyServer live(dir, {route("GET", "/v1/slow", upstream.url("/echo/slow"))},
                   base_env({{"SHUTDOWN_GRACE_MS", "200"}}));
  upstream.set_mode("slow", 5000);
  it::HttpClient slow(live.server.port());
  slow.send_request("GET", "/v1/slow");
  BOOST_TEST_REQUIRE(it::wait_until([&] { return upstream.requests().Size() == 1; }, kPatience));

  const auto started = Clock::now();
  live.server.signal(SIGTERM);
  const auto response = slow.read_response();
  BOOST_TEST(response.status == 502, response.body);
  BOOST_TEST(envelope_code(response) == 45101);
  BOOST_TEST(response.body.find("upstream client stopped") != std::string::npos, response.body);
  BOOST_TEST(live.server.wait_exit() == 0);
  BOOST_TEST(milliseconds_since(started) < 3000);
}

BOOST_AUTO_TEST_CASE(invalid_options_quarantine_with_actionable_errors) {
  struct Case {
    std::string options;  // the whole options object
    std::string expected;  // part of the error
  };
  const std::vector<Case> cases = {
      {R"({})", "url: expected"},
      {R"({"url": "ftp://h/x"})", "url: expected an http:// or https:// URL"},
      {R"({"url": "http://{id}/x"})", "url: expected a literal host"},
      {R"({"url": "http://h/{nope}"})", "url: {nope} is not a parameter"},
      {R"({"url": "http://h/", "method": "get"})", "method: expected one of"},
      {R"({"url": "http://h/", "timeout_ms": 0})", "timeout_ms: expected an integer 1-600000"},
      {R"({"url": "http://h/", "headers": {"Host": "x"}})", "headers.Host: set by the proxy"},
      {R"({"url": "http://h/", "pass_headers": "accept"})", "pass_headers: expected an array"},
      {R"({"url": "http://h/", "ca_file": "/no/such.pem"})", "ca_file: expected"},
      {R"({"url": "http://h/", "auth": {"type": "basic"}})", "auth.type: expected \"xfyun-hmac\""},
      {R"({"url": "http://h/", "auth": {"type": "xfyun-hmac", "api_key": "k"}})", "auth.api_secret"},
      {R"({"url": "http://h/", "retries": 3})", "retries: unknown option"},
  };
  for (const Case& c : cases) {
    it::TempDir dir;
    it::write_setup(dir, it::Env{}, {{"p.json", R"({"routes": [{"method": "GET", "path": "/p/{id}", )"
                                                 R"("kind": "proxy", "options": )" + c.options + "}]}"}});
    const auto result = it::run_binary({"--check", "--config", dir.file("aitools.env")});
    BOOST_TEST(result.exit_code == 1, c.options);
    BOOST_TEST(result.out.find(c.expected) != std::string::npos, c.options << " -> " << result.out);
  }
}

BOOST_AUTO_TEST_SUITE_END()
