// The admin listener: status, routes and config documents, reload on request, the token,
// and HTTP errors.
#include <boost/test/unit_test.hpp>

#include <set>

#include "harness.hpp"

namespace {

constexpr const char* kGreeter = R"({
  "name": "greeter",
  "prefix": "/v1",
  "routes": [
    {"method": "GET", "path": "/hello/{name}", "kind": "static", "options": {"body": "hello {name}"}},
    {"method": ["POST", "PUT"], "path": "/echo", "kind": "echo"}
  ]
})";

}  // namespace

BOOST_AUTO_TEST_SUITE(admin)

BOOST_AUTO_TEST_CASE(status_after_startup) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", kGreeter}});
  server.start();
  const auto status = it::admin_json(server, "/admin/status");

  BOOST_TEST(status["generation"].GetUint64() == 1u);
  BOOST_REQUIRE(status["uptime_s"].IsNumber());
  BOOST_TEST(status["uptime_s"].GetDouble() >= 0.0);

  const auto& last = status["last_reload"];
  BOOST_REQUIRE(last.IsObject());
  BOOST_TEST(last["at"].IsString());
  BOOST_TEST(it::json_string(last["at"]).size() > 0u);
  BOOST_TEST(it::json_string(last["trigger"]) == "startup");
  BOOST_TEST(last["duration_ms"].IsNumber());
  BOOST_TEST(last["changed"].IsBool());

  BOOST_TEST(status["config_error"].IsNull());

  const auto& services = status["services"];
  BOOST_REQUIRE(services.IsObject());
  BOOST_TEST(services.MemberCount() == 1u);
  BOOST_REQUIRE(services.HasMember("greeter"));
  const auto& greeter = services["greeter"];
  BOOST_TEST(it::json_string(greeter["state"]) == "active");
  BOOST_TEST(it::json_string(greeter["file"]) == "greeter.json");
  BOOST_TEST(greeter["routes"].IsUint());
  BOOST_TEST(greeter["routes"].GetUint() >= 2u);  // two routes, three methods
  BOOST_TEST(greeter["error"].IsNull());
}

BOOST_AUTO_TEST_CASE(routes_lists_one_entry_per_method) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", kGreeter}});
  server.start();
  const auto routes = it::admin_json(server, "/admin/routes");
  BOOST_REQUIRE(routes.IsArray());

  std::set<std::string> listed;
  for (const auto& route : routes.GetArray()) {
    listed.insert(it::json_string(route["method"]) + " " + it::json_string(route["path"]));
    BOOST_TEST(it::json_string(route["service"]) == "greeter");
    BOOST_TEST(route["kind"].IsString());
  }
  // HEAD is implied by GET and not listed separately.
  const std::set<std::string> expected = {"GET /v1/hello/{name}", "POST /v1/echo", "PUT /v1/echo"};
  BOOST_TEST(listed == expected, "got " << routes.Size() << " entries");
  BOOST_TEST(routes.Size() == 3u);
}

BOOST_AUTO_TEST_CASE(config_shows_values_and_redacts_secrets) {
  it::TempDir dir;
  it::ServerProcess server(dir,
                           it::Env{{"API_KEY", "abc-key-value"},
                                   {"ADMIN_TOKEN", "tok-value"},
                                   {"DB_PASSWORD", "pw-value"},
                                   {"CLIENT_SECRET", "secret-value"},
                                   {"GREETING", "hello there"},
                                   {"LOG_LEVEL", "warn"}},
                           {{"greeter.json", kGreeter}});
  server.start();
  const auto response = it::admin_get(server, "/admin/config");
  BOOST_REQUIRE(response.status == 200);
  for (const char* secret : {"abc-key-value", "tok-value", "pw-value", "secret-value"})
    BOOST_TEST(response.body.find(secret) == std::string::npos, "leaks " << secret);

  const auto config = it::parse_json(response.body);
  BOOST_TEST(it::json_string(config["file"]) == dir.file("aitools.env"));
  const auto& values = config["values"];
  BOOST_REQUIRE(values.IsObject());
  for (const char* key : {"API_KEY", "ADMIN_TOKEN", "DB_PASSWORD", "CLIENT_SECRET"})
    BOOST_TEST(it::json_string(values[key]) == "***", key);
  BOOST_TEST(it::json_string(values["GREETING"]) == "hello there");
  BOOST_TEST(it::json_string(values["LOG_LEVEL"]) == "warn");
  // Values in force: the --port flag the harness passed, and defaults of keys not in the file.
  BOOST_TEST(it::json_string(values["SERVICE_PORT"]) == std::to_string(server.port()));
  BOOST_TEST(it::json_string(values["SHUTDOWN_GRACE_MS"]) == "10000");
}

