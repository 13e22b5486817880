// The admin control plane against the real binary: history and rollback, validate with its
// diff, and status?wait_for. Every wait is on a generation, never a sleep.
#include <boost/test/unit_test.hpp>

#include "harness.hpp"
#include "http/validation_request.hpp"

namespace {

std::string greeter(const std::string& body) {
  return R"({"name": "greeter", "routes": [
    {"method": "GET", "path": "/hello/{name}", "kind": "static", "options": {"body": ")" +
         body + R"("}}]})";
}

std::string validate_body(const std::vector<std::pair<std::string, std::string>>& files) {
  return aitools::http::validation_request_json(files, {}, false);
}

std::string body_of(const it::ServerProcess& server, const std::string& path) {
  return it::http_get(server.port(), path).body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(control)

BOOST_AUTO_TEST_CASE(history_lists_generations_and_rollback_serves_an_old_one) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", greeter("one {name}")}});
  server.start();
  dir.write_atomic("services/greeter.json", greeter("two {name}"));
  BOOST_REQUIRE(it::wait_for_generation(server, 2));
  BOOST_TEST(body_of(server, "/hello/x") == "two x");

  auto history = it::admin_json(server, "/admin/history");
  BOOST_TEST(history["generation"].GetUint64() == 2u);
  BOOST_TEST(history["history_size"].GetUint64() == 20u);
  BOOST_TEST(history["rollback"].IsNull());
  BOOST_REQUIRE(history["entries"].Size() == 2u);
  const auto& newest = history["entries"][0];
  BOOST_TEST(newest["generation"].GetUint64() == 2u);
  BOOST_TEST(it::json_string(newest["trigger"]) == "file");
  BOOST_TEST(it::json_string(newest["updated"][0]) == "greeter");
  BOOST_TEST(it::json_string(newest["files"][0]) == "greeter.json");
  BOOST_TEST(newest["live"].GetBool());
  BOOST_TEST(!history["entries"][1]["live"].GetBool());

  auto answer = it::admin_post(server, "/admin/rollback?to=1");
  BOOST_REQUIRE(answer.status == 200);
  auto rolled = it::parse_json(answer.body);
  BOOST_TEST(rolled["rollback_to"].GetUint64() == 1u);
  BOOST_TEST(rolled["generation"].GetUint64() == 3u);
  BOOST_TEST(it::json_string(rolled["trigger"]) == "rollback");
  // Read-your-writes: the answer comes once the rolled-back state is served.
  BOOST_TEST(body_of(server, "/hello/x") == "one x");
  auto status = it::admin_json(server, "/admin/status");
  BOOST_REQUIRE(status["rollback"].IsObject());
  BOOST_TEST(status["rollback"]["to"].GetUint64() == 1u);
  BOOST_TEST(status["rollback"]["disk_differs"].GetBool());
  history = it::admin_json(server, "/admin/history");
  BOOST_TEST(history["entries"][0]["rollback_of"].GetUint64() == 1u);

  // Refusals say why.
  answer = it::admin_post(server, "/admin/rollback?to=99");
  BOOST_TEST(answer.status == 404);
  BOOST_TEST(answer.body.find("generation 99 is not in the history") != std::string::npos);
  BOOST_TEST(it::admin_post(server, "/admin/rollback?to=abc").status == 400);

  // The next change on disk ends the rollback.
  dir.write_atomic("services/greeter.json", greeter("three {name}"));
  BOOST_REQUIRE(it::wait_for_generation(server, 4));
  BOOST_TEST(body_of(server, "/hello/x") == "three x");
  BOOST_TEST(it::admin_json(server, "/admin/status")["rollback"].IsNull());
}

