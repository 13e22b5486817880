#include "services/request_schema.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <thread>
#include <vector>

#include "config/manifest.hpp"
#include "test/unit/call_handler.hpp"

// The suite's name hides aitools::services inside it, hence the using-declarations.
namespace http = aitools::http;
namespace config = aitools::config;
using aitools::services::compile_request_schema;
using aitools::services::RequestPart;
using aitools::services::RequestSchemas;
using aitools::services::RouteHandler;
using aitools::services::RouteHandlerPtr;

namespace {

using aitools::test::FakeRequest;

class InnerHandler final : public RouteHandler {
 public:
  std::optional<http::Response> handle(const http::Request&, const http::Params&,
                                       http::Deferral&) const override {
    return http::Response{200, "text/plain", {}, "inner", {}};
  }
};

rapidjson::Document parse(const char* text) {
  rapidjson::Document document;
  BOOST_REQUIRE_MESSAGE(!document.Parse(text).HasParseError(), text);
  return document;
}

std::string compile_error(RequestPart part, const char* schema) {
  std::string error;
  BOOST_TEST(compile_request_schema(part, parse(schema), error) == nullptr, schema);
  return error;
}

aitools::services::RequestSchemaPtr compile_ok(RequestPart part, const char* schema) {
  if (!schema) return nullptr;
  std::string error;
  auto compiled = compile_request_schema(part, parse(schema), error);
  BOOST_REQUIRE_MESSAGE(compiled != nullptr, error);
  return compiled;
}

// InnerHandler behind the given schemas (null: none for that part).
RouteHandlerPtr guarded(const char* query, const char* headers, const char* body) {
  return aitools::services::validate_requests(
      std::make_shared<InnerHandler>(), RequestSchemas{compile_ok(RequestPart::query, query),
                                                       compile_ok(RequestPart::headers, headers),
                                                       compile_ok(RequestPart::body, body)});
}

// The 422 body for `request`, after checking status and type.
std::string rejection(const RouteHandler& handler, const FakeRequest& request) {
  http::Response response = aitools::test::call(handler, request);
  BOOST_TEST(response.status == 422);
  BOOST_TEST(response.content_type == "application/json");
  return response.body;
}

bool passes(const RouteHandler& handler, const FakeRequest& request) {
  http::Response response = aitools::test::call(handler, request);
  BOOST_TEST(response.status == 200, response.body);
  return response.body == "inner";
}

constexpr const char* kTestObject =
    R"({"type": "object", "properties": {"test": {"type": "string"}}, "required": ["test"]})";

FakeRequest dial(std::string body) {
  FakeRequest request;
  request.query_list = {{"test", "q"}};
  request.header_list = {{"Test", "h"}};
  request.content = std::move(body);
  return request;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(request_schema)

BOOST_AUTO_TEST_CASE(invalid_schemas_name_keyword_and_place) {
  BOOST_TEST(compile_error(RequestPart::body, R"({"type": "strin"})") ==
             "invalid JSON Schema: anyOf at #/type");
  BOOST_TEST(compile_error(RequestPart::body, R"({"properties": {"a": {"minLength": -1}}})") ==
             "invalid JSON Schema: allOf at #/properties/a/minLength");
  BOOST_TEST(compile_error(RequestPart::body, R"({"required": []})") ==
             "invalid JSON Schema: minItems at #/required");
  BOOST_TEST(compile_error(RequestPart::body, R"({"required": ["a", "a"]})") ==
             "invalid JSON Schema: uniqueItems at #/required/1");
  BOOST_TEST(compile_error(RequestPart::body, R"({"exclusiveMinimum": true})") ==
             "invalid JSON Schema: dependencies at #");
  BOOST_TEST(compile_error(RequestPart::body, "7") == "invalid JSON Schema: type at #");
}

BOOST_AUTO_TEST_CASE(refs_must_be_local_and_resolve) {
  BOOST_TEST(compile_error(RequestPart::body,
                           R"({"properties": {"a": {"$ref": "http://example.com/s.json#/x"}}})") ==
             "remote $ref \"http://example.com/s.json#/x\" at #/properties/a is not supported; "
             "expected a local reference \"#/...\"");
  BOOST_TEST(compile_error(RequestPart::body, R"({"items": {"$ref": "other.json"}})") ==
             "remote $ref \"other.json\" at #/items is not supported; "
             "expected a local reference \"#/...\"");
  BOOST_TEST(compile_error(RequestPart::body, R"({"items": {"$ref": "#/definitions/nope"}})") ==
             "$ref \"#/definitions/nope\" at #/items points to no schema in this document");
  // A local reference that resolves is fine, recursion included.
  auto handler = guarded(nullptr, nullptr, R"({"definitions": {"node": {"type": "object",
      "properties": {"name": {"type": "string"}, "children": {"type": "array",
      "items": {"$ref": "#/definitions/node"}}}, "required": ["name"]}},
      "$ref": "#/definitions/node"})");
  FakeRequest request;
  request.content = R"({"name": "a", "children": [{"name": "b", "children": []}]})";
  BOOST_TEST(passes(*handler, request));
  request.content = R"({"name": "a", "children": [{"children": []}]})";
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[{"type":"missing","loc":["body","children",0,"name"],)"
             R"("msg":"Field required","input":{"children":[]}}]})");
}

BOOST_AUTO_TEST_CASE(patterns_must_compile_with_rapidjson) {
  const std::string unsupported =
      " is not a regular expression RapidJSON supports (no \\d, \\w, \\s, lookarounds or "
      "backreferences; use classes such as [0-9]; no empty groups or alternatives, and no "
      "quantifier on a group holding *, ?, {} or |)";
  BOOST_TEST(compile_error(RequestPart::body, R"({"pattern": "\\d+"})") ==
             "pattern \"\\d+\" at #" + unsupported);
  BOOST_TEST(compile_error(RequestPart::body, R"({"patternProperties": {"(": {}}})") ==
             "pattern \"(\" at #/patternProperties" + unsupported);
  // Each of these crashes RapidJSON 1.1 (an assertion, or a matcher that recurses forever).
  // An invalid UTF-8 byte ends the engine's view of "^(a\xff)+$" at an open '('.
  for (const char* pattern :
       {"()a", "(a*)*", "(.?)^*", "a(^)b", "a||b", "(a|)", "*a", "(a|b)+", "^(a\xff)+$"}) {
    const std::string schema = std::string(R"({"pattern": ")") + pattern + R"("})";
    BOOST_TEST(compile_error(RequestPart::body, schema.c_str()) ==
               "pattern \"" + std::string(pattern) + "\" at #" + unsupported);
  }
  // What people write still compiles.
  for (const char* pattern : {"^[a-z]+$", "^(cn|en)$", "^[0-9]{4}-[0-9]{2}$", "^(ab)+$", "a.b"}) {
    const std::string schema = std::string(R"({"pattern": ")") + pattern + R"("})";
    compile_ok(RequestPart::body, schema.c_str());
  }
}

BOOST_AUTO_TEST_CASE(query_and_headers_need_object_schemas) {
  BOOST_TEST(compile_error(RequestPart::query, R"({"type": "string"})") ==
             "expected an object schema (\"type\": \"object\" with \"properties\"): query "
             "parameters are named values");
  BOOST_TEST(compile_error(RequestPart::headers, "{}") ==
             "expected an object schema (\"type\": \"object\" with \"properties\"): headers are "
             "named values");
  BOOST_TEST(compile_error(RequestPart::headers, R"({"properties": {"X-A": {}, "x-a": {}}})") ==
             "properties: \"x-a\" is named twice (header names are case-insensitive)");
  compile_ok(RequestPart::query, R"({"properties": {"a": {}}})");
  compile_ok(RequestPart::body, R"({"type": "string"})");
}

BOOST_AUTO_TEST_CASE(valid_request_reaches_the_handler) {
  auto handler = guarded(kTestObject, kTestObject, kTestObject);
  BOOST_TEST(passes(*handler, dial(R"({"test": "b"})")));
}

BOOST_AUTO_TEST_CASE(every_failing_part_is_reported_in_fastapi_order) {
  auto handler = guarded(kTestObject, kTestObject, kTestObject);
  BOOST_TEST(rejection(*handler, FakeRequest{}) ==
             R"({"detail":[)"
             R"({"type":"missing","loc":["query","test"],"msg":"Field required","input":null},)"
             R"({"type":"missing","loc":["header","test"],"msg":"Field required","input":null},)"
             R"({"type":"missing","loc":["body"],"msg":"Field required","input":null}]})");
  FakeRequest request = dial(R"({"test": 5})");
  request.query_list.clear();
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[)"
             R"({"type":"missing","loc":["query","test"],"msg":"Field required","input":null},)"
             R"({"type":"string_type","loc":["body","test"],)"
             R"("msg":"Input should be a valid string","input":5}]})");
}

BOOST_AUTO_TEST_CASE(each_missing_required_field_is_an_item) {
  auto handler = guarded(nullptr, nullptr, R"({"type": "object", "required": ["a", "b", "c"]})");
  FakeRequest request;
  request.content = R"({"b": 1})";
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[)"
             R"({"type":"missing","loc":["body","a"],"msg":"Field required","input":{"b":1}},)"
             R"({"type":"missing","loc":["body","c"],"msg":"Field required","input":{"b":1}}]})");
}

BOOST_AUTO_TEST_CASE(body_that_is_not_json) {
  auto handler = guarded(nullptr, nullptr, kTestObject);
  FakeRequest request;
  request.content = R"({"test": })";
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[{"type":"json_invalid","loc":["body",9],"msg":"JSON decode error",)"
             R"("input":{},"ctx":{"error":"Invalid value."}}]})");
  request.content = "{\"test\": \"\xff\"}";
  BOOST_TEST(rejection(*handler, request).find(R"("type":"json_invalid","loc":["body",10])") !=
             std::string::npos);
  // Deeper than the validator and writers may recurse: refused, not walked.
  request.content = std::string(200, '[') + std::string(200, ']');
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[{"type":"json_invalid","loc":["body",128],"msg":"JSON decode error",)"
             R"("input":{},"ctx":{"error":"nested deeper than 128 levels"}}]})");
}

BOOST_AUTO_TEST_CASE(query_values_are_coerced_like_fastapi) {
  auto handler = guarded(R"({"type": "object", "properties": {
      "n": {"type": "integer", "minimum": 1}, "x": {"type": "number"},
      "b": {"type": "boolean"}, "s": {"type": "string", "maxLength": 3},
      "either": {"type": ["integer", "string"], "maxLength": 1}}})",
                         nullptr, nullptr);
  FakeRequest request;
  request.query_list = {{"n", "5"}, {"x", "-1.5e2"}, {"b", "Yes"}, {"s", "abc"}, {"either", "7"}};
  BOOST_TEST(passes(*handler, request));

  request.query_list = {{"n", "five"}};
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[{"type":"int_parsing","loc":["query","n"],)"
             R"("msg":"Input should be a valid integer, unable to parse string as an integer",)"
             R"("input":"five"}]})");
  // Errors after conversion still quote the value as received.
  request.query_list = {{"n", "0"}};
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[{"type":"greater_than_equal","loc":["query","n"],)"
             R"("msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]})");
  request.query_list = {{"x", "1,5"}};
  BOOST_TEST(rejection(*handler, request).find(R"("type":"float_parsing")") != std::string::npos);
  request.query_list = {{"b", "maybe"}};
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[{"type":"bool_parsing","loc":["query","b"],)"
             R"("msg":"Input should be a valid boolean, unable to interpret input",)"
             R"("input":"maybe"}]})");
  // A type that also accepts a string keeps the string.
  request.query_list = {{"either", "12"}};
  BOOST_TEST(rejection(*handler, request).find(R"("type":"string_too_long")") != std::string::npos);
  // The last of a repeated name counts.
  request.query_list = {{"n", "x"}, {"n", "2"}};
  BOOST_TEST(passes(*handler, request));
}

