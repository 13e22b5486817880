// GET /openapi.json and /docs on the real binary: the document follows manifest edits, a
// manifest route at the same path wins, DOCS_ENABLE switches both off live, and /docs serves
// Swagger UI's files from DOCS_UI_DIR (503 while they are missing, served once installed).
#include <string>

#include <boost/test/unit_test.hpp>

#include "harness.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto kPatience = 10s;

std::string static_route(const std::string& method, const std::string& path, const std::string& body) {
  return R"({"routes": [{"method": ")" + method + R"(", "path": ")" + path +
         R"(", "kind": "static", "options": {"body": ")" + body + R"("}}]})";
}

it::Env watched_env(const it::Env& extra = {}) {
  it::Env env = {{"HOT_RELOAD_ENABLE", "true"}, {"RELOAD_DEBOUNCE_MS", "20"},
                 {"RESCAN_INTERVAL_S", "0"}, {"LOG_LEVEL", "debug"}};
  for (const auto& [key, value] : extra) env[key] = value;
  return env;
}

// Fake swagger-ui-dist files in <dir>/<relative>.
void write_ui_files(const it::TempDir& dir, const std::string& relative) {
  dir.write(relative + "/swagger-ui.css", ".swagger-ui{}");
  dir.write(relative + "/swagger-ui-bundle.js", "window.SwaggerUIBundle = function () {};");
  dir.write(relative + "/swagger-ui-standalone-preset.js", "window.SwaggerUIStandalonePreset = {};");
  dir.write(relative + "/favicon-32x32.png", "\x89PNG\r\n");
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openapi)

BOOST_AUTO_TEST_CASE(the_document_follows_manifest_edits) {
  it::TempDir dir;
  it::ServerProcess server(dir, watched_env(), {{"a.json", static_route("GET", "/v1/a", "a")}});
  server.start();
  it::HttpClient client(server.port());

  auto response = client.get("/openapi.json");
  BOOST_REQUIRE_EQUAL(response.status, 200);
  BOOST_TEST(response.header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(response.header("Cache-Control").value_or("") == "no-cache");
  BOOST_TEST(response.header("X-Route-Generation").value_or("") == "1");
  auto document = it::parse_json(response.body);
  BOOST_TEST(it::json_string(document["openapi"]) == "3.0.3");
  BOOST_TEST(it::json_string(document["info"]["title"]) == "aitools");
  BOOST_TEST(document["paths"].HasMember("/v1/a"));
  BOOST_TEST(document["paths"]["/v1/a"].HasMember("get"));

  dir.write_atomic("services/b.json", static_route("POST", "/v1/b/{id}", "b"));
  BOOST_REQUIRE(it::wait_for_generation(server, 2, kPatience));
  response = client.get("/openapi.json");
  BOOST_TEST(response.header("X-Route-Generation").value_or("") == "2");
  document = it::parse_json(response.body);
  BOOST_TEST(document["x-generation"].GetUint64() == 2u);
  BOOST_REQUIRE(document["paths"].HasMember("/v1/b/{id}"));
  BOOST_TEST(it::json_string(document["paths"]["/v1/b/{id}"]["post"]["parameters"][0]["name"]) == "id");
  BOOST_TEST(document["paths"].HasMember("/v1/a"));

  // HEAD answers the headers only; other methods are refused.
  BOOST_TEST(client.request("HEAD", "/openapi.json").status == 200);
  response = client.request("POST", "/openapi.json");
  BOOST_TEST(response.status == 405);
  BOOST_TEST(response.header("Allow").value_or("") == "GET, HEAD");
}

// A table larger than OpenApiDocument::kInlineRoutes (2,000) is served first and described
// after: /openapi.json answers 503 with Retry-After until its document is built, then 200.
BOOST_AUTO_TEST_CASE(a_large_tables_document_follows_the_swap) {
  std::string routes;
  for (int i = 0; i < 2500; ++i)
    routes += std::string(i ? "," : "") + R"({"method": "GET", "path": "/r)" + std::to_string(i) +
              R"(/{id}", "kind": "static", "options": {"body": "r"}})";
  it::TempDir dir;
  it::ServerProcess server(dir, watched_env(), {{"a.json", static_route("GET", "/v1/a", "a")}});
  server.start();
  it::HttpClient client(server.port());
  dir.write_atomic("services/bulk.json", R"({"routes": [)" + routes + "]}");
  BOOST_REQUIRE(it::wait_for_generation(server, 2, kPatience));
  BOOST_TEST(client.get("/r2499/x").status == 200);  // served, whether or not described yet

  it::HttpResponse response;
  BOOST_REQUIRE(it::wait_until([&] {
    response = client.get("/openapi.json");
    if (response.status == 503) BOOST_TEST(response.header("Retry-After").value_or("") == "1");
    return response.status != 503;
  }, kPatience));
  BOOST_REQUIRE_EQUAL(response.status, 200);
  const auto document = it::parse_json(response.body);
  BOOST_TEST(document["x-generation"].GetUint64() == 2u);
  BOOST_TEST(document["paths"].HasMember("/r2499/{id}"));
  BOOST_TEST(document["paths"].HasMember("/v1/a"));
  BOOST_TEST(server.log().find("event=openapi_built generation=2 routes=2501") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_manifest_route_at_the_same_path_wins) {
  it::TempDir dir;
  it::ServerProcess server(dir, watched_env(),
                           {{"own.json", static_route("GET", "/openapi.json", "mine")},
                            {"all.json", static_route("GET", "/docs/{rest*}", "theirs")}});
  server.start();
  it::HttpClient client(server.port());
  BOOST_TEST(client.get("/openapi.json").body == "mine");
  BOOST_TEST(client.get("/docs/swagger-ui.css").body == "theirs");

  // Gone from the manifests: served by the server again.
  dir.remove("services/own.json");
  BOOST_REQUIRE(it::wait_for_generation(server, 2, kPatience));
  const auto response = client.get("/openapi.json");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(it::parse_json(response.body)["paths"].HasMember("/docs/{rest}"));
}

