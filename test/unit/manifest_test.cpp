#include "config/manifest.hpp"
#include "test/unit/call_handler.hpp"

#include <boost/test/unit_test.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

using namespace aitools;
using config::CompiledService;
using config::Manifest;

namespace {

Manifest parse(std::string_view text, std::string_view default_name = "svc") {
  Manifest manifest;
  std::string error;
  BOOST_REQUIRE_MESSAGE(config::parse_manifest(text, default_name, manifest, error), error);
  return manifest;
}

std::string parse_error(std::string_view text, std::string_view default_name = "svc") {
  Manifest manifest;
  std::string error;
  BOOST_REQUIRE_MESSAGE(!config::parse_manifest(text, default_name, manifest, error),
                        "accepted: " << text);
  return error;
}

// A manifest with one route whose body is `route` (the inside of the route object).
std::string one_route(const std::string& route) { return R"({"routes": [{)" + route + "}]}"; }

config::ConfigSnapshot make_config(std::map<std::string, std::string> values,
                                   std::map<std::string, std::string> environment = {}) {
  config::ConfigSnapshot snapshot;
  snapshot.values = std::move(values);
  snapshot.environment = [environment](const std::string& key) -> std::optional<std::string> {
    auto it = environment.find(key);
    if (it == environment.end()) return std::nullopt;
    return it->second;
  };
  return snapshot;
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

class NullHandler final : public services::RouteHandler {
 public:
  std::optional<http::Response> handle(const http::Request&, const http::Params&,
                                       http::Deferral&) const override {
    return http::Response{};
  }
};

// Records what it is given; options with a "fail" field fail the way real kinds do.
class RecordingKind final : public services::ServiceKind {
 public:
  std::string_view name() const override { return "recording"; }
  services::RouteHandlerPtr compile(const rapidjson::Value* options,
                                    const services::RouteInfo& route,
                                    std::string& error) const override {
    options_seen.push_back(options ? to_json(*options) : "none");
    routes_seen.push_back(route);
    if (options && options->HasMember("fail")) {
      error = "status: expected an integer 100-599";
      return nullptr;
    }
    return std::make_shared<NullHandler>();
  }
  mutable std::vector<std::string> options_seen;
  mutable std::vector<services::RouteInfo> routes_seen;
};

struct CompileFixture {
  std::shared_ptr<RecordingKind> kind = std::make_shared<RecordingKind>();
  services::Catalog catalog;
  CompiledService service;
  std::string error;

  CompileFixture() { catalog.add(kind); }

  bool compile(std::string_view text, const config::ConfigSnapshot& config) {
    return config::compile_manifest(parse(text), config, catalog, service, error);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(manifest)

BOOST_AUTO_TEST_CASE(syntax_errors_report_line_and_column) {
  BOOST_TEST(parse_error("{\n  \"routes\": [\n    {\"method\": \"GET\",}\n  ]\n}") ==
             "line 3, column 22: Missing a name for object member.");
  BOOST_TEST(parse_error("// comment\n{\"routes\": []}") == "line 1, column 1: Invalid value.");
  BOOST_TEST(parse_error("{\"routes\": []} {}") ==
             "line 1, column 16: The document root must not be followed by other values.");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_rejected_without_exhausting_the_stack) {
  // A million nested arrays: a recursive parser or serializer would overflow the stack.
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  BOOST_TEST(parse_error(R"({"routes": [], "name": )" + deep + "}").find("deeper than 64") !=
             std::string::npos);
  const std::string body_65 = std::string(65, '[') + std::string(65, ']');
  BOOST_TEST(parse_error(one_route(R"("method": "GET", "path": "/a", "kind": "static", )"
                                   R"("options": {"body": )" + body_65 + "}"))
                 .find("deeper than 64") != std::string::npos);
  const std::string body_60 = std::string(60, '[') + std::string(60, ']');
  parse(one_route(R"("method": "GET", "path": "/a", "kind": "static", "options": {"body": )" +
                  body_60 + "}"));
}

BOOST_AUTO_TEST_CASE(repeated_keys_are_rejected_with_their_path) {
  BOOST_TEST(parse_error(R"({"routes": [], "routes": []})") ==
             "field \"routes\" appears more than once");
  BOOST_TEST(parse_error(R"({"routes": [{"method": "GET", "path": "/a", "kind": "static",
                 "options": {"body": "a", "status": 200, "body": "b"}}]})") ==
             "routes[0].options: field \"body\" appears more than once");
  BOOST_TEST(parse_error(R"({"routes": [{"method": "GET", "path": "/a", "kind": "static",
                 "options": {"body": [{"x": 1}, {"y": 1, "y": 2}]}}]})") ==
             "routes[0].options.body[1]: field \"y\" appears more than once");
  // A large object is checked with a set, not pairwise.
  std::string wide = R"({"routes": [], "name": "w", "enabled": true, "prefix": "", "x": {)";
  for (int i = 0; i < 20000; ++i) wide += "\"k" + std::to_string(i) + "\": 0,";
  wide += R"("k7": 1}})";
  BOOST_TEST(parse_error(wide) == "x: field \"k7\" appears more than once");
}

