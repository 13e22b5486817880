#include "services/catalog.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>

#include <rapidjson/document.h>

#include "http/router.hpp"
#include "test/unit/call_handler.hpp"

// The suite's name hides aitools::services inside it, hence the using-declarations.
namespace http = aitools::http;
using aitools::services::Catalog;
using aitools::services::RouteHandlerPtr;
using aitools::services::ServiceKind;
using aitools::test::FakeRequest;

namespace {

// Compiles `options` (JSON text, or null for none) with a builtin kind for `pattern`.
// The options document dies before the handler is used, as in the real server.
RouteHandlerPtr compile(std::string_view kind_name, const char* options, std::string_view pattern,
                        std::string& error) {
  const ServiceKind* kind = Catalog::builtin().find(kind_name);
  BOOST_REQUIRE(kind != nullptr);
  http::PathPattern parsed;
  BOOST_REQUIRE_MESSAGE(http::PathPattern::parse(pattern, parsed, error), error);
  rapidjson::Document document;
  if (options) BOOST_REQUIRE(!document.Parse(options).HasParseError());
  return kind->compile(options ? &document : nullptr, {parsed.text(), parsed.param_names()}, error);
}

RouteHandlerPtr compile_ok(std::string_view kind, const char* options,
                           std::string_view pattern = "/") {
  std::string error;
  RouteHandlerPtr handler = compile(kind, options, pattern, error);
  BOOST_REQUIRE_MESSAGE(handler != nullptr, error);
  return handler;
}

std::string compile_error(std::string_view kind, const char* options) {
  std::string error;
  BOOST_TEST(compile(kind, options, "/", error) == nullptr);
  return error;
}

http::Response respond(std::string_view kind, const char* options, std::string_view pattern = "/",
                       const http::Params& params = {}) {
  return aitools::test::call(*compile_ok(kind, options, pattern), FakeRequest{}, params);
}

// The echo response for `request`, parsed.
rapidjson::Document echo(const FakeRequest& request, const http::Params& params = {}) {
  http::Response response = aitools::test::call(*compile_ok("echo", nullptr), request, params);
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.content_type == "application/json");
  rapidjson::Document document;
  BOOST_REQUIRE_MESSAGE(!document.Parse(response.body.c_str()).HasParseError(), response.body);
  return document;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(services)

BOOST_AUTO_TEST_CASE(catalog_lists_and_finds_kinds) {
  const Catalog& builtin = Catalog::builtin();
  BOOST_TEST(builtin.find("static") != nullptr);
  BOOST_TEST(builtin.find("echo")->name() == "echo");
  BOOST_TEST(builtin.find("nope") == nullptr);
  std::vector<std::string> names = builtin.names();
  BOOST_TEST(std::is_sorted(names.begin(), names.end()));
  BOOST_TEST(std::count(names.begin(), names.end(), "static") == 1);

  Catalog own;
  BOOST_TEST(own.names().empty());
  BOOST_TEST(own.find("static") == nullptr);
}

BOOST_AUTO_TEST_CASE(static_defaults) {
  for (const char* options : {static_cast<const char*>(nullptr), "{}"}) {
    http::Response response = respond("static", options);
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.body.empty());
    BOOST_TEST(response.content_type.empty());
    BOOST_TEST(response.headers.empty());
    BOOST_TEST(response.delay.count() == 0);
  }
}

BOOST_AUTO_TEST_CASE(static_json_body_is_serialized_compactly) {
  http::Response response =
      respond("static", R"({"body": {"msg": "hi", "list": [1, 2.5, true, null], "o": {}}})");
  BOOST_TEST(response.body == R"({"msg":"hi","list":[1,2.5,true,null],"o":{}})");
  BOOST_TEST(response.content_type == "application/json");
  BOOST_TEST(respond("static", R"({"body": 42})").body == "42");
}

BOOST_AUTO_TEST_CASE(static_text_body_is_sent_verbatim) {
  http::Response response = respond("static", R"({"body": "plain \"text\"\n"})");
  BOOST_TEST(response.body == "plain \"text\"\n");
  BOOST_TEST(response.content_type == "text/plain; charset=utf-8");
}

BOOST_AUTO_TEST_CASE(static_status_headers_and_delay) {
  http::Response response = respond("static", R"({"status": 201, "delay_ms": 250, "body": {},
      "headers": {"X-Trace": "abc", "Cache-Control": "no-store"}})");
  BOOST_TEST(response.status == 201);
  BOOST_TEST(response.delay.count() == 250);
  BOOST_TEST(
      (response.headers == http::HeaderList{{"X-Trace", "abc"}, {"Cache-Control", "no-store"}}));
  BOOST_TEST(response.content_type == "application/json");
}

