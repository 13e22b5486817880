// http::build_openapi: the document of a route table (paths, operations, parameters, request
// bodies, 422 responses, valid JSON whatever the paths hold); http/api_docs: what /openapi.json
// and /docs answer and when a pass makes them anew.
#include "http/openapi.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/served_state.hpp"
#include "http/api_docs.hpp"

using namespace aitools;
using namespace aitools::http;

namespace {

RouteEntry route(std::string service, std::string_view path, std::initializer_list<Method> methods,
                 RouteDocPtr doc = nullptr) {
  PathPattern pattern;
  std::string error;
  BOOST_REQUIRE_MESSAGE(PathPattern::parse(path, pattern, error), error);
  MethodSet set;
  for (Method m : methods) set.add(m);
  return {std::move(service), "static", set, pattern, nullptr, std::move(doc)};
}

// Parses strictly: the text must be valid JSON and valid UTF-8.
rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
  BOOST_REQUIRE_MESSAGE(!document.HasParseError(),
                        "invalid JSON at " << document.GetErrorOffset() << ": "
                                           << rapidjson::GetParseError_En(document.GetParseError())
                                           << "\n" << text);
  return document;
}

rapidjson::Document openapi_of(std::vector<RouteEntry> routes, uint64_t generation = 1) {
  return parse(build_openapi(*RouteTable::build(std::move(routes)), generation, "aitools"));
}

std::string compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

std::set<std::string> member_names(const rapidjson::Value& object) {
  std::set<std::string> names;
  for (const auto& member : object.GetObject()) names.insert(member.name.GetString());
  return names;
}

const rapidjson::Value& path_item(const rapidjson::Document& document, const char* path) {
  BOOST_REQUIRE_MESSAGE(document["paths"].HasMember(path), "no path item " << path << " in "
                                                                           << compact(document["paths"]));
  return document["paths"][path];
}

// A directory under /tmp, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "openapi-test-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()));
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
  }
};

ServedState state_with(RouteTablePtr routes, config::Settings settings, uint64_t generation = 1) {
  auto config = std::make_shared<config::ConfigSnapshot>();
  config->settings = std::move(settings);
  ServedState state;
  state.generation = generation;
  state.routes = std::move(routes);
  state.config = std::move(config);
  return state;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openapi)

BOOST_AUTO_TEST_CASE(literal_param_and_wildcard_routes) {
  const auto document = openapi_of({route("greeter", "/v1/hello/{name}", {Method::GET}),
                                    route("files", "/files/{path*}", {Method::GET}),
                                    route("home", "/", {Method::GET}),
                                    route("health", "/v1/health", {Method::GET})},
                                   7);
  BOOST_TEST(document["openapi"].GetString() == "3.0.3");
  BOOST_TEST(document["info"]["title"].GetString() == "aitools");
  BOOST_TEST(document["info"]["version"].GetString() == "generation 7");
  BOOST_TEST(document["x-generation"].GetUint64() == 7u);
  BOOST_TEST(!document.HasMember("components"));  // no route validates requests
  BOOST_TEST((member_names(document["paths"]) ==
              std::set<std::string>{"/", "/files/{path}", "/v1/health", "/v1/hello/{name}"}));

  const auto& hello = path_item(document, "/v1/hello/{name}");
  BOOST_TEST((member_names(hello) == std::set<std::string>{"get"}));  // GET is not listed as HEAD
  const auto& get = hello["get"];
  BOOST_TEST(compact(get["tags"]) == R"(["greeter"])");
  BOOST_TEST(get["operationId"].GetString() == "greeter_get_v1_hello_name");
  BOOST_TEST(compact(get["parameters"]) ==
             R"([{"name":"name","in":"path","required":true,"schema":{"type":"string"}}])");
  BOOST_TEST(!get.HasMember("requestBody"));
  BOOST_TEST((member_names(get["responses"]) == std::set<std::string>{"200"}));

  const auto& rest = path_item(document, "/files/{path}")["get"]["parameters"][0];
  BOOST_TEST(rest["name"].GetString() == "path");
  BOOST_TEST(rest["in"].GetString() == "path");
  BOOST_TEST(rest.HasMember("description"));
  BOOST_TEST(path_item(document, "/")["get"]["parameters"].Empty());
  BOOST_TEST(path_item(document, "/")["get"]["operationId"].GetString() == "home_get_root");
}