BOOST_AUTO_TEST_CASE(empty_file_is_rejected) {
  BOOST_TEST(parse_error("") ==
             "the file is empty; expected a JSON object with a \"routes\" array");
  BOOST_TEST(parse_error(" \n\t\n") == parse_error(""));
}

BOOST_AUTO_TEST_CASE(top_level_must_be_an_object) {
  BOOST_TEST(parse_error("[1]") == "expected a JSON object with a \"routes\" array, got an array");
  BOOST_TEST(parse_error("\"x\"") == "expected a JSON object with a \"routes\" array, got \"x\"");
}

BOOST_AUTO_TEST_CASE(unknown_top_level_field) {
  BOOST_TEST(parse_error(R"({"routes": [], "foo": 1})") ==
             "unknown field \"foo\"; expected one of name, enabled, prefix, routes");
  BOOST_TEST(parse_error(R"({"routes": [], "name": "a", "name": "b"})") ==
             "field \"name\" appears more than once");
}

BOOST_AUTO_TEST_CASE(bad_name) {
  BOOST_TEST(parse_error(R"({"name": "a b", "routes": []})") ==
             "name: expected a non-empty name of letters, digits, '_', '.' and '-', got \"a b\"");
  BOOST_TEST(parse_error(R"({"name": "", "routes": []})").find("name: expected") == 0u);
  BOOST_TEST(parse_error(R"({"name": 3, "routes": []})").find(", got 3") != std::string::npos);
  // Without a "name" field the file name must be usable as one.
  BOOST_TEST(parse_error(R"({"routes": []})", "my service").find("name: missing") == 0u);
}

BOOST_AUTO_TEST_CASE(bad_enabled_type) {
  BOOST_TEST(parse_error(R"({"enabled": "yes", "routes": []})") ==
             "enabled: expected true or false, got \"yes\"");
}

BOOST_AUTO_TEST_CASE(bad_prefix) {
  const std::string expected =
      "prefix: expected \"\" or a path starting with '/' and not ending with '/', got ";
  BOOST_TEST(parse_error(R"({"prefix": "v1", "routes": []})") == expected + "\"v1\"");
  BOOST_TEST(parse_error(R"({"prefix": "/v1/", "routes": []})") == expected + "\"/v1/\"");
  BOOST_TEST(parse_error(R"({"prefix": "/", "routes": []})") == expected + "\"/\"");
  BOOST_TEST(parse_error(R"({"prefix": 1, "routes": []})") == expected + "1");
}

BOOST_AUTO_TEST_CASE(routes_missing_or_not_an_array) {
  BOOST_TEST(parse_error("{}") == "routes: missing; expected an array of routes");
  BOOST_TEST(parse_error(R"({"routes": {}})") ==
             "routes: expected an array of routes, got an object");
}

BOOST_AUTO_TEST_CASE(route_must_be_an_object) {
  BOOST_TEST(parse_error(R"({"routes": [{"method": "GET", "path": "/", "kind": "k"}, 7]})") ==
             "routes[1]: expected a route object, got 7");
}

BOOST_AUTO_TEST_CASE(unknown_route_field) {
  BOOST_TEST(parse_error(one_route(R"("method": "GET", "path": "/", "kind": "k", "handler": 1)")) ==
             "routes[0]: unknown field \"handler\"; expected one of method, path, kind, options, "
             "request, summary, description, tags");
}