BOOST_AUTO_TEST_CASE(headers_match_case_insensitively) {
  auto handler = guarded(nullptr, R"({"type": "object", "properties": {
      "X-Count": {"type": "integer"}}, "required": ["X-Count"]})",
                         nullptr);
  FakeRequest request;
  request.header_list = {{"x-COUNT", "3"}, {"Host", "h"}};
  BOOST_TEST(passes(*handler, request));
  request.header_list = {{"X-Count", "three"}};
  BOOST_TEST(
      rejection(*handler, request).find(R"("type":"int_parsing","loc":["header","x-count"])") !=
      std::string::npos);
  request.header_list = {{"Host", "h"}};
  BOOST_TEST(rejection(*handler, request) ==
             R"({"detail":[{"type":"missing","loc":["header","x-count"],"msg":"Field required",)"
             R"("input":null}]})");
}

BOOST_AUTO_TEST_CASE(keyword_failures_read_like_pydantic) {
  auto handler = guarded(nullptr, nullptr, R"({"type": "object", "properties": {
      "name": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[a-z]+$"},
      "kind": {"enum": ["a", "b", 3]},
      "n": {"type": "integer", "maximum": 10, "exclusiveMaximum": true, "multipleOf": 2},
      "list": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2}},
      "additionalProperties": false})");
  FakeRequest request;
  const auto failure = [&](const char* body) {
    request.content = body;
    return rejection(*handler, request);
  };
  BOOST_TEST(failure(R"({"name": "abcde"})") ==
             R"({"detail":[{"type":"string_too_long","loc":["body","name"],)"
             R"("msg":"String should have at most 4 characters","input":"abcde",)"
             R"("ctx":{"max_length":4}}]})");
  BOOST_TEST(
      failure(R"({"name": "a"})").find(R"("msg":"String should have at least 2 characters")") !=
      std::string::npos);
  BOOST_TEST(failure(R"({"name": "AB"})") ==
             R"({"detail":[{"type":"string_pattern_mismatch","loc":["body","name"],)"
             R"("msg":"String should match pattern '^[a-z]+$'","input":"AB",)"
             R"("ctx":{"pattern":"^[a-z]+$"}}]})");
  BOOST_TEST(failure(R"({"kind": "c"})") == R"({"detail":[{"type":"enum","loc":["body","kind"],)"
                                            R"("msg":"Input should be 'a', 'b' or 3","input":"c",)"
                                            R"("ctx":{"expected":"'a', 'b' or 3"}}]})");
  BOOST_TEST(
      failure(R"({"n": 10})")
          .find(R"("type":"less_than","loc":["body","n"],"msg":"Input should be less than 10")") !=
      std::string::npos);
  BOOST_TEST(failure(R"({"n": 3})").find(R"("type":"multiple_of")") != std::string::npos);
  BOOST_TEST(failure(R"({"n": 2.5})").find(R"("type":"int_from_float")") != std::string::npos);
  BOOST_TEST(failure(R"({"list": [1, "x"]})") ==
             R"({"detail":[{"type":"int_type","loc":["body","list",1],)"
             R"("msg":"Input should be a valid integer","input":"x"}]})");
  BOOST_TEST(failure(R"({"list": [1, 2, 3]})") ==
             R"({"detail":[{"type":"too_long","loc":["body","list"],)"
             R"("msg":"List should have at most 2 items after validation, not 3","input":[1,2,3],)"
             R"("ctx":{"field_type":"List","max_length":2,"actual_length":3}}]})");
  BOOST_TEST(failure(R"({"extra": {"x": 1}})") ==
             R"({"detail":[{"type":"extra_forbidden","loc":["body","extra"],)"
             R"("msg":"Extra inputs are not permitted","input":{"x":1}}]})");
  BOOST_TEST(failure("[]") == R"({"detail":[{"type":"dict_type","loc":["body"],)"
                              R"("msg":"Input should be a valid dictionary","input":[]}]})");
}