BOOST_AUTO_TEST_CASE(validate_reports_files_and_diff_without_applying) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", greeter("hi {name}")}});
  server.start();
  const std::string extra =
      R"({"routes": [{"method": "GET", "path": "/hello/world", "kind": "static"}]})";
  auto answer = it::admin_post(
      server, "/admin/validate",
      validate_body({{"greeter.json", greeter("changed {name}")}, {"extra.json", extra},
                     {"broken.json", R"({"routes": [)"}}));
  BOOST_REQUIRE(answer.status == 200);
  auto result = it::parse_json(answer.body);
  BOOST_TEST(!result["valid"].GetBool());
  BOOST_TEST(result["generation"].GetUint64() == 1u);
  BOOST_REQUIRE(result["files"].Size() == 3u);
  BOOST_TEST(it::json_string(result["files"][0]["file"]) == "broken.json");
  BOOST_TEST(!result["files"][0]["valid"].GetBool());
  BOOST_TEST(it::json_string(result["files"][0]["error"]).find("line 1") != std::string::npos);
  BOOST_TEST(result["files"][1]["valid"].GetBool());
  const auto& diff = result["diff"];
  BOOST_REQUIRE(diff["added"].Size() == 1u);
  BOOST_TEST(it::json_string(diff["added"][0]["path"]) == "/hello/world");
  BOOST_REQUIRE(diff["changed"].Size() == 1u);
  BOOST_TEST(it::json_string(diff["changed"][0]["path"]) == "/hello/{name}");
  BOOST_TEST(diff["removed"].Size() == 0u);
  BOOST_TEST(diff["overlaps"].Size() == 2u);

  // A conflict with a live route is reported, and nothing was applied.
  answer = it::admin_post(server, "/admin/validate",
                          validate_body({{"another.json", R"({"routes": [{"method": "GET",
                                          "path": "/hello/{who}", "kind": "echo"}]})"}}));
  result = it::parse_json(answer.body);
  BOOST_TEST(!result["valid"].GetBool());
  BOOST_REQUIRE(result["diff"]["conflicts"].Size() == 1u);
  BOOST_TEST(it::json_string(result["diff"]["conflicts"][0]["error"]).find("already served by greeter.json") !=
             std::string::npos);
  BOOST_TEST(it::status_generation(server) == 1u);
  BOOST_TEST(body_of(server, "/hello/x") == "hi x");

  // Paths on the server: a directory stands for the whole services directory.
  dir.mkdir("candidate");
  dir.write_atomic("candidate/other.json", R"({"routes": [{"method": "POST", "path": "/o", "kind": "echo"}]})");
  answer = it::admin_post(server, "/admin/validate",
                          R"({"paths": [")" + dir.file("candidate") + R"("], "replace": true})");
  result = it::parse_json(answer.body);
  BOOST_TEST(result["valid"].GetBool());
  BOOST_TEST(result["diff"]["removed"].Size() == 1u);
  BOOST_TEST(result["diff"]["added"].Size() == 1u);

  // Malformed requests are 400 with what was expected.
  answer = it::admin_post(server, "/admin/validate", "[1]");
  BOOST_TEST(answer.status == 400);
  BOOST_TEST(answer.body.find("expected a JSON object") != std::string::npos);
  answer = it::admin_post(server, "/admin/validate", R"({"files": [{"name": "../x.json", "content": ""}]})");
  BOOST_TEST(answer.status == 400);
  answer = it::admin_post(server, "/admin/validate", R"({"paths": ["/no/such/file.json"]})");
  BOOST_TEST(answer.status == 400);
  BOOST_TEST(answer.body.find("/no/such/file.json") != std::string::npos);
  // A device is not read: /dev/zero would never end.
  answer = it::admin_post(server, "/admin/validate", R"({"paths": ["/dev/zero"]})");
  BOOST_TEST(answer.status == 400);
  BOOST_TEST(answer.body.find("/dev/zero: not a regular file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_wait_for_answers_when_the_generation_is_served) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", greeter("one {name}")}});
  server.start();
  it::HttpClient waiting(server.admin_port(), std::chrono::seconds(10));
  waiting.send_request("GET", "/admin/status?wait_for=2&timeout_ms=8000");
  BOOST_REQUIRE(waiting.wait_server_read());
  dir.write_atomic("services/greeter.json", greeter("two {name}"));
  const auto answer = waiting.read_response();
  BOOST_TEST(answer.status == 200);
  BOOST_TEST(it::parse_json(answer.body)["generation"].GetUint64() >= 2u);
  // Answered only once the new generation is served.
  BOOST_TEST(body_of(server, "/hello/x") == "two x");

  // Already served: at once. Never served: 408 with the current status.
  BOOST_TEST(it::admin_get(server, "/admin/status?wait_for=1").status == 200);
  const auto late = it::admin_get(server, "/admin/status?wait_for=99&timeout_ms=50");
  BOOST_TEST(late.status == 408);
  const auto body = it::parse_json(late.body);
  BOOST_TEST(body["generation"].GetUint64() == 2u);
  BOOST_TEST(it::json_string(body["detail"]).find("generation 99 was not served within 50 ms") !=
             std::string::npos);
  BOOST_TEST(it::admin_get(server, "/admin/status?wait_for=x").status == 400);
  BOOST_TEST(it::admin_get(server, "/admin/status?wait_for=3&timeout_ms=9999999").status == 400);
}

BOOST_AUTO_TEST_SUITE_END()