BOOST_AUTO_TEST_CASE(static_user_content_type_replaces_the_default) {
  http::Response response = respond(
      "static", R"({"body": {"a": 1}, "headers": {"content-TYPE": "application/vnd.x+json"}})");
  BOOST_TEST(response.content_type == "application/vnd.x+json");
  BOOST_TEST(response.headers.empty());
}

BOOST_AUTO_TEST_CASE(static_placeholders_are_json_escaped_in_json_bodies) {
  const std::string value = "a\"b\\c";
  http::Response response = respond("static", R"({"body": {"msg": "hello {name}!", "n": 1}})",
                                    "/hello/{name}", {{"name", value}});
  BOOST_TEST(response.body == R"({"msg":"hello a\"b\\c!","n":1})");
  rapidjson::Document parsed;
  BOOST_REQUIRE(!parsed.Parse(response.body.c_str()).HasParseError());
  BOOST_TEST(parsed["msg"].GetString() == "hello " + value + "!");
}

BOOST_AUTO_TEST_CASE(static_placeholders_are_verbatim_in_text_bodies) {
  http::Response response = respond("static", R"({"body": "{b}-{a}: \"{a}\""})", "/x/{a}/{b}",
                                    {{"a", "1\""}, {"b", "2"}});
  BOOST_TEST(response.body == "2-1\": \"1\"\"");
}