BOOST_AUTO_TEST_CASE(every_declared_method_is_an_operation_with_a_unique_id) {
  const auto document = openapi_of({
      route("items", "/v1/items/{id}", {Method::GET, Method::DELETE, Method::HEAD}),
      route("writer", "/v1/items/{id}", {Method::PUT}),
      // Ids that would read the same.
      route("a-b", "/x-y", {Method::POST}),
      route("a_b", "/x_y", {Method::POST}),
      route("a_b", "/x_y", {Method::OPTIONS}),
  });
  const auto& item = path_item(document, "/v1/items/{id}");
  BOOST_TEST((member_names(item) == std::set<std::string>{"get", "head", "delete", "put"}));
  BOOST_TEST(item["put"]["tags"][0].GetString() == "writer");
  BOOST_TEST(item["delete"]["operationId"].GetString() == "items_delete_v1_items_id");

  std::set<std::string> ids;
  size_t operations = 0;
  for (const auto& path : document["paths"].GetObject()) {
    for (const auto& operation : path.value.GetObject()) {
      ++operations;
      ids.insert(operation.value["operationId"].GetString());
    }
  }
  BOOST_TEST(operations == 7u);
  BOOST_TEST(ids.size() == operations);
  BOOST_TEST(ids.count("a_b_post_x_y"));
  BOOST_TEST(ids.count("a_b_post_x_y_2"));
  BOOST_TEST(ids.count("a_b_options_x_y"));
}

