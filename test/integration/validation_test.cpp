// Request validation end to end: the real server answers 422 in FastAPI's shape for requests
// that fail a route's JSON Schemas (dial_test's own, or a manifest's `request` block), and
// schemas hot-reload with their manifest: an edit applies with the next generation, an invalid
// schema quarantines the file while its last good version keeps serving.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "harness.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto kPatience = 10s;

const std::string kDialTest = R"({"name": "aitools", "prefix": "/aitools/v1", "routes": [
  {"method": "POST", "path": "/dial_test", "kind": "dial_test", "tags": ["unclassified"]}]})";

// An echo route whose query needs an integer `n` >= 1 and whose body needs a `name` of at most
// `max_length` characters; `body_schema` replaces the body schema when given.
std::string checked_echo(int max_length, const std::string& body_schema = "") {
  const std::string body = body_schema.empty()
                               ? R"({"type": "object", "properties": {"name": {"type": "string",
          "maxLength": )" + std::to_string(max_length) +
                                     R"(}}, "required": ["name"]})"
                               : body_schema;
  return R"({"routes": [{"method": "POST", "path": "/echo", "kind": "echo", "request": {
    "query": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}},
              "required": ["n"]},
    "body": )" +
         body + "}}]}\n";
}

struct ValidationServer {
  it::TempDir dir;
  it::ServerProcess server{dir,
                           {{"HOT_RELOAD_ENABLE", "true"},
                            {"RELOAD_DEBOUNCE_MS", "20"},
                            {"RESCAN_INTERVAL_S", "0"},
                            {"LOG_LEVEL", "debug"}},
                           {{"aitools.json", kDialTest}, {"checked.json", checked_echo(5)}}};
  ValidationServer() { server.start(); }

  it::HttpResponse post(const std::string& target, const it::Headers& headers,
                        const std::string& body) {
    return it::http_request(server.port(), "POST", target, headers, body);
  }

  std::string service_field(const std::string& service, const std::string& field) {
    const rapidjson::Document status = it::admin_json(server, "/admin/status");
    const auto& services = status["services"];
    if (!services.HasMember(service.c_str())) return "";
    const auto& entry = services[service.c_str()];
    return entry.HasMember(field.c_str()) ? it::json_string(entry[field.c_str()]) : "";
  }
};

const it::Headers kJson = {{"Content-Type", "application/json"}};

it::Headers with_test_header() { return {{"Content-Type", "application/json"}, {"test", "h"}}; }