BOOST_AUTO_TEST_CASE(schemas_with_patterns_are_safe_on_many_threads) {
  // RapidJSON 1.1 keeps a regex's match state in the regex: each thread needs its own.
  auto handler = guarded(nullptr, nullptr,
                         R"({"type": "object", "properties": {"id": {"pattern": "^(ab)+c$"}},
                             "patternProperties": {"^x-": {"type": "integer"}}})");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        FakeRequest request;
        const bool good = (i + t) % 2 == 0;
        request.content = good ? R"({"id": "ababc", "x-n": 1})" : R"({"id": "abab", "x-n": 1})";
        http::Response response = aitools::test::call(*handler, request);
        if ((response.status == 200) != good) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_CASE(routes_without_schemas_are_not_wrapped) {
  // A kind that hands out one handler, so the test sees whether anything was put in front.
  struct FixedKind final : aitools::services::ServiceKind {
    RouteHandlerPtr handler = std::make_shared<InnerHandler>();
    std::string_view name() const override { return "fixed"; }
    RouteHandlerPtr compile(const rapidjson::Value*, const aitools::services::RouteInfo&,
                            std::string&) const override {
      return handler;
    }
  };
  auto kind = std::make_shared<FixedKind>();
  aitools::services::Catalog catalog;
  catalog.add(kind);
  config::Manifest manifest;
  std::string error;
  BOOST_REQUIRE(config::parse_manifest(R"({"routes": [
      {"method": "GET", "path": "/plain", "kind": "fixed", "summary": "documented only"},
      {"method": "POST", "path": "/checked", "kind": "fixed",
       "request": {"body": {"type": "object"}}}]})",
                                       "svc", manifest, error));
  config::CompiledService service;
  BOOST_REQUIRE_MESSAGE(
      config::compile_manifest(manifest, config::ConfigSnapshot{}, catalog, service, error), error);
  BOOST_REQUIRE(service.routes.size() == 2u);
  BOOST_TEST(service.routes[0].handler == kind->handler);
  BOOST_TEST(service.routes[1].handler != kind->handler);
  FakeRequest request;
  request.content = "[]";
  BOOST_TEST(aitools::test::call(*service.routes[1].handler, request).status == 422);
}

BOOST_AUTO_TEST_SUITE_END()