BOOST_AUTO_TEST_CASE(request_schemas_make_parameters_a_body_and_a_422) {
  auto doc = std::make_shared<RouteDoc>();
  doc->summary = "Dial test";
  doc->description = "Checks the three parts of a request.";
  doc->tags = {"tools", "diagnostics"};
  doc->body_schema = R"({"type":"object","required":["test"],"properties":{"test":{"type":"string"}}})";
  doc->query_schema =
      R"({"type":"object","required":["test"],"properties":{"test":{"type":"string","description":"any text"},"limit":{"type":"integer","maximum":1.5e2}}})";
  doc->headers_schema = R"({"type":"object","required":["test"],"properties":{"test":{"type":"string"}}})";
  const auto document = openapi_of({route("tools", "/aitools/v1/dial_test", {Method::POST}, doc),
                                    route("plain", "/plain", {Method::GET})});

  const auto& post = path_item(document, "/aitools/v1/dial_test")["post"];
  BOOST_TEST(post["summary"].GetString() == "Dial test");
  BOOST_TEST(post["description"].GetString() == "Checks the three parts of a request.");
  BOOST_TEST(compact(post["tags"]) == R"(["tools","diagnostics"])");
  BOOST_TEST(compact(post["parameters"]) ==
             R"([{"name":"test","in":"query","required":true,"description":"any text","schema":{"type":"string","description":"any text"}},)"
             R"({"name":"limit","in":"query","required":false,"schema":{"type":"integer","maximum":150.0}},)"
             R"({"name":"test","in":"header","required":true,"schema":{"type":"string"}}])");
  BOOST_TEST(post["requestBody"]["required"].GetBool());
  BOOST_TEST(compact(post["requestBody"]["content"]["application/json"]["schema"]) == doc->body_schema);
  BOOST_TEST(compact(post["responses"]["422"]["content"]["application/json"]["schema"]) ==
             R"({"$ref":"#/components/schemas/HTTPValidationError"})");
  BOOST_TEST((member_names(document["components"]["schemas"]) ==
              std::set<std::string>{"HTTPValidationError", "ValidationError"}));
  BOOST_TEST(document["components"]["schemas"]["ValidationError"]["properties"].HasMember("loc"));

  // A route without schemas has no 422.
  BOOST_TEST(!path_item(document, "/plain")["get"]["responses"].HasMember("422"));
}

BOOST_AUTO_TEST_CASE(a_body_schema_alone_still_documents_only_the_body) {
  auto doc = std::make_shared<RouteDoc>();
  doc->body_schema = R"({"type":"array","items":{"type":"number"}})";
  const auto document = openapi_of({route("s", "/sum", {Method::POST}, doc)});
  const auto& post = path_item(document, "/sum")["post"];
  BOOST_TEST(post["parameters"].Empty());
  BOOST_TEST(compact(post["requestBody"]["content"]["application/json"]["schema"]) == doc->body_schema);
  BOOST_TEST(post["responses"].HasMember("422"));
  BOOST_TEST(!post.HasMember("summary"));
}

BOOST_AUTO_TEST_CASE(odd_paths_and_texts_still_make_valid_json) {
  auto doc = std::make_shared<RouteDoc>();
  doc->summary = "bad \xff byte, \"quoted\", \x01 control";
  doc->tags = {"caf\xc3", "ok \xe2\x9c\x93"};
  doc->body_schema = R"({"description":"\u00e9t\u00e9 \"x\""})";
  const auto document = openapi_of({
      route("odd", "/a\"b\\c/{id}", {Method::GET}, doc),
      route("odd", "/caf\xe9/x", {Method::GET}),
      route("odd", "/sp ace%/\xe2\x9c\x93", {Method::GET}),
  });
  BOOST_TEST((member_names(document["paths"]) ==
              std::set<std::string>{"/a\"b\\c/{id}", "/caf%E9/x", "/sp ace%/\xe2\x9c\x93"}));
  const auto& get = path_item(document, "/a\"b\\c/{id}")["get"];
  BOOST_TEST(get["summary"].GetString() == "bad \xef\xbf\xbd byte, \"quoted\", \x01 control");
  BOOST_TEST(compact(get["tags"]) == "[\"caf\xef\xbf\xbd\",\"ok \xe2\x9c\x93\"]");
  BOOST_TEST(get["requestBody"]["content"]["application/json"]["schema"]["description"].GetString() ==
             "\xc3\xa9t\xc3\xa9 \"x\"");
}

BOOST_AUTO_TEST_CASE(a_wildcard_whose_template_is_taken_keeps_its_own_text) {
  const auto document = openapi_of({route("a", "/f/{p}", {Method::GET}),
                                    route("b", "/f/{p*}", {Method::GET})});
  BOOST_TEST((member_names(document["paths"]) == std::set<std::string>{"/f/{p}", "/f/{p*}"}));
  BOOST_TEST(path_item(document, "/f/{p}")["get"]["tags"][0].GetString() == "a");
}

BOOST_AUTO_TEST_CASE(an_empty_table_is_a_document_without_paths) {
  const auto document = openapi_of({});
  BOOST_TEST(document["paths"].IsObject());
  BOOST_TEST(document["paths"].ObjectEmpty());
}

// ---- what a pass makes, and what /openapi.json and /docs answer ----