BOOST_AUTO_TEST_CASE(docs_enable_false_answers_404_and_applies_live) {
  it::TempDir dir;
  write_ui_files(dir, "ui");
  it::Env env = watched_env({{"DOCS_ENABLE", "false"}, {"DOCS_UI_DIR", "ui"}});
  it::ServerProcess server(dir, env, {{"a.json", static_route("GET", "/v1/a", "a")}});
  server.start();
  it::HttpClient client(server.port());
  BOOST_TEST(client.get("/openapi.json").status == 404);
  BOOST_TEST(client.get("/docs").status == 404);
  BOOST_TEST(client.get("/docs/swagger-ui.css").status == 404);

  env["DOCS_ENABLE"] = "true";
  env["OPENAPI_TITLE"] = "\"Tools of test\"";
  dir.write_atomic("aitools.env", it::env_text(env));
  BOOST_REQUIRE(it::wait_for_generation(server, 2, kPatience));
  const auto response = client.get("/openapi.json");
  BOOST_REQUIRE_EQUAL(response.status, 200);
  BOOST_TEST(it::json_string(it::parse_json(response.body)["info"]["title"]) == "Tools of test");
  BOOST_TEST(client.get("/docs").status == 200);
}

BOOST_AUTO_TEST_CASE(docs_serve_the_ui_files_with_their_content_types) {
  it::TempDir dir;
  write_ui_files(dir, "ui");
  // Relative to the env file's directory, like SERVICES_DIR.
  it::ServerProcess server(dir, watched_env({{"DOCS_UI_DIR", "ui"}}));
  server.start();
  it::HttpClient client(server.port());

  for (const char* page : {"/docs", "/docs/"}) {
    const auto response = client.get(page);
    BOOST_REQUIRE_EQUAL(response.status, 200);
    BOOST_TEST(response.header("Content-Type").value_or("") == "text/html; charset=utf-8");
    BOOST_TEST(response.header("Cache-Control").value_or("") == "no-cache");
    BOOST_TEST(response.body.find("/docs/swagger-ui-bundle.js") != std::string::npos);
    BOOST_TEST(response.body.find("url: \"/openapi.json\"") != std::string::npos);
  }
  const struct {
    const char* path;
    const char* type;
    const char* body;
  } assets[] = {
      {"/docs/swagger-ui.css", "text/css", ".swagger-ui{}"},
      {"/docs/swagger-ui-bundle.js", "application/javascript", "window.SwaggerUIBundle = function () {};"},
      {"/docs/swagger-ui-standalone-preset.js", "application/javascript",
       "window.SwaggerUIStandalonePreset = {};"},
      {"/docs/favicon-32x32.png", "image/png", "\x89PNG\r\n"},
  };
  for (const auto& asset : assets) {
    const auto response = client.get(asset.path);
    BOOST_REQUIRE_EQUAL(response.status, 200);
    BOOST_TEST(response.header("Content-Type").value_or("") == asset.type);
    BOOST_TEST(response.header("Cache-Control").value_or("") == "public, max-age=3600");
    BOOST_TEST(response.body == asset.body);
  }
  BOOST_TEST(client.get("/docs/index.css").status == 404);  // not one of the files we serve
}

BOOST_AUTO_TEST_CASE(missing_ui_files_answer_503_until_installed) {
  it::TempDir dir;
  it::ServerProcess server(dir, watched_env({{"DOCS_UI_DIR", dir.path() + "/ui"}}));
  server.start();
  it::HttpClient client(server.port());

  auto response = client.get("/docs");
  BOOST_TEST(response.status == 503);
  BOOST_TEST(response.body.find("DOCS_UI_DIR") != std::string::npos);
  BOOST_TEST(response.body.find("scripts/install-deps.sh") != std::string::npos);
  BOOST_TEST(client.get("/docs/swagger-ui.css").status == 503);
  BOOST_TEST(client.get("/openapi.json").status == 200);  // the document needs no files

  // Another pass while still missing: warned once, not again.
  BOOST_TEST(it::admin_post(server, "/admin/reload").status == 200);
  BOOST_TEST(count_of(server.log(), "event=docs_unavailable") == 1u);
  BOOST_TEST(server.log().find(dir.path() + "/ui/swagger-ui.css") != std::string::npos);

  // Installed: the next pass (here an explicit reload) serves them, no restart.
  write_ui_files(dir, "ui");
  BOOST_TEST(it::admin_post(server, "/admin/reload").status == 200);
  response = client.get("/docs");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.header("Content-Type").value_or("") == "text/html; charset=utf-8");
}

BOOST_AUTO_TEST_SUITE_END()
