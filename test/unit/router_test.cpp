#include "http/router.hpp"

#include <boost/test/unit_test.hpp>

#include <initializer_list>

using namespace aitools::http;
using Status = MatchResult::Status;

namespace {

PathPattern pattern(std::string_view text) {
  PathPattern p;
  std::string error;
  BOOST_REQUIRE_MESSAGE(PathPattern::parse(text, p, error), error);
  return p;
}

std::string parse_error(std::string_view text) {
  PathPattern p;
  std::string error;
  BOOST_REQUIRE_MESSAGE(!PathPattern::parse(text, p, error), "accepted: " << text);
  BOOST_TEST(!error.empty());
  return error;
}

MethodSet methods(std::initializer_list<Method> list) {
  MethodSet set;
  for (Method m : list) set.add(m);
  return set;
}

// A router plus the outcome of the last match, to keep the cases short.
struct Table {
  Router router;
  ParamValues params;

  bool add(std::string_view text, std::initializer_list<Method> list, uint32_t route) {
    return router.add(pattern(text), methods(list), route);
  }
  MatchResult match(Method m, std::string_view path) { return router.match(m, path, params); }
  // The route serving the request; fails the test if there is none.
  uint32_t route(Method m, std::string_view path) {
    MatchResult r = match(m, path);
    BOOST_TEST_REQUIRE((r.status == Status::found), to_string(m) << " " << path << " not found");
    return r.route;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(router)

BOOST_AUTO_TEST_CASE(parse_requires_a_leading_slash) {
  BOOST_TEST(parse_error("") == "expected the pattern to start with '/', got \"\"");
  BOOST_TEST(parse_error("a/b") == "expected the pattern to start with '/', got \"a/b\"");
}

BOOST_AUTO_TEST_CASE(parse_rejects_empty_segments) {
  BOOST_TEST(parse_error("//").find("segment 1 \"\": ") == 0u);
  BOOST_TEST(parse_error("/a//b").find("segment 2 \"\": ") == 0u);
  BOOST_TEST(parse_error("/a/").find("segment 2 \"\": ") == 0u);
}

BOOST_AUTO_TEST_CASE(parse_rejects_mixed_segments) {
  BOOST_TEST(parse_error("/x/a{b}") ==
             "segment 2 \"a{b}\": a parameter must be a whole segment like {name}");
  BOOST_TEST(parse_error("/{a}b").find("segment 1 \"{a}b\": a parameter must be") == 0u);
  BOOST_TEST(parse_error("/{a").find("a parameter must be a whole segment") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parse_rejects_bad_names) {
  for (const char* text : {"/{}", "/{*}", "/{1a}", "/{a-b}", "/{a}{b}", "/{a**}"})
    BOOST_TEST(parse_error(text).find("expected a parameter name matching") != std::string::npos,
               text);
  BOOST_TEST(pattern("/{_a1}/{B_2*}").param_names() == (std::vector<std::string>{"_a1", "B_2"}));
}

BOOST_AUTO_TEST_CASE(parse_rejects_duplicate_names) {
  BOOST_TEST(parse_error("/{id}/x/{id}") ==
             "segment 3 \"{id}\": parameter name \"id\" is already used");
  BOOST_TEST(parse_error("/{id}/{id*}").find("segment 2") == 0u);
}

BOOST_AUTO_TEST_CASE(parse_rejects_rest_before_the_end) {
  BOOST_TEST(parse_error("/{p*}/a") == "segment 1 \"{p*}\": {name*} must be the last segment");
}

// Found by fuzzing: the trie is walked and freed recursively, so a pattern of 300000
// segments overflowed the stack when the router was built or matched.
BOOST_AUTO_TEST_CASE(parse_limits_the_number_of_segments) {
  std::string deepest;
  for (size_t i = 0; i < PathPattern::kMaxSegments; ++i) deepest += "/a";
  Table t;
  BOOST_TEST(t.add(deepest, {Method::GET}, 1));
  BOOST_TEST(t.route(Method::GET, deepest) == 1u);
  BOOST_TEST(parse_error(deepest + "/a") == "expected at most 128 segments");
  std::string hostile;
  for (int i = 0; i < 300000; ++i) hostile += "/{p" + std::to_string(i) + "}";
  BOOST_TEST(parse_error(hostile) == "expected at most 128 segments");
}

BOOST_AUTO_TEST_CASE(parse_rejects_reserved_characters_in_literals) {
  BOOST_TEST(parse_error("/a?b") == "segment 1 \"a?b\": \"?\" is not allowed in a literal segment");
  BOOST_TEST(parse_error("/a/x#") == "segment 2 \"x#\": \"#\" is not allowed in a literal segment");
  BOOST_TEST(parse_error("/a}") == "segment 1 \"a}\": \"}\" is not allowed in a literal segment");
  BOOST_TEST(parse_error(std::string_view("/a\x01", 3)) ==
             "segment 1 \"a\\x01\": \"\\x01\" is not allowed in a literal segment");
  BOOST_TEST(pattern("/a b/%41/~x.y-z:@!$&'()*+,;=").segments().size() == 3u);
}

BOOST_AUTO_TEST_CASE(parse_keeps_segments_text_and_shape) {
  PathPattern p = pattern("/users/{id}/files/{path*}");
  BOOST_TEST(p.text() == "/users/{id}/files/{path*}");
  BOOST_TEST(p.shape() == "/users/{}/files/{*}");
  BOOST_TEST(p.param_names() == (std::vector<std::string>{"id", "path"}));
  using K = PathSegment::Kind;
  BOOST_TEST((p.segments() == std::vector<PathSegment>{
                  {K::literal, "users"}, {K::param, "id"}, {K::literal, "files"}, {K::rest, "path"}}));

  PathPattern root = pattern("/");
  BOOST_TEST(root.segments().empty());
  BOOST_TEST(root.shape() == "/");
  BOOST_TEST(root.text() == "/");
  BOOST_TEST(root.param_names().empty());
  BOOST_TEST(pattern("/{all*}").shape() == "/{*}");
  BOOST_TEST(pattern("/a/{x}").shape() == pattern("/a/{y}").shape());
}

BOOST_AUTO_TEST_CASE(percent_decoding) {
  BOOST_TEST(percent_decode("%41") == "A");
  BOOST_TEST(percent_decode("a%2Fb") == "a/b");
  BOOST_TEST(percent_decode("%c3%a9") == "\xc3\xa9");
  BOOST_TEST(percent_decode("a+b") == "a+b");
  BOOST_TEST(percent_decode("%") == "%");
  BOOST_TEST(percent_decode("x%4") == "x%4");
  BOOST_TEST(percent_decode("%zz%41") == "%zzA");
  BOOST_TEST(percent_decode("%%41") == "%A");
  BOOST_TEST(percent_decode("") == "");
}

BOOST_AUTO_TEST_CASE(literal_beats_param_beats_rest) {
  Table t;
  BOOST_TEST(t.add("/a/b", {Method::GET}, 1));
  BOOST_TEST(t.add("/a/{x}", {Method::GET}, 2));
  BOOST_TEST(t.add("/a/{r*}", {Method::GET}, 3));
  BOOST_TEST(t.route(Method::GET, "/a/b") == 1u);
  BOOST_TEST(t.params.empty());
  BOOST_TEST(t.route(Method::GET, "/a/c") == 2u);
  BOOST_TEST(t.params == ParamValues{"c"});
  BOOST_TEST(t.route(Method::GET, "/a/b/c") == 3u);
  BOOST_TEST(t.params == ParamValues{"b/c"});
}

BOOST_AUTO_TEST_CASE(backtracking_to_a_less_specific_branch) {
  Table t;
  t.add("/a/{x}/c", {Method::GET}, 1);
  t.add("/a/b/d", {Method::GET}, 2);
  t.add("/{p}/{q}/e", {Method::GET}, 3);
  BOOST_TEST(t.route(Method::GET, "/a/b/c") == 1u);
  BOOST_TEST(t.params == ParamValues{"b"});
  BOOST_TEST(t.route(Method::GET, "/a/b/d") == 2u);
  BOOST_TEST(t.params.empty());
  // Abandoned branches leave no values behind.
  BOOST_TEST(t.route(Method::GET, "/a/b/e") == 3u);
  BOOST_TEST(t.params == (ParamValues{"a", "b"}));
  BOOST_TEST((t.match(Method::GET, "/a/b/f").status == Status::not_found));
  BOOST_TEST(t.params.empty());
}

BOOST_AUTO_TEST_CASE(method_falls_through_to_a_less_specific_pattern) {
  Table t;
  t.add("/a/b", {Method::GET}, 1);
  t.add("/a/{x}", {Method::POST}, 2);
  t.add("/{all*}", {Method::DELETE}, 3);
  BOOST_TEST(t.route(Method::POST, "/a/b") == 2u);
  BOOST_TEST(t.params == ParamValues{"b"});
  BOOST_TEST(t.route(Method::GET, "/a/b") == 1u);
  BOOST_TEST(t.route(Method::DELETE, "/a/b") == 3u);
  BOOST_TEST(t.params == ParamValues{"a/b"});
}

BOOST_AUTO_TEST_CASE(not_found_versus_method_not_allowed) {
  Table t;
  t.add("/a/{x}", {Method::GET}, 1);
  t.add("/a/b", {Method::PUT, Method::PATCH}, 2);
  t.add("/c", {Method::POST}, 3);

  MatchResult r = t.match(Method::DELETE, "/a/z");
  BOOST_TEST((r.status == Status::method_not_allowed));
  BOOST_TEST(r.allow.to_string() == "GET, HEAD");
  BOOST_TEST(t.params.empty());

  // The union over every pattern matching the path.
  r = t.match(Method::DELETE, "/a/b");
  BOOST_TEST((r.status == Status::method_not_allowed));
  BOOST_TEST(r.allow.to_string() == "GET, HEAD, PUT, PATCH");

  r = t.match(Method::GET, "/c");
  BOOST_TEST((r.status == Status::method_not_allowed));
  BOOST_TEST((r.allow == methods({Method::POST})));

  BOOST_TEST((t.match(Method::GET, "/d").status == Status::not_found));
  BOOST_TEST((t.match(Method::GET, "/a/b/c").status == Status::not_found));
  BOOST_TEST((t.match(Method::GET, "a/b").status == Status::not_found));
  BOOST_TEST((t.match(Method::GET, "").status == Status::not_found));
}

BOOST_AUTO_TEST_CASE(head_follows_get_unless_explicit) {
  Table t;
  t.add("/implicit", {Method::GET}, 1);
  t.add("/{x}", {Method::HEAD}, 2);  // a less specific explicit HEAD does not win
  BOOST_TEST(t.route(Method::HEAD, "/implicit") == 1u);

  // Explicit HEAD on the same shape wins, whatever the order of the add calls.
  t.add("/after/{a}", {Method::GET}, 3);
  BOOST_TEST(t.add("/after/{b}", {Method::HEAD}, 4));
  t.add("/before/{a}", {Method::HEAD}, 5);
  BOOST_TEST(t.add("/before/{b}", {Method::GET}, 6));
  BOOST_TEST(t.route(Method::HEAD, "/after/1") == 4u);
  BOOST_TEST(t.route(Method::GET, "/after/1") == 3u);
  BOOST_TEST(t.route(Method::HEAD, "/before/1") == 5u);
  BOOST_TEST(t.route(Method::GET, "/before/1") == 6u);

  // The implicit HEAD does not block an explicit one, but an explicit one blocks a second.
  BOOST_TEST(!t.add("/after/{c}", {Method::HEAD}, 7));
  BOOST_TEST(t.add("/both", {Method::GET, Method::HEAD}, 8));
  BOOST_TEST(t.route(Method::HEAD, "/both") == 8u);
}

BOOST_AUTO_TEST_CASE(root_route) {
  Table t;
  t.add("/", {Method::GET}, 1);
  t.add("/{x}", {Method::GET}, 2);
  BOOST_TEST(t.route(Method::GET, "/") == 1u);
  BOOST_TEST(t.params.empty());
  BOOST_TEST(t.route(Method::GET, "/a") == 2u);
  BOOST_TEST((t.match(Method::GET, "//").status == Status::not_found));
}

BOOST_AUTO_TEST_CASE(trailing_slash_is_an_extra_empty_segment) {
  Table t;
  t.add("/a", {Method::GET}, 1);
  t.add("/b/{x}", {Method::GET}, 2);
  BOOST_TEST(t.route(Method::GET, "/a") == 1u);
  BOOST_TEST((t.match(Method::GET, "/a/").status == Status::not_found));
  BOOST_TEST((t.match(Method::GET, "/b/1/").status == Status::not_found));
}

BOOST_AUTO_TEST_CASE(param_does_not_match_an_empty_segment) {
  Table t;
  t.add("/a/{x}", {Method::GET}, 1);
  t.add("/a/{x}/b", {Method::GET}, 2);
  BOOST_TEST((t.match(Method::GET, "/a/").status == Status::not_found));
  BOOST_TEST((t.match(Method::GET, "/a//b").status == Status::not_found));
  BOOST_TEST(t.route(Method::GET, "/a/x/b") == 2u);
}

BOOST_AUTO_TEST_CASE(percent_decoding_of_params_and_literals) {
  Table t;
  t.add("/files/{name}/raw", {Method::GET}, 1);
  t.add("/a b/{x}", {Method::GET}, 2);
  BOOST_TEST(t.route(Method::GET, "/files/a%2Fb%20c/raw") == 1u);
  BOOST_TEST(t.params == ParamValues{"a/b c"});
  BOOST_TEST(t.route(Method::GET, "/fil%65s/x/r%61w") == 1u);
  BOOST_TEST(t.params == ParamValues{"x"});
  BOOST_TEST(t.route(Method::GET, "/a%20b/%zz") == 2u);
  BOOST_TEST(t.params == ParamValues{"%zz"});
  // A decoded '/' stays inside its segment.
  BOOST_TEST((t.match(Method::GET, "/files%2Fx/raw").status == Status::not_found));
}

BOOST_AUTO_TEST_CASE(rest_captures_the_remainder) {
  Table t;
  t.add("/files/{rest*}", {Method::GET}, 1);
  t.add("/{id}/{all*}", {Method::GET}, 2);
  BOOST_TEST(t.route(Method::GET, "/files") == 1u);
  BOOST_TEST(t.params == ParamValues{""});
  BOOST_TEST(t.route(Method::GET, "/files/") == 1u);
  BOOST_TEST(t.params == ParamValues{""});
  BOOST_TEST(t.route(Method::GET, "/files/a/b%20c") == 1u);
  BOOST_TEST(t.params == ParamValues{"a/b c"});
  BOOST_TEST(t.route(Method::GET, "/files//x/") == 1u);
  BOOST_TEST(t.params == ParamValues{"/x/"});
  BOOST_TEST(t.route(Method::GET, "/7/x/y") == 2u);
  BOOST_TEST(t.params == (ParamValues{"7", "x/y"}));
  BOOST_TEST(t.route(Method::GET, "/7") == 2u);
  BOOST_TEST(t.params == (ParamValues{"7", ""}));
  BOOST_TEST((t.match(Method::GET, "/").status == Status::not_found));
}

BOOST_AUTO_TEST_CASE(add_conflicts_by_shape) {
  Table t;
  BOOST_TEST(t.add("/a/{x}", {Method::GET, Method::POST}, 1));
  BOOST_TEST(!t.add("/a/{y}", {Method::GET}, 2));
  BOOST_TEST(!t.add("/a/{y}", {Method::PUT, Method::POST}, 2));  // all or nothing
  BOOST_TEST(t.add("/a/{y}", {Method::PUT}, 3));
  BOOST_TEST(t.add("/a/{y*}", {Method::GET}, 4));  // another shape
  BOOST_TEST(!t.add("/a/{z*}", {Method::GET}, 5));
  BOOST_TEST(t.router.size() == 4u);
  BOOST_TEST(t.route(Method::GET, "/a/1") == 1u);
  BOOST_TEST(t.route(Method::PUT, "/a/1") == 3u);
  BOOST_TEST(t.route(Method::POST, "/a/1") == 1u);
}

BOOST_AUTO_TEST_CASE(a_table_of_100k_routes) {
  Router router;
  const uint32_t n = 100'000;
  uint32_t added = 0;
  PathPattern p;
  std::string error;
  for (uint32_t i = 0; i < n; ++i) {
    std::string s = std::to_string(i);
    std::string text = i % 2 ? "/svc" + s + "/items/{id}" : "/svc/" + s + "/v1/status";
    added += PathPattern::parse(text, p, error) && router.add(p, methods({Method::GET}), i);
  }
  BOOST_TEST(added == n);
  BOOST_TEST(router.size() == n);

  ParamValues params;
  for (uint32_t i : {0u, 1u, 4242u, 77777u, n - 2, n - 1}) {
    std::string s = std::to_string(i);
    std::string path = i % 2 ? "/svc" + s + "/items/x" + s : "/svc/" + s + "/v1/status";
    MatchResult r = router.match(Method::GET, path, params);
    BOOST_TEST((r.status == Status::found), path);
    BOOST_TEST(r.route == i);
    BOOST_TEST(params == (i % 2 ? ParamValues{"x" + s} : ParamValues{}));
  }
  BOOST_TEST((router.match(Method::GET, "/svc/100000/v1/status", params).status ==
              Status::not_found));
  BOOST_TEST((router.match(Method::POST, "/svc7/items/1", params).status ==
              Status::method_not_allowed));
}

BOOST_AUTO_TEST_CASE(move_keeps_the_routes) {
  Router a;
  BOOST_TEST(a.add(pattern("/x"), methods({Method::GET}), 9));
  Router b = std::move(a);
  ParamValues params;
  BOOST_TEST(b.match(Method::GET, "/x", params).route == 9u);
  BOOST_TEST(b.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