BOOST_AUTO_TEST_CASE(bad_method_type) {
  BOOST_TEST(parse_error(one_route(R"("method": 7, "path": "/", "kind": "k")")) ==
             "routes[0].method: expected a method name or a non-empty array of them, got 7");
  BOOST_TEST(parse_error(one_route(R"("method": ["GET", null], "path": "/", "kind": "k")")) ==
             "routes[0].method[1]: expected a method name, got null");
  BOOST_TEST(parse_error(one_route(R"("path": "/", "kind": "k")")) ==
             "routes[0].method: missing; expected a method name or an array of them");
}

BOOST_AUTO_TEST_CASE(unknown_method_name) {
  BOOST_TEST(parse_error(one_route(R"("method": "get", "path": "/", "kind": "k")")) ==
             "routes[0].method: unknown method \"get\"; expected one of GET, HEAD, POST, PUT, "
             "DELETE, PATCH, OPTIONS");
  BOOST_TEST(parse_error(one_route(R"("method": ["GET", "FETCH"], "path": "/", "kind": "k")"))
                 .find("routes[0].method[1]: unknown method \"FETCH\"") == 0u);
}

BOOST_AUTO_TEST_CASE(duplicate_method_in_array) {
  BOOST_TEST(
      parse_error(one_route(R"("method": ["GET", "PUT", "GET"], "path": "/", "kind": "k")")) ==
      "routes[0].method[2]: duplicate method \"GET\"");
}

BOOST_AUTO_TEST_CASE(empty_method_array) {
  BOOST_TEST(parse_error(one_route(R"("method": [], "path": "/", "kind": "k")")) ==
             "routes[0].method: expected a method name or a non-empty array of them, got an array");
}

BOOST_AUTO_TEST_CASE(bad_path) {
  BOOST_TEST(parse_error(one_route(R"("method": "GET", "path": "/a/{id", "kind": "k")"))
                 .find("routes[0].path: ") == 0u);
  BOOST_TEST(parse_error(one_route(R"("method": "GET", "kind": "k")")) ==
             "routes[0].path: missing; expected a path starting with '/'");
  // Checked before prefixing, where "/v1" + "a" would read as "/v1a".
  BOOST_TEST(parse_error(
                 R"({"prefix": "/v1", "routes": [{"method": "GET", "path": "a", "kind": "k"}]})") ==
             "routes[0].path: expected a path starting with '/', got \"a\"");
  // With a prefix the message shows the full pattern that failed.
  BOOST_TEST(
      parse_error(
          R"({"prefix": "/v1", "routes": [{"method": "GET", "path": "/a//b", "kind": "k"}]})")
          .find("routes[0].path: \"/v1/a//b\": ") == 0u);
}

BOOST_AUTO_TEST_CASE(missing_kind) {
  BOOST_TEST(parse_error(one_route(R"("method": "GET", "path": "/")")) ==
             "routes[0].kind: missing; expected the name of a service kind");
  BOOST_TEST(parse_error(one_route(R"("method": "GET", "path": "/", "kind": "")")) ==
             "routes[0].kind: expected the name of a service kind, got \"\"");
}

BOOST_AUTO_TEST_CASE(options_must_be_an_object) {
  BOOST_TEST(
      parse_error(one_route(R"("method": "GET", "path": "/", "kind": "k", "options": [1])")) ==
      "routes[0].options: expected an object, got an array");
}

BOOST_AUTO_TEST_CASE(conflicting_routes_in_one_file) {
  BOOST_TEST(parse_error(R"({"prefix": "/v1", "routes": [
      {"method": "GET", "path": "/a/{x}", "kind": "k"},
      {"method": "POST", "path": "/b", "kind": "k"},
      {"method": ["PUT", "GET"], "path": "/a/{y}", "kind": "k"}]})") ==
             "routes[2]: GET /v1/a/{} is already declared by routes[0]");
  // Other methods on the same shape, or the same method on another shape, are fine.
  Manifest manifest = parse(R"({"routes": [
      {"method": "GET", "path": "/a/{x}", "kind": "k"},
      {"method": "POST", "path": "/a/{y}", "kind": "k"},
      {"method": "GET", "path": "/a/b", "kind": "k"}]})");
  BOOST_TEST(manifest.routes.size() == 3u);
}

