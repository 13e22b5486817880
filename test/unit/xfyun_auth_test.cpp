// xfyun-hmac URL signing. The expected signatures were computed with Python's hmac/hashlib/
// base64 exactly as test/upstream/fake_xfyun.py verify_signature() checks them.
#include <chrono>
#include <map>
#include <string>

#include <boost/test/unit_test.hpp>

#include "http/router.hpp"
#include "services/xfyun_auth.hpp"
#include "util/base64.hpp"

using namespace aitools;
using services::XfyunCredentials;

namespace {

// Wed, 01 May 2024 08:00:00 GMT
const auto kWhen = std::chrono::system_clock::from_time_t(1714550400);
const XfyunCredentials kCredentials{"my-key", "my-secret"};

std::string sign(const std::string& url, const std::string& method = "GET") {
  return services::xfyun_sign_url(url, method, kCredentials, kWhen).value_or("<none>");
}

// The query parameters after the last '?', percent-decoded.
std::map<std::string, std::string> query_of(const std::string& url) {
  std::map<std::string, std::string> out;
  const std::string query = url.substr(url.find('?') + 1);
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    out[pair.substr(0, eq)] = http::percent_decode(pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

// The signature field inside the decoded authorization parameter.
std::string signature_of(const std::string& url) {
  const std::string origin = base64::decode(query_of(url)["authorization"]).value_or("");
  const std::string marker = "signature=\"";
  const size_t start = origin.find(marker) + marker.size();
  return origin.substr(start, origin.find('"', start) - start);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(xfyun_auth)

BOOST_AUTO_TEST_CASE(known_vector_matches_the_platform_scheme) {
  const std::string signed_url = sign("https://itrans.xf-yun.com/v1/its", "POST");
  BOOST_TEST(signed_url ==
             "https://itrans.xf-yun.com/v1/its?authorization="
             "YXBpX2tleT0ibXkta2V5IiwgYWxnb3JpdGhtPSJobWFjLXNoYTI1NiIsIGhlYWRlcnM9Imhvc3QgZGF0ZSBy"
             "ZXF1ZXN0LWxpbmUiLCBzaWduYXR1cmU9ImJHRWxhZEIxZmJhYUlGb3Q3eUFsUkJVa2VuVWpCeFhyV0Z3QldnRk"
             "JEOUU9Ig%3D%3D&date=Wed%2C%2001%20May%202024%2008%3A00%3A00%20GMT&host=itrans.xf-yun.com");
  BOOST_TEST(signature_of(signed_url) == "bGEladB1fbaaIFot7yAlRBUkenUjBxXrWFwBWgFBD9E=");
}

BOOST_AUTO_TEST_CASE(port_is_part_of_the_host_and_an_existing_query_is_kept) {
  const std::string signed_url = sign("http://127.0.0.1:8080/v2.1/tti?x=1&y=a%20b");
  BOOST_TEST(signed_url.rfind("http://127.0.0.1:8080/v2.1/tti?x=1&y=a%20b&authorization=", 0) == 0);
  auto query = query_of(signed_url);
  BOOST_TEST(query["host"] == "127.0.0.1:8080");
  BOOST_TEST(query["date"] == "Wed, 01 May 2024 08:00:00 GMT");
  // The query is not part of the request-line that is signed.
  BOOST_TEST(signature_of(signed_url) == "i2v6vSj3HfNlfS7aeQsk9fsH5fNccw2AFCUosuBtTq0=");
  const std::string origin = base64::decode(query["authorization"]).value_or("");
  BOOST_TEST(origin.rfind(R"(api_key="my-key", algorithm="hmac-sha256", headers="host date request-line", signature=")", 0) == 0);
}

BOOST_AUTO_TEST_CASE(default_port_is_left_out_like_the_host_header) {
  BOOST_TEST(query_of(sign("http://example.com:80/"))["host"] == "example.com");
  BOOST_TEST(query_of(sign("https://example.com:443/x"))["host"] == "example.com");
  BOOST_TEST(query_of(sign("https://example.com:8443/x"))["host"] == "example.com:8443");
}

BOOST_AUTO_TEST_CASE(empty_path_signs_the_root) {
  BOOST_TEST(signature_of(sign("http://example.com")) == "48E11qjKB5En7jgsJmxWFUzTem9tamcE4YOf/uU/rRU=");
  BOOST_TEST(signature_of(sign("HTTP://example.com/")) == "48E11qjKB5En7jgsJmxWFUzTem9tamcE4YOf/uU/rRU=");
}

BOOST_AUTO_TEST_CASE(bad_urls_are_refused) {
  for (const char* url : {"", "example.com/x", "ftp://example.com/", "http://", "http:///x",
                          "http://:80/x", "http://user@example.com/", "http://example.com:port/",
                          "http://example.com:123456/", "http://exa mple.com/",
                          "http://example.com/a\nb", "http://example.com/#frag"}) {
    BOOST_TEST(!services::xfyun_sign_url(url, "GET", kCredentials, kWhen), url);
  }
}

BOOST_AUTO_TEST_SUITE_END()