BOOST_AUTO_TEST_CASE(a_pass_makes_the_document_anew_only_when_routes_or_title_change) {
  const auto routes = RouteTable::build({route("greeter", "/v1/hello/{name}", {Method::GET})});
  config::Settings settings;
  settings.docs_ui_dir = "/nonexistent/swagger-ui";
  ServedState first = state_with(routes, settings, 1);
  describe_api(first, nullptr);
  BOOST_REQUIRE(first.openapi);
  BOOST_TEST(parse(*first.openapi->text())["x-generation"].GetUint64() == 1u);

  ServedState same = state_with(routes, settings, 2);  // a config-only change
  describe_api(same, &first);
  BOOST_TEST(same.openapi == first.openapi);

  settings.openapi_title = "My tools";
  ServedState retitled = state_with(routes, settings, 3);
  describe_api(retitled, &same);
  BOOST_TEST(retitled.openapi != same.openapi);
  BOOST_TEST(parse(*retitled.openapi->text())["info"]["title"].GetString() == "My tools");

  ServedState rerouted = state_with(RouteTable::build({route("greeter", "/v2/{x}", {Method::GET})}),
                                    settings, 4);
  describe_api(rerouted, &retitled);
  BOOST_TEST(path_item(parse(*rerouted.openapi->text()), "/v2/{x}").HasMember("get"));

  settings.docs_enable = false;
  ServedState disabled = state_with(routes, settings, 5);
  describe_api(disabled, &rerouted);
  BOOST_TEST(!disabled.openapi);
  BOOST_TEST(!disabled.docs);
  BOOST_TEST(!api_docs_response(disabled, Method::GET, "/openapi.json"));
  BOOST_TEST(!api_docs_response(disabled, Method::GET, "/docs"));
}

// A large table's document is not built within the pass: /openapi.json answers 503 until the
// one claimant (the registry's builder) has filled it; a later pass with the same table
// reuses it.
BOOST_AUTO_TEST_CASE(a_large_tables_document_is_left_to_be_built_after_the_pass) {
  std::vector<RouteEntry> entries;
  for (size_t i = 0; i <= OpenApiDocument::kInlineRoutes; ++i)
    entries.push_back(route("bulk", "/r" + std::to_string(i) + "/{id}", {Method::GET}));
  config::Settings settings;
  settings.docs_ui_dir = "/nonexistent/swagger-ui";
  ServedState state = state_with(RouteTable::build(std::move(entries)), settings, 7);
  describe_api(state, nullptr);
  BOOST_REQUIRE(state.openapi);
  BOOST_TEST(!state.openapi->text());
  const auto building = api_docs_response(state, Method::GET, "/openapi.json");
  BOOST_REQUIRE(building);
  BOOST_TEST(building->status == 503);
  BOOST_TEST(building->body.find("generation 7 is being built") != std::string::npos, building->body);
  BOOST_TEST((building->headers == HeaderList{{"Retry-After", "1"}}));

  BOOST_TEST(state.openapi->claim());
  BOOST_TEST(!state.openapi->claim());  // built once
  fill_openapi(state);
  const auto built = api_docs_response(state, Method::GET, "/openapi.json");
  BOOST_REQUIRE(built);
  BOOST_TEST(built->status == 200);
  const auto document = parse(built->body);
  BOOST_TEST(document["x-generation"].GetUint64() == 7u);
  BOOST_TEST(path_item(document, "/r2000/{id}").HasMember("get"));

  ServedState next = state_with(state.routes, settings, 8);  // a config-only change
  describe_api(next, &state);
  BOOST_TEST(next.openapi == state.openapi);
}