// Found by fuzzing: every route was compared with every earlier one, so a large manifest
// took minutes to validate.
BOOST_AUTO_TEST_CASE(conflict_check_scales_to_many_routes, *boost::unit_test::timeout(30)) {
  std::string text = R"({"routes": [)";
  for (int i = 0; i < 100000; ++i)
    text += R"({"method": "GET", "path": "/r)" + std::to_string(i) + R"(", "kind": "k"},)";
  text += R"({"method": ["POST", "GET"], "path": "/r7", "kind": "k"}]})";
  BOOST_TEST(parse_error(text) == "routes[100000]: GET /r7 is already declared by routes[7]");
  // Of several earlier routes on the shape, the first one that overlaps is named.
  BOOST_TEST(parse_error(R"({"routes": [
      {"method": "POST", "path": "/a/{x}", "kind": "k"},
      {"method": "GET", "path": "/a/{y}", "kind": "k"},
      {"method": ["GET", "POST"], "path": "/a/{z}", "kind": "k"}]})") ==
             "routes[2]: POST /a/{} is already declared by routes[0]");
}

BOOST_AUTO_TEST_CASE(defaults) {
  Manifest manifest =
      parse(one_route(R"("method": "GET", "path": "/hello/{name}", "kind": "k")"), "greeter");
  BOOST_TEST(manifest.name == "greeter");
  BOOST_TEST(manifest.enabled);
  BOOST_TEST(manifest.prefix == "");
  BOOST_REQUIRE(manifest.routes.size() == 1u);
  const config::RouteSpec& route = manifest.routes[0];
  BOOST_TEST(route.methods.to_string() == "GET");
  BOOST_TEST(route.pattern.text() == "/hello/{name}");
  BOOST_TEST(route.kind == "k");
  BOOST_TEST(route.options == nullptr);
  BOOST_TEST(parse(R"({"routes": []})").routes.empty());
}

BOOST_AUTO_TEST_CASE(fields_are_read) {
  Manifest manifest = parse(R"({"name": "other-name.v2", "enabled": false, "prefix": "/v1",
      "routes": [{"method": ["POST", "PUT"], "path": "/echo", "kind": "echo",
                  "options": {"a": 1}}]})");
  BOOST_TEST(manifest.name == "other-name.v2");
  BOOST_TEST(!manifest.enabled);
  BOOST_REQUIRE(manifest.routes.size() == 1u);
  BOOST_TEST(manifest.routes[0].methods.to_string() == "POST, PUT");
  // The options live in the document the manifest keeps.
  BOOST_REQUIRE(manifest.routes[0].options != nullptr);
  BOOST_TEST(manifest.document != nullptr);
  BOOST_TEST(to_json(*manifest.routes[0].options) == R"({"a":1})");
}

BOOST_AUTO_TEST_CASE(request_and_doc_fields_are_read) {
  Manifest manifest = parse(one_route(R"("method": "POST", "path": "/t", "kind": "k",
      "request": {"body": {"type": "object", "title": "${NOT_RENDERED}"}, "query": {}},
      "summary": "Try it", "description": "Longer text", "tags": ["tools", "test"])"));
  const config::RouteSpec& route = manifest.routes[0];
  BOOST_REQUIRE(route.request != nullptr);
  BOOST_TEST(to_json(*route.request) ==
             R"({"body":{"type":"object","title":"${NOT_RENDERED}"},"query":{}})");
  BOOST_TEST(route.summary == "Try it");
  BOOST_TEST(route.description == "Longer text");
  BOOST_TEST(route.tags == (std::vector<std::string>{"tools", "test"}));
  const Manifest undocumented = parse(one_route(R"("method": "GET", "path": "/", "kind": "k")"));
  const config::RouteSpec& plain = undocumented.routes[0];
  BOOST_TEST(plain.request == nullptr);
  BOOST_TEST(plain.summary.empty());
  BOOST_TEST(plain.tags.empty());
}

BOOST_AUTO_TEST_CASE(bad_request_and_doc_fields) {
  const std::string route = R"("method": "GET", "path": "/", "kind": "k", )";
  BOOST_TEST(parse_error(one_route(route + R"("request": [])")) ==
             "routes[0].request: expected an object of JSON Schemas, got an array");
  BOOST_TEST(parse_error(one_route(route + R"("request": {"cookies": {}})")) ==
             "routes[0].request: unknown field \"cookies\"; expected one of query, headers, body");
  BOOST_TEST(parse_error(one_route(route + R"("request": {"body": "string"})")) ==
             "routes[0].request.body: expected a JSON Schema object, got \"string\"");
  BOOST_TEST(parse_error(one_route(route + R"("summary": 1)")) ==
             "routes[0].summary: expected a string, got 1");
  BOOST_TEST(parse_error(one_route(route + R"("description": null)")) ==
             "routes[0].description: expected a string, got null");
  BOOST_TEST(parse_error(one_route(route + R"("tags": "a")")) ==
             "routes[0].tags: expected an array of strings, got \"a\"");
  BOOST_TEST(parse_error(one_route(route + R"("tags": ["a", 2])")) ==
             "routes[0].tags[1]: expected a string, got 2");
}

BOOST_AUTO_TEST_CASE(prefix_joining) {
  Manifest manifest = parse(R"({"prefix": "/v1", "routes": [
      {"method": "GET", "path": "/", "kind": "k"},
      {"method": "GET", "path": "/hello/{name}", "kind": "k"}]})");
  BOOST_TEST(manifest.routes[0].pattern.text() == "/v1");
  BOOST_TEST(manifest.routes[1].pattern.text() == "/v1/hello/{name}");
  BOOST_TEST(
      parse(one_route(R"("method": "GET", "path": "/", "kind": "k")")).routes[0].pattern.text() ==
      "/");
}

