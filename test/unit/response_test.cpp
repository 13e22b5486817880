// The bytes of a response as http::send writes them (http::render_response).
#include <memory>
#include <string>

#include <boost/test/unit_test.hpp>

#include "http/pistache_adapter.hpp"

using namespace aitools;

BOOST_AUTO_TEST_SUITE(response)

http::Response json_response(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

BOOST_AUTO_TEST_CASE(a_kept_alive_response_has_status_headers_length_and_body) {
  auto response = json_response(200, R"({"ok":true})");
  response.headers = {{"X-Tool", "echo"}};
  http::ReplyFrame frame;
  frame.extra_lines = std::make_shared<const std::string>("X-Route-Generation: 7\r\n");
  BOOST_TEST(http::render_response(frame, response, false) ==
             "HTTP/1.1 200 OK\r\n"
             "Content-Type: application/json\r\n"
             "X-Tool: echo\r\n"
             "X-Route-Generation: 7\r\n"
             "Connection: keep-alive\r\n"
             "Content-Length: 11\r\n"
             "\r\n"
             R"({"ok":true})");
}

BOOST_AUTO_TEST_CASE(head_gets_the_length_of_the_body_it_does_not_get) {
  http::ReplyFrame frame;
  frame.head = true;
  BOOST_TEST(http::render_response(frame, json_response(404, "{}"), false) ==
             "HTTP/1.1 404 Not Found\r\n"
             "Content-Type: application/json\r\n"
             "Connection: keep-alive\r\n"
             "Content-Length: 2\r\n"
             "\r\n");
}

BOOST_AUTO_TEST_CASE(closing_says_close_and_http10_is_answered_in_http10) {
  http::ReplyFrame frame;
  BOOST_TEST(http::render_response(frame, json_response(413, ""), true).find("Connection: close\r\n") !=
             std::string::npos);
  frame.http10 = true;
  frame.keep_alive = false;
  http::Response plain;
  plain.status = 204;
  const std::string text = http::render_response(frame, plain, false);
  BOOST_TEST(text ==
             "HTTP/1.0 204 No Content\r\n"
             "Connection: close\r\n"
             "Content-Length: 0\r\n"
             "\r\n");
}

// RFC 9112: status-line = HTTP-version SP status-code SP [ reason-phrase ].
BOOST_AUTO_TEST_CASE(a_status_without_a_reason_phrase_keeps_its_number) {
  const std::string text = http::render_response({}, json_response(299, "{}"), false);
  BOOST_TEST(text.substr(0, text.find("\r\n")) == "HTTP/1.1 299 ");
}

BOOST_AUTO_TEST_SUITE_END()