BOOST_AUTO_TEST_CASE(docs_serve_the_files_of_the_ui_directory) {
  TempDir ui;
  ui.write("swagger-ui.css", "body{}");
  ui.write("swagger-ui-bundle.js", "var SwaggerUIBundle;");
  ui.write("swagger-ui-standalone-preset.js", "var SwaggerUIStandalonePreset;");
  ui.write("favicon-32x32.png", "\x89PNG");
  config::Settings settings;
  settings.docs_ui_dir = ui.path.string();
  settings.openapi_title = "<My> tools";
  ServedState state = state_with(RouteTable::build({}), settings);
  BOOST_TEST(describe_api(state, nullptr));
  BOOST_REQUIRE(state.docs);
  BOOST_TEST(state.docs->error == "");

  for (const char* page : {"/docs", "/docs/", "/docs/index.html"}) {
    const auto response = api_docs_response(state, Method::GET, page);
    BOOST_REQUIRE(response);
    BOOST_TEST(response->status == 200);
    BOOST_TEST(response->content_type == "text/html; charset=utf-8");
    BOOST_TEST(response->body.find("SwaggerUIBundle({") != std::string::npos);
    BOOST_TEST(response->body.find("url: \"/openapi.json\"") != std::string::npos);
    BOOST_TEST(response->body.find("<title>&lt;My&gt; tools - Swagger UI</title>") != std::string::npos);
  }
  const std::pair<const char*, const char*> assets[] = {
      {"/docs/swagger-ui.css", "text/css"},
      {"/docs/swagger-ui-bundle.js", "application/javascript"},
      {"/docs/swagger-ui-standalone-preset.js", "application/javascript"},
      {"/docs/favicon-32x32.png", "image/png"}};
  for (const auto& [path, type] : assets) {
    const auto response = api_docs_response(state, Method::GET, path);
    BOOST_REQUIRE(response);
    BOOST_TEST(response->content_type == type);
    BOOST_TEST(!response->headers.empty());  // Cache-Control
  }
  BOOST_TEST(api_docs_response(state, Method::GET, "/docs/swagger-ui.css")->body == "body{}");
  BOOST_TEST(!api_docs_response(state, Method::GET, "/docs/index.js"));  // not one we serve
  BOOST_TEST(!api_docs_response(state, Method::GET, "/docsx"));
  BOOST_TEST(api_docs_response(state, Method::POST, "/docs")->status == 405);
  BOOST_TEST(api_docs_response(state, Method::HEAD, "/openapi.json")->content_type == "application/json");

  // The next pass with the same settings keeps the files.
  ServedState next = state_with(RouteTable::build({}), settings, 2);
  BOOST_TEST(!describe_api(next, &state));
  BOOST_TEST(next.docs == state.docs);
}

BOOST_AUTO_TEST_CASE(missing_ui_files_answer_503_until_they_are_installed) {
  TempDir ui;
  ui.write("swagger-ui.css", "body{}");
  config::Settings settings;
  settings.docs_ui_dir = ui.path.string();
  ServedState state = state_with(RouteTable::build({}), settings);
  describe_api(state, nullptr);
  BOOST_REQUIRE(state.docs);
  BOOST_TEST(state.docs->error.find("swagger-ui-bundle.js") != std::string::npos);
  BOOST_TEST(state.docs->error.find("scripts/install-deps.sh") != std::string::npos);
  const auto response = api_docs_response(state, Method::GET, "/docs");
  BOOST_REQUIRE(response);
  BOOST_TEST(response->status == 503);
  BOOST_TEST(response->body.find("DOCS_UI_DIR") != std::string::npos);
  BOOST_TEST(api_docs_response(state, Method::GET, "/openapi.json")->status == 200);

  // Still missing: the same error, nothing for the front to pick up.
  ServedState again = state_with(RouteTable::build({}), settings, 2);
  BOOST_TEST(!describe_api(again, &state));
  // Installed meanwhile: the next pass finds them, and says so.
  ui.write("swagger-ui-bundle.js", "x");
  ui.write("swagger-ui-standalone-preset.js", "y");
  ServedState installed = state_with(RouteTable::build({}), settings, 3);
  BOOST_TEST(describe_api(installed, &again));
  BOOST_TEST(api_docs_response(installed, Method::GET, "/docs")->status == 200);
  BOOST_TEST(!api_docs_response(installed, Method::GET, "/docs/favicon-32x32.png"));  // optional
}

BOOST_AUTO_TEST_CASE(the_default_ui_directories_are_beside_the_env_file) {
  config::ConfigSnapshot config;
  config.path = "/opt/aitools/share/aitools/aitools.env";
  BOOST_TEST((config::resolve_docs_ui_dirs(config) ==
              std::vector<std::string>{"/opt/aitools/share/aitools/swagger-ui",
                                       "/opt/aitools/share/web/node_modules/swagger-ui-dist"}));
  config.settings.docs_ui_dir = "ui";
  BOOST_TEST((config::resolve_docs_ui_dirs(config) ==
              std::vector<std::string>{"/opt/aitools/share/aitools/ui"}));
}

BOOST_AUTO_TEST_SUITE_END()