BOOST_FIXTURE_TEST_CASE(compile_unknown_kind, CompileFixture) {
  BOOST_TEST(
      !compile(one_route(R"("method": "GET", "path": "/", "kind": "foo")"), make_config({})));
  BOOST_TEST(error == "routes[0].kind: unknown kind \"foo\"; known kinds: recording");
}

BOOST_FIXTURE_TEST_CASE(compile_missing_variable, CompileFixture) {
  BOOST_TEST(!compile(one_route(R"("method": "GET", "path": "/", "kind": "recording",
      "options": {"body": {"msg": "hi", "from": "${GREETING}"}})"),
                      make_config({})));
  BOOST_TEST(
      error ==
      "routes[0].options.body.from: ${GREETING} is not set in the config file or the environment");
  BOOST_TEST(kind->options_seen.empty());
}

BOOST_FIXTURE_TEST_CASE(compile_renders_variables_from_file_and_environment, CompileFixture) {
  BOOST_TEST(
      compile(R"({"prefix": "/v1", "routes": [{"method": "GET", "path": "/hello/{name}/{rest*}",
      "kind": "recording", "options": {"from": "${GREETING} from ${HOST}", "${KEY}": ["${HOST}", 1],
      "literal": "${ not a var} $HOST ${1X}"}}]})",
              make_config({{"GREETING", "hello"}, {"HOST", "file-host"}}, {{"HOST", "env-host"}})));
  BOOST_REQUIRE(kind->options_seen.size() == 1u);
  // Object keys are left as written; the environment wins over the file.
  BOOST_TEST(kind->options_seen[0] == R"({"from":"hello from env-host","${KEY}":["env-host",1],)"
                                      R"("literal":"${ not a var} $HOST ${1X}"})");
  BOOST_TEST(kind->routes_seen[0].path == "/v1/hello/{name}/{rest*}");
  BOOST_TEST(kind->routes_seen[0].param_names == (std::vector<std::string>{"name", "rest"}));
  const std::map<std::string, std::optional<std::string>> used = {{"GREETING", "hello"},
                                                                  {"HOST", "env-host"}};
  BOOST_TEST((service.used_vars == used));
  BOOST_REQUIRE(service.routes.size() == 1u);
  BOOST_TEST(service.routes[0].handler != nullptr);
  BOOST_TEST(service.routes[0].kind == "recording");
  BOOST_TEST(service.routes[0].pattern.text() == "/v1/hello/{name}/{rest*}");
}

BOOST_FIXTURE_TEST_CASE(compile_passes_null_without_options, CompileFixture) {
  BOOST_TEST(
      compile(one_route(R"("method": "GET", "path": "/", "kind": "recording")"), make_config({})));
  BOOST_TEST(kind->options_seen == (std::vector<std::string>{"none"}));
  BOOST_TEST(service.used_vars.empty());
}

BOOST_FIXTURE_TEST_CASE(disabled_manifest_compiles_to_no_routes, CompileFixture) {
  // Neither the unknown kind nor the missing variable matters while disabled.
  BOOST_TEST(compile(R"({"name": "off", "enabled": false, "routes": [{"method": "GET", "path": "/",
      "kind": "nope", "options": {"a": "${MISSING}"}}]})",
                     make_config({})));
  BOOST_TEST(service.name == "off");
  BOOST_TEST(!service.enabled);
  BOOST_TEST(service.routes.empty());
}