// A 422 with exactly `detail` as its body.
void expect_422(const it::HttpResponse& response, const std::string& detail) {
  BOOST_TEST(response.status == 422);
  BOOST_TEST(response.header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(response.body == detail);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(validation)

BOOST_FIXTURE_TEST_CASE(dial_test_answers_like_the_predecessor, ValidationServer) {
  const auto response =
      post("/aitools/v1/dial_test?test=q", with_test_header(), R"({"test": "b"})");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(response.body == R"(["message","Dial test service"])");
}

BOOST_FIXTURE_TEST_CASE(dial_test_rejects_each_missing_or_wrong_part, ValidationServer) {
  struct Case {
    std::string name;
    std::string target;
    it::Headers headers;
    std::string body;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {"everything missing", "/aitools/v1/dial_test", kJson, "",
       R"({"detail":[)"
       R"({"type":"missing","loc":["query","test"],"msg":"Field required","input":null},)"
       R"({"type":"missing","loc":["header","test"],"msg":"Field required","input":null},)"
       R"({"type":"missing","loc":["body"],"msg":"Field required","input":null}]})"},
      {"query missing", "/aitools/v1/dial_test", with_test_header(), R"({"test": "b"})",
       R"({"detail":[{"type":"missing","loc":["query","test"],"msg":"Field required",)"
       R"("input":null}]})"},
      {"header missing", "/aitools/v1/dial_test?test=q", kJson, R"({"test": "b"})",
       R"({"detail":[{"type":"missing","loc":["header","test"],"msg":"Field required",)"
       R"("input":null}]})"},
      {"body field missing", "/aitools/v1/dial_test?test=q", with_test_header(), R"({"x": 1})",
       R"({"detail":[{"type":"missing","loc":["body","test"],"msg":"Field required",)"
       R"("input":{"x":1}}]})"},
      {"body field wrong type", "/aitools/v1/dial_test?test=q", with_test_header(),
       R"({"test": 7})",
       R"({"detail":[{"type":"string_type","loc":["body","test"],)"
       R"("msg":"Input should be a valid string","input":7}]})"},
      {"body not JSON", "/aitools/v1/dial_test?test=q", with_test_header(), R"({"test": b})",
       R"({"detail":[{"type":"json_invalid","loc":["body",9],"msg":"JSON decode error",)"
       R"("input":{},"ctx":{"error":"Invalid value."}}]})"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) { expect_422(post(c.target, c.headers, c.body), c.detail); }
  }
}

BOOST_FIXTURE_TEST_CASE(request_block_on_an_echo_route, ValidationServer) {
  const auto ok = post("/echo?n=3", kJson, R"({"name": "ann"})");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body.find(R"("query":{"n":"3"})") != std::string::npos, ok.body);
  expect_422(post("/echo?n=three", kJson, R"({"name": "ann"})"),
             R"({"detail":[{"type":"int_parsing","loc":["query","n"],)"
             R"("msg":"Input should be a valid integer, unable to parse string as an integer",)"
             R"("input":"three"}]})");
  expect_422(post("/echo?n=0", kJson, R"({"name": "annabel"})"),
             R"({"detail":[{"type":"greater_than_equal","loc":["query","n"],)"
             R"("msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}},)"
             R"({"type":"string_too_long","loc":["body","name"],)"
             R"("msg":"String should have at most 5 characters","input":"annabel",)"
             R"("ctx":{"max_length":5}}]})");
}

BOOST_FIXTURE_TEST_CASE(edited_schema_applies_with_the_next_generation, ValidationServer) {
  const uint64_t before = it::status_generation(server);
  BOOST_TEST(post("/echo?n=1", kJson, R"({"name": "abc"})").status == 200);

  dir.write_atomic("services/checked.json", checked_echo(2));
  BOOST_TEST_REQUIRE(it::wait_for_generation(server, before + 1, kPatience), server.log());
  expect_422(post("/echo?n=1", kJson, R"({"name": "abc"})"),
             R"({"detail":[{"type":"string_too_long","loc":["body","name"],)"
             R"("msg":"String should have at most 2 characters","input":"abc",)"
             R"("ctx":{"max_length":2}}]})");
  BOOST_TEST(post("/echo?n=1", kJson, R"({"name": "ab"})").status == 200);
}

BOOST_FIXTURE_TEST_CASE(invalid_schema_quarantines_and_last_good_serves, ValidationServer) {
  dir.write_atomic("services/checked.json", checked_echo(0, R"({"type": "strin"})"));
  BOOST_TEST_REQUIRE(
      it::wait_until([&] { return service_field("checked", "state") == "quarantined"; }, kPatience),
      server.log());
  BOOST_TEST(service_field("checked", "error") ==
             "routes[0].request.body: invalid JSON Schema: anyOf at #/type");
  // The last good version, with its schemas, keeps serving.
  BOOST_TEST(post("/echo?n=1", kJson, R"({"name": "abc"})").status == 200);
  BOOST_TEST(post("/echo?n=1", kJson, R"({"name": "abcdef"})").status == 422);

  // A remote $ref is refused the same way.
  dir.write_atomic("services/checked.json",
                   checked_echo(0, R"({"$ref": "http://example.com/schema.json"})"));
  BOOST_TEST_REQUIRE(it::wait_until(
                         [&] {
                           return service_field("checked", "error").find("remote $ref") !=
                                  std::string::npos;
                         },
                         kPatience),
                     server.log());
  BOOST_TEST(post("/echo?n=1", kJson, R"({"name": "abc"})").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