BOOST_AUTO_TEST_CASE(static_unknown_placeholders_stay_literal) {
  http::Response response = respond("static", R"({"body": "{other} {name} {} {{name}} {name"})",
                                    "/{name}", {{"name", "x"}});
  BOOST_TEST(response.body == "{other} x {} {x} {name");
}

// Found by fuzzing: every unmatched '{' rescanned the rest of the body for a '}'.
BOOST_AUTO_TEST_CASE(static_body_with_many_braces, *boost::unit_test::timeout(30)) {
  const std::string braces(4'000'000, '{');
  const std::string options = R"({"body": ")" + braces + R"({id}}"})";
  BOOST_TEST(respond("static", options.c_str(), "/{id}", {{"id", "x"}}).body == braces + "x}");
  BOOST_TEST(respond("static", R"({"body": "{a{id}} {{id}"})", "/{id}", {{"id", "x"}}).body ==
             "{ax} {x");
}

BOOST_AUTO_TEST_CASE(static_placeholders_in_object_keys) {
  http::Response response =
      respond("static", R"({"body": {"{id}": {"id": "{id}"}}})", "/items/{id}", {{"id", "7\n"}});
  BOOST_TEST(response.body == R"({"7\n":{"id":"7\n"}})");
}

BOOST_AUTO_TEST_CASE(static_rest_placeholder) {
  http::Response response =
      respond("static", R"({"body": "file={rest}"})", "/files/{rest*}", {{"rest", "a/b/c.txt"}});
  BOOST_TEST(response.body == "file=a/b/c.txt");
}

BOOST_AUTO_TEST_CASE(static_handler_is_reusable) {
  RouteHandlerPtr handler = compile_ok("static", R"({"body": "<{id}>"})", "/{id}");
  BOOST_TEST(aitools::test::call(*handler, FakeRequest{}, {{"id", "1"}}).body == "<1>");
  BOOST_TEST(aitools::test::call(*handler, FakeRequest{}, {{"id", "22"}}).body == "<22>");
}

BOOST_AUTO_TEST_CASE(static_option_errors) {
  const std::string bad_status = "status: expected an integer 100-599";
  BOOST_TEST(compile_error("static", R"({"status": 99})") == bad_status);
  BOOST_TEST(compile_error("static", R"({"status": 600})") == bad_status);
  BOOST_TEST(compile_error("static", R"({"status": "200"})") == bad_status);
  BOOST_TEST(compile_error("static", R"({"status": 200.5})") == bad_status);
  const std::string bad_delay = "delay_ms: expected an integer 0-600000";
  BOOST_TEST(compile_error("static", R"({"delay_ms": -1})") == bad_delay);
  BOOST_TEST(compile_error("static", R"({"delay_ms": 600001})") == bad_delay);
  BOOST_TEST(compile_error("static", R"({"headers": ["X"]})") ==
             "headers: expected an object of header names to string values");
  BOOST_TEST(
      compile_error("static", R"({"headers": {"Bad Name": "x"}})").find("headers.Bad Name: ") ==
      0u);
  BOOST_TEST(compile_error("static", R"({"headers": {"X-A": "a\r\nInjected: 1"}})") ==
             "headers.X-A: expected a string without CR, LF or NUL");
  BOOST_TEST(compile_error("static", R"({"headers": {"X-A": "a\u0000b"}})") ==
             "headers.X-A: expected a string without CR, LF or NUL");
  BOOST_TEST(compile_error("static", R"({"headers": {"X-A": 1}})") ==
             "headers.X-A: expected a string without CR, LF or NUL");
  BOOST_TEST(compile_error("static", R"({"headers": {"content-length": "5"}})") ==
             "headers.content-length: set by the server; expected any other header");
  BOOST_TEST(compile_error("static", R"({"headers": {"Connection": "close"}})") ==
             "headers.Connection: set by the server; expected any other header");
  BOOST_TEST(compile_error("static", R"({"stauts": 200})") ==
             "stauts: unknown option; expected one of status, headers, body, delay_ms");
}

BOOST_AUTO_TEST_CASE(echo_json_body) {
  FakeRequest request;
  request.method_name = "POST";
  request.target = "/echo/7";
  request.header_list = {{"Content-Type", "Application/JSON; charset=utf-8"}};
  request.content = R"({"a": [1, {"b": null}]})";
  http::Response response =
      aitools::test::call(*compile_ok("echo", nullptr, "/echo/{id}"), request, {{"id", "7"}});
  BOOST_TEST(response.body == R"({"method":"POST","path":"/echo/7","params":{"id":"7"},"query":{},)"
                              R"("headers":{"Content-Type":"Application/JSON; charset=utf-8"},)"
                              R"("body":{"a":[1,{"b":null}]}})");

  request.header_list = {{"content-type", "application/problem+json"}};
  request.content = "[true]";
  BOOST_TEST(echo(request)["body"][0].GetBool());

  // Deep nesting must not exhaust an HTTP thread's stack.
  request.content = std::string(100000, '[') + std::string(100000, ']');
  std::string body = aitools::test::call(*compile_ok("echo", nullptr), request).body;
  BOOST_TEST(body.substr(body.size() - request.content.size() - 1) == request.content + "}");
}

BOOST_AUTO_TEST_CASE(echo_non_json_body_is_a_string) {
  FakeRequest request;
  request.header_list = {{"Content-Type", "text/plain"}};
  request.content = R"({"a": 1})";
  BOOST_TEST(echo(request)["body"].GetString() == std::string(R"({"a": 1})"));

  // Declared JSON that does not parse, even halfway through, is echoed as text.
  request.header_list = {{"Content-Type", "application/json"}};
  request.content = R"({"a": [1, 2)";
  BOOST_TEST(echo(request)["body"].GetString() == request.content);

  request.header_list.clear();
  request.content.clear();
  BOOST_TEST(echo(request)["body"].GetString() == std::string());
}

BOOST_AUTO_TEST_CASE(echo_query_headers_and_params) {
  FakeRequest request;
  request.method_name = "DELETE";
  request.target = "/users/42/files/a/b";
  request.query_list = {{"q", "a b"}, {"empty", ""}};
  request.header_list = {{"X-Quote", "say \"hi\""}, {"Accept", "*/*"}};
  rapidjson::Document document = echo(request, {{"id", "42"}, {"rest", "a/b"}});
  BOOST_TEST(document["method"].GetString() == std::string("DELETE"));
  BOOST_TEST(document["path"].GetString() == request.target);
  BOOST_TEST(document["params"]["id"].GetString() == std::string("42"));
  BOOST_TEST(document["params"]["rest"].GetString() == std::string("a/b"));
  BOOST_TEST(document["query"]["q"].GetString() == std::string("a b"));
  BOOST_TEST(document["query"]["empty"].GetString() == std::string());
  BOOST_TEST(document["headers"]["X-Quote"].GetString() == std::string("say \"hi\""));
  BOOST_TEST(document["headers"]["Accept"].GetString() == std::string("*/*"));
}

BOOST_AUTO_TEST_CASE(echo_rejects_options) {
  BOOST_TEST(compile_error("echo", R"({"status": 201})") ==
             "status: unknown option; echo takes no options");
  BOOST_TEST(compile_ok("echo", "{}") != nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