BOOST_FIXTURE_TEST_CASE(kind_errors_are_prefixed_with_the_route_path, CompileFixture) {
  BOOST_TEST(!compile(R"({"routes": [{"method": "GET", "path": "/a", "kind": "recording"},
      {"method": "GET", "path": "/b", "kind": "recording", "options": {"fail": true}}]})",
                      make_config({})));
  BOOST_TEST(error == "routes[1].options.status: expected an integer 100-599");
}

BOOST_FIXTURE_TEST_CASE(invalid_request_schema_is_a_compile_error, CompileFixture) {
  BOOST_TEST(!compile(one_route(R"("method": "POST", "path": "/", "kind": "recording",
      "request": {"body": {"type": "strin"}})"),
                      make_config({})));
  BOOST_TEST(error == "routes[0].request.body: invalid JSON Schema: anyOf at #/type");
  BOOST_TEST(!compile(one_route(R"("method": "POST", "path": "/", "kind": "recording",
      "request": {"query": {"type": "string"}})"),
                      make_config({})));
  BOOST_TEST(error == "routes[0].request.query: expected an object schema (\"type\": \"object\" "
                      "with \"properties\"): query parameters are named values");
  BOOST_TEST(!compile(one_route(R"("method": "POST", "path": "/", "kind": "recording",
      "request": {"headers": {"properties": {"a": {"$ref": "http://x/y.json"}}}})"),
                      make_config({})));
  BOOST_TEST(error == "routes[0].request.headers: remote $ref \"http://x/y.json\" at "
                      "#/properties/a is not supported; expected a local reference \"#/...\"");
}

BOOST_FIXTURE_TEST_CASE(route_doc_and_fingerprint, CompileFixture) {
  const auto route = [](const std::string& extra) {
    return one_route(R"("method": "POST", "path": "/", "kind": "recording")" + extra);
  };
  BOOST_REQUIRE(compile(route(""), make_config({})));
  BOOST_TEST(service.routes[0].doc == nullptr);
  const uint64_t plain = service.routes[0].fingerprint;

  BOOST_REQUIRE_MESSAGE(compile(route(R"(, "summary": "S", "description": "D", "tags": ["t"],
      "request": {"query": {"properties": {"q": {"type": "integer"}}},
                  "body": {"type": "object", "required": ["a"]}})"),
                                make_config({})),
                        error);
  const http::RouteDocPtr doc = service.routes[0].doc;
  BOOST_REQUIRE(doc != nullptr);
  BOOST_TEST(doc->summary == "S");
  BOOST_TEST(doc->description == "D");
  BOOST_TEST(doc->tags == (std::vector<std::string>{"t"}));
  BOOST_TEST(doc->query_schema == R"({"properties":{"q":{"type":"integer"}}})");
  BOOST_TEST(doc->headers_schema.empty());
  BOOST_TEST(doc->body_schema == R"({"type":"object","required":["a"]})");
  const uint64_t documented = service.routes[0].fingerprint;
  BOOST_TEST(documented != plain);

  // A schema edit alone changes the route.
  BOOST_REQUIRE(compile(route(R"(, "summary": "S", "description": "D", "tags": ["t"],
      "request": {"query": {"properties": {"q": {"type": "integer"}}},
                  "body": {"type": "object", "required": ["b"]}})"),
                        make_config({})));
  BOOST_TEST(service.routes[0].fingerprint != documented);
  BOOST_REQUIRE(compile(route(R"(, "tags": ["other"])"), make_config({})));
  BOOST_TEST(service.routes[0].doc->tags == (std::vector<std::string>{"other"}));
  BOOST_TEST(service.routes[0].fingerprint != plain);
}

