// The Polaris protocol pieces (config/polaris.hpp): the requests the source sends, the session
// cookie, and what a download answer yields. The actor and a real centre: the integration
// suite `polaris` (test/upstream/fake_polaris.py).
#include <boost/test/unit_test.hpp>

#include <rapidjson/document.h>

#include "config/polaris.hpp"

using namespace aitools;

namespace {

config::RemoteSnapshot downloaded(std::string_view body, const std::string& name = "aitools.env") {
  config::RemoteSnapshot snapshot;
  std::string error;
  BOOST_TEST_REQUIRE(polaris::parse_download(body, name, snapshot, error), error);
  BOOST_TEST(error.empty());
  return snapshot;
}

std::string download_error(std::string_view body) {
  config::RemoteSnapshot snapshot;
  std::string error;
  BOOST_TEST(!polaris::parse_download(body, "aitools.env", snapshot, error));
  return error;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(polaris_unit)

BOOST_AUTO_TEST_CASE(download_url_encodes_every_filter_value) {
  const polaris::Filter filter{"my project", "a&b=c", "ai/tools", "1.0.0+x", "config é.env"};
  BOOST_TEST(polaris::download_url("http://centre:8080/base", filter) ==
             "http://centre:8080/base/config/download?project=my%20project&cluster=a%26b%3Dc"
             "&service=ai%2Ftools&version=1.0.0%2Bx&configName=config%20%C3%A9.env");
  // Empty values are sent empty, not left out.
  BOOST_TEST(polaris::download_url("http://c", polaris::Filter{}) ==
             "http://c/config/download?project=&cluster=&service=&version=&configName=");
}

BOOST_AUTO_TEST_CASE(filter_names_the_env_file_unless_config_file_is_set) {
  config::Settings settings;
  settings.project_name = "p";
  settings.polaris_cluster = "dev";
  const polaris::Filter named = polaris::filter_from(settings, "/etc/aitools/prod.env");
  BOOST_TEST(named.project == "p");
  BOOST_TEST(named.cluster == "dev");
  BOOST_TEST(named.service == "aitools");
  BOOST_TEST(named.version == "1.0.0");
  BOOST_TEST(named.config_name == "prod.env");
  settings.config_file = "shared.env";
  BOOST_TEST(polaris::filter_from(settings, "/etc/aitools/prod.env").config_name == "shared.env");
}

BOOST_AUTO_TEST_CASE(login_request) {
  BOOST_TEST(polaris::login_url("https://centre/p") == "https://centre/p/api/v1/user/login");
  const std::string body = polaris::login_body("https://centre/p", "ops\"1", "pa\\ss");
  rapidjson::Document json;
  json.Parse(body.c_str());
  BOOST_TEST_REQUIRE(json.IsObject(), body);
  BOOST_TEST(json.MemberCount() == 3u);
  BOOST_TEST(json["addr"].GetString() == std::string("https://centre/p"));
  BOOST_TEST(json["account"].GetString() == std::string("ops\"1"));
  BOOST_TEST(json["password"].GetString() == std::string("pa\\ss"));
}

BOOST_AUTO_TEST_CASE(session_cookie_among_several_set_cookie_headers) {
  const http::HeaderList headers = {
      {"Content-Type", "application/json"},
      {"set-cookie", "theme=light; Path=/"},
      {"Set-Cookie", "JSESSIONID=ABC123; Path=/; HttpOnly; Secure"},
      {"SET-COOKIE", "other=1"}};
  BOOST_TEST(polaris::session_cookie(headers).value_or("<none>") == "ABC123");
  BOOST_TEST(polaris::cookie_header("ABC123") == "JSESSIONID=ABC123");
}

BOOST_AUTO_TEST_CASE(session_cookie_edge_cases) {
  // None at all, only look-alikes, a cleared one.
  BOOST_TEST(!polaris::session_cookie({}).has_value());
  BOOST_TEST(!polaris::session_cookie({{"Set-Cookie", "XJSESSIONID=1"},
                                       {"Set-Cookie", "theme=JSESSIONID=2"},
                                       {"Cookie", "JSESSIONID=3"},
                                       {"Set-Cookie", "JSESSIONID=; Max-Age=0"}})
                  .has_value());
  // The last non-empty one wins; spaces around the name and value are dropped.
  BOOST_TEST(polaris::session_cookie({{"Set-Cookie", " JSESSIONID = old ;Path=/"},
                                      {"Set-Cookie", "JSESSIONID=new"},
                                      {"Set-Cookie", "JSESSIONID=; Max-Age=0"}})
                 .value_or("<none>") == "new");
}

BOOST_AUTO_TEST_CASE(session_expiry_is_401_403_or_a_redirect_to_login) {
  BOOST_TEST(polaris::session_expired(401, {}));
  BOOST_TEST(polaris::session_expired(403, {}));
  BOOST_TEST(polaris::session_expired(302, {{"location", "/Login?next=/config/download"}}));
  BOOST_TEST(!polaris::session_expired(302, {{"Location", "/elsewhere"}}));
  BOOST_TEST(!polaris::session_expired(200, {{"Location", "/login"}}));
  BOOST_TEST(!polaris::session_expired(404, {}));
  BOOST_TEST(!polaris::session_expired(500, {}));
}

BOOST_AUTO_TEST_CASE(download_content_becomes_values_with_origins) {
  const auto snapshot = downloaded(
      R"({"code": 0, "message": "success", "data": {"content": )"
      R"("# comment\nA=1\n\nB=\"x y\"\nA=2\nexport C='z'\n"}})",
      "prod.env");
  BOOST_TEST(snapshot.values.size() == 3u);
  BOOST_TEST(snapshot.values.at("A").text == "2");  // the last one wins
  BOOST_TEST(snapshot.values.at("A").origin == "polaris prod.env:5");
  BOOST_TEST(snapshot.values.at("B").text == "x y");
  BOOST_TEST(snapshot.values.at("B").origin == "polaris prod.env:4");
  BOOST_TEST(snapshot.values.at("C").text == "z");
  BOOST_TEST(snapshot.manifests.empty());
  BOOST_TEST(snapshot.revision == 0);
  BOOST_TEST(snapshot.version == polaris::content_digest(snapshot.values));
  BOOST_TEST(snapshot.version.size() == 16u);
}

BOOST_AUTO_TEST_CASE(download_without_content_is_an_empty_set) {
  for (const std::string_view body :
       {R"({"data": {"content": ""}})", R"({"data": {}})", R"({"data": null})", R"({})",
        R"({"code": 0, "data": {"content": null}})"}) {
    BOOST_TEST_CONTEXT(body) {
      const auto snapshot = downloaded(body);
      BOOST_TEST(snapshot.values.empty());
      BOOST_TEST(snapshot.version == polaris::content_digest({}));
    }
  }
}

BOOST_AUTO_TEST_CASE(download_errors_say_what_is_wrong) {
  std::string error = download_error("<html>login</html>");
  BOOST_TEST(contains(error, "download: not JSON at offset 0"), error);
  BOOST_TEST(contains(error, "<html>login</html>"), error);
  error = download_error(R"({"data": {"content": "A=1"})");
  BOOST_TEST(contains(error, "download: not JSON at offset 27"), error);
  BOOST_TEST(contains(download_error(""), "an empty body"));
  BOOST_TEST(contains(download_error("[1]"), "expected a JSON object"));
  BOOST_TEST(contains(download_error(R"({"data": "A=1"})"), "data: expected an object"));
  BOOST_TEST(contains(download_error(R"({"data": {"content": 5}})"),
                      "data.content: expected a string"));
  error = download_error(R"({"code": 404, "message": "no such config"})");
  BOOST_TEST(contains(error, "code 404: no such config"), error);
  // A long body is cut, on one line.
  error = download_error(std::string(500, 'x') + "\n");
  BOOST_TEST(contains(error, std::string(200, 'x') + "..."), error);
  BOOST_TEST(!contains(error, std::string(201, 'x')), error);
}

BOOST_AUTO_TEST_CASE(download_with_an_invalid_dotenv_line_names_it) {
  const std::string error = download_error(R"({"data": {"content": "A=1\nB=2\nnot a line\n"}})");
  BOOST_TEST(contains(error, "download: aitools.env:3: "), error);
  BOOST_TEST(contains(error, "expected"), error);
}

BOOST_AUTO_TEST_CASE(digest_depends_on_content_not_order_or_origin) {
  const auto ab = downloaded(R"({"data": {"content": "A=1\nB=2\n"}})");
  const auto ba = downloaded(R"({"data": {"content": "# moved\nB=2\nA=1\n"}})");
  BOOST_TEST(ab.version == ba.version);
  BOOST_TEST(ab.values.at("A").origin != ba.values.at("A").origin);
  BOOST_TEST(downloaded(R"({"data": {"content": "A=1\nB=3\n"}})").version != ab.version);
  BOOST_TEST(downloaded(R"({"data": {"content": "A=1\n"}})").version != ab.version);
  // Keys and values are delimited: moving a character between them changes the digest.
  const config::RemoteValues split_one = {{"AB", {"1", ""}}};
  const config::RemoteValues split_two = {{"A", {"B1", ""}}};
  BOOST_TEST(polaris::content_digest(split_one) != polaris::content_digest(split_two));
}

BOOST_AUTO_TEST_CASE(http_error_is_one_short_line) {
  BOOST_TEST(polaris::http_error(401, R"({"message": "bad"})") ==
             R"(HTTP 401: {"message": "bad"})");
  BOOST_TEST(polaris::http_error(502, "") == "HTTP 502");
  BOOST_TEST(polaris::http_error(500, "a\nb\r\n") == "HTTP 500: a b  ");
  // Invalid UTF-8 does not reach a log line or JSON status as such.
  BOOST_TEST(polaris::http_error(500, "\xff\xfe" "ok") == "HTTP 500: ??ok");
}

BOOST_AUTO_TEST_SUITE_END()