BOOST_AUTO_TEST_CASE(reload_on_request_is_served_at_once) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"HOT_RELOAD_ENABLE", "false"}},
                           {{"greeter.json", kGreeter}});
  server.start();
  dir.write_atomic("services/extra.json", R"({
    "routes": [{"method": "GET", "path": "/extra", "kind": "static", "options": {"body": "extra"}}]
  })");
  // No watcher: the file is not served before the reload.
  BOOST_TEST(it::http_get(server.port(), "/extra").status == 404);

  const auto response = it::admin_post(server, "/admin/reload");
  BOOST_REQUIRE(response.status == 200);
  const auto report = it::parse_json(response.body);
  const uint64_t generation = report["generation"].GetUint64();
  BOOST_TEST(generation == 2u);
  BOOST_TEST(report["changed"].GetBool());
  BOOST_TEST(it::json_string(report["trigger"]) == "admin");
  BOOST_REQUIRE(report["added"].IsArray());
  BOOST_REQUIRE(report["added"].Size() == 1u);
  BOOST_TEST(it::json_string(report["added"][0]) == "extra");

  // Read-your-writes: the very next request is served by that generation.
  const auto served = it::http_get(server.port(), "/extra");
  BOOST_TEST(served.status == 200);
  BOOST_TEST(served.body == "extra");
  BOOST_TEST(served.header("X-Route-Generation").value_or("") == std::to_string(generation));
}

BOOST_AUTO_TEST_CASE(token_guards_admin_but_not_probes) {
  it::TempDir dir;
  const std::string token = "s3cret-token";
  it::ServerProcess server(dir, it::Env{{"ADMIN_TOKEN", token}}, {{"greeter.json", kGreeter}});
  server.start();
  const uint16_t port = server.admin_port();

  for (const char* path : {"/admin/status", "/admin/routes", "/admin/config"}) {
    BOOST_TEST_CONTEXT(path) {
      const auto anonymous = it::http_get(port, path);
      BOOST_TEST(anonymous.status == 401);
      BOOST_TEST(anonymous.has_header("WWW-Authenticate"));
      BOOST_TEST(it::http_get(port, path, it::bearer("wrong")).status == 401);
      BOOST_TEST(it::http_get(port, path, it::bearer(token + "x")).status == 401);
      BOOST_TEST(it::http_get(port, path, {{"Authorization", token}}).status == 401);  // no scheme
      BOOST_TEST(it::http_get(port, path, it::bearer(token)).status == 200);
    }
  }
  // A refused reload does not reload.
  BOOST_TEST(it::http_request(port, "POST", "/admin/reload").status == 401);
  BOOST_TEST(it::status_generation(server) == 1u);
  BOOST_TEST(it::http_request(port, "POST", "/admin/reload", it::bearer(token)).status == 200);

  // Probes carry no credentials.
  BOOST_TEST(it::http_get(port, "/healthz").status == 200);
  BOOST_TEST(it::http_get(port, "/readyz").status == 200);
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", kGreeter}});
  server.start();
  for (const char* path : {"/admin/nope", "/admin", "/admin/status/extra", "/nope"}) {
    const auto response = it::admin_get(server, path);
    BOOST_TEST(response.status == 404, path);
  }
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", kGreeter}});
  server.start();

  const auto post_status = it::admin_post(server, "/admin/status");
  BOOST_TEST(post_status.status == 405);
  BOOST_TEST(post_status.header("Allow").value_or("").find("GET") != std::string::npos);

  const auto get_reload = it::admin_get(server, "/admin/reload");
  BOOST_TEST(get_reload.status == 405);
  BOOST_TEST(get_reload.header("Allow").value_or("") == "POST");
  // Answering 405 did not reload.
  BOOST_TEST(it::status_generation(server) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
