// The AITools envelope (codes, statuses, sid) and base64.
#include <set>
#include <string>

#include <boost/test/unit_test.hpp>
#include <rapidjson/document.h>

#include "http/envelope.hpp"
#include "util/base64.hpp"

using namespace aitools;

BOOST_AUTO_TEST_SUITE(envelope)

BOOST_AUTO_TEST_CASE(base64_round_trips_every_length_and_byte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    BOOST_TEST(base64::decode(base64::encode(bytes)).value_or("<none>") == bytes);
    bytes += static_cast<char>((i * 37) & 255);
  }
  BOOST_TEST(base64::encode("") == "");
  BOOST_TEST(base64::encode("f") == "Zg==");
  BOOST_TEST(base64::encode("fo") == "Zm8=");
  BOOST_TEST(base64::encode("foobar") == "Zm9vYmFy");
  BOOST_TEST(base64::decode("Zm8").value_or("<none>") == "fo");  // unpadded
}

BOOST_AUTO_TEST_CASE(base64_refuses_what_is_not_base64) {
  BOOST_TEST(!base64::decode("Zm9v YmFy"));  // whitespace
  BOOST_TEST(!base64::decode("Zm9v\nYmFy"));
  BOOST_TEST(!base64::decode("Z"));          // a lone 6 bits is no byte
  BOOST_TEST(!base64::decode("Zg==Zg=="));   // padding inside
  BOOST_TEST(!base64::decode("Zm9v-_"));     // the URL alphabet is not this one
  BOOST_TEST(!base64::decode("a==="));
}

BOOST_AUTO_TEST_CASE(codes_map_to_fitting_statuses) {
  BOOST_TEST(http::status_for(http::code::success) == 200);
  BOOST_TEST(http::status_for(http::code::params) == 400);
  BOOST_TEST(http::status_for(http::code::internal) == 500);
  BOOST_TEST(http::status_for(http::code::local) == 500);
  BOOST_TEST(http::status_for(http::code::response) == 502);
  BOOST_TEST(http::status_for(http::code::upstream_http) == 502);
  BOOST_TEST(http::status_for(http::code::upstream_http, true) == 504);
  BOOST_TEST(http::status_for(http::code::upstream_connection, true) == 504);
  BOOST_TEST(http::status_for(http::code::upstream_auth) == 502);
  BOOST_TEST(http::status_for(http::code::upstream_auth, true) == 502);  // a refusal is no timeout
  BOOST_TEST(http::status_for(http::code::text_empty) == 400);
  BOOST_TEST(http::status_for(http::code::text_too_long) == 413);
  BOOST_TEST(http::status_for(http::code::language_pair) == 400);
  BOOST_TEST(http::status_for(http::code::translation_api) == 502);
  BOOST_TEST(http::status_for(http::code::translation_network, true) == 504);
  BOOST_TEST(http::status_for(12345) == 500);  // unknown codes are internal errors
}

BOOST_AUTO_TEST_CASE(sids_are_unique_and_share_the_process_prefix) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) BOOST_TEST_REQUIRE(seen.insert(http::new_sid()).second);
  const std::string a = http::new_sid(), b = http::new_sid();
  BOOST_TEST(a.rfind("ait", 0) == 0);
  BOOST_TEST(a.substr(0, 11) == b.substr(0, 11));  // "ait" + the 8 hex digits fixed at start
}

BOOST_AUTO_TEST_CASE(envelope_is_json_with_the_sid_in_body_and_header) {
  auto response = http::envelope(http::code::params, "text \"x\" is\nbad", R"({"k":[1,2]})",
                                 "ait123", "/aitools/v1/t");
  BOOST_TEST(response.status == 400);
  BOOST_TEST(response.content_type == "application/json");
  BOOST_TEST_REQUIRE(response.headers.size() == 1u);
  BOOST_TEST(response.headers[0].first == "X-Sid");
  BOOST_TEST(response.headers[0].second == "ait123");
  rapidjson::Document body;
  BOOST_TEST_REQUIRE(!body.Parse(response.body.c_str()).HasParseError());
  BOOST_TEST(body["code"].GetInt() == 45001);
  BOOST_TEST(std::string(body["message"].GetString()) == "text \"x\" is\nbad");
  BOOST_TEST(body["data"]["k"][1].GetInt() == 2);
  BOOST_TEST(std::string(body["sid"].GetString()) == "ait123");

  auto empty = http::envelope(http::code::success, "success", "", "s", "/p");
  BOOST_TEST(empty.status == 200);
  BOOST_TEST(empty.body == R"({"code":0,"message":"success","data":null,"sid":"s"})");
  BOOST_TEST(http::envelope(http::code::upstream_connection, "down", "", "s", "/p", true).status ==
             504);
}

BOOST_AUTO_TEST_SUITE_END()