BOOST_AUTO_TEST_CASE(kind_request_contract_fills_the_parts_a_route_does_not_give) {
  struct NoRequest final : http::Request {
    std::string_view method() const override { return "POST"; }
    std::string_view path() const override { return "/d"; }
    http::HeaderList query() const override { return {}; }
    http::HeaderList headers() const override { return {{"test", "h"}}; }
    std::optional<std::string> header(std::string_view) const override { return "h"; }
    std::string_view body() const override { return R"({"test": "b"})"; }
  } request;
  CompiledService service;
  std::string error;
  // dial_test's own contract requires query `test`; this route replaces only the query part.
  BOOST_REQUIRE_MESSAGE(config::compile_manifest(parse(R"({"routes": [
      {"method": "POST", "path": "/d", "kind": "dial_test"},
      {"method": "POST", "path": "/e", "kind": "dial_test",
       "request": {"query": {"type": "object"}}}]})"),
                                                 make_config({}), services::Catalog::builtin(),
                                                 service, error),
                        error);
  BOOST_REQUIRE(service.routes.size() == 2u);
  const http::Response strict = aitools::test::call(*service.routes[0].handler, request);
  BOOST_TEST(strict.status == 422);
  BOOST_TEST(strict.body == R"({"detail":[{"type":"missing","loc":["query","test"],)"
                            R"("msg":"Field required","input":null}]})");
  const http::Response relaxed = aitools::test::call(*service.routes[1].handler, request);
  BOOST_TEST(relaxed.status == 200);
  BOOST_TEST(relaxed.body == R"(["message","Dial test service"])");
  BOOST_REQUIRE(service.routes[1].doc != nullptr);
  BOOST_TEST(service.routes[1].doc->query_schema == R"({"type":"object"})");
  BOOST_TEST(service.routes[1].doc->body_schema ==
             R"({"type":"object","properties":{"test":{"type":"string"}},"required":["test"]})");

  BOOST_TEST(!config::compile_manifest(parse(one_route(R"("method": "POST", "path": "/",
      "kind": "dial_test", "options": {"x": 1})")),
                                       make_config({}), services::Catalog::builtin(), service,
                                       error));
  BOOST_TEST(error == "routes[0].options.x: unknown option; expected no options");
}

BOOST_AUTO_TEST_CASE(compile_with_builtin_kinds) {
  CompiledService service;
  std::string error;
  BOOST_REQUIRE_MESSAGE(config::compile_manifest(parse(R"({"prefix": "/v1", "routes": [
      {"method": "GET", "path": "/hello/{name}", "kind": "static",
       "options": {"status": 200, "body": {"msg": "hello {name}", "from": "${GREETING}"}}},
      {"method": ["POST", "PUT"], "path": "/echo", "kind": "echo"}]})"),
                                                 make_config({{"GREETING", "hi"}}),
                                                 services::Catalog::builtin(), service, error),
                        error);
  BOOST_REQUIRE(service.routes.size() == 2u);
  // The manifest and its rendered options are gone; the handler kept what it needs.
  struct NoRequest final : http::Request {
    std::string_view method() const override { return "GET"; }
    std::string_view path() const override { return "/v1/hello/Ann"; }
    http::HeaderList query() const override { return {}; }
    http::HeaderList headers() const override { return {}; }
    std::optional<std::string> header(std::string_view) const override { return std::nullopt; }
    std::string_view body() const override { return {}; }
  } request;
  http::Response response = aitools::test::call(*service.routes[0].handler, request, {{"name", "Ann"}});
  BOOST_TEST(response.body == R"({"msg":"hello Ann","from":"hi"})");
}

BOOST_AUTO_TEST_CASE(render_vars_cases) {
  config::ConfigSnapshot snapshot = make_config({{"A", "1"}, {"b.c_2", "x"}});
  std::map<std::string, std::optional<std::string>> used;
  std::string out;
  std::string missing;
  BOOST_TEST(config::render_vars("${A}${b.c_2}-${A}", snapshot, out, used, missing));
  BOOST_TEST(out == "1x-1");
  BOOST_TEST(used.size() == 2u);
  // Left as they are: no closing brace, invalid names, no braces.
  BOOST_TEST(config::render_vars("${A ${1} ${} $A ${-} ${${A}} ${A", snapshot, out, used, missing));
  BOOST_TEST(out == "${A ${1} ${} $A ${-} ${1} ${A");
  BOOST_TEST(!config::render_vars("x ${NOPE} ${A}", snapshot, out, used, missing));
  BOOST_TEST(missing == "NOPE");
  BOOST_TEST((used.at("NOPE") == std::nullopt));
}

BOOST_AUTO_TEST_CASE(ignored_manifest_names) {
  for (const char* name : {".hidden.json", "a.json~", "a.json.tmp", "a.tmp", ".a.json.swp", "a.swp",
                           "a.txt", "a.JSON", "json", ".json", ""})
    BOOST_TEST(config::is_ignored_manifest_name(name), name);
  for (const char* name : {"a.json", "greeter.v2.json", "x-y_z.json"})
    BOOST_TEST(!config::is_ignored_manifest_name(name), name);
}

BOOST_AUTO_TEST_SUITE_END()
