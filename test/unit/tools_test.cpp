// The tool kinds: translation and image_generate (request checks, the upstream request they
// build, how the upstream's answers and failures map to codes and statuses, the handler from
// request to envelope through a stand-in upstream actor), and the files kind that serves the
// images.
#include <filesystem>
#include <fstream>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <rapidjson/document.h>

#include "services/catalog.hpp"
#include "services/files_kind.hpp"
#include "services/tool_kinds.hpp"
#include "test/unit/call_handler.hpp"
#include "util/base64.hpp"
#include "util/log.hpp"

using namespace aitools;
using namespace aitools::services;
using Error = UpstreamResult::Error;

namespace {

struct PostRequest final : http::Request {
  explicit PostRequest(std::string body, std::string path = "/aitools/v1/tool")
      : body_(std::move(body)), path_(std::move(path)) {}
  std::string_view method() const override { return "POST"; }
  std::string_view path() const override { return path_; }
  http::HeaderList query() const override { return {}; }
  http::HeaderList headers() const override { return {}; }
  std::optional<std::string> header(std::string_view) const override { return std::nullopt; }
  std::string_view body() const override { return body_; }

  std::string body_;
  std::string path_;
};

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  BOOST_REQUIRE_MESSAGE(!document.HasParseError(), "not JSON: " + text);
  return document;
}

std::string text_of(const rapidjson::Value& value) {
  return value.IsString() ? std::string(value.GetString(), value.GetStringLength()) : "<not a string>";
}

UpstreamResult http_answer(int status, std::string body) {
  UpstreamResult result;
  result.status = status;
  result.body = std::move(body);
  return result;
}

UpstreamResult transport_failure(Error error) {
  UpstreamResult result;
  result.error = error;
  result.error_text = "curl says no";
  return result;
}

// The its API's answer carrying `dst` (as the platform documents it, and as
// test/upstream/fake_xfyun.py sends it).
std::string its_answer(const std::string& dst) {
  const std::string inner =
      R"({"from":"cn","to":"en","trans_result":{"src":"你好","dst":")" + dst + R"("}})";
  return R"({"header":{"code":0,"message":"success","sid":"its0001"},"payload":{"result":)"
         R"({"seq":"0","status":"3","text":")" + base64::encode(inner) + R"("}}})";
}

const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + "rest of a png";

std::string tti_answer(const std::string& image) {
  return R"({"header":{"code":0,"message":"Success","sid":"tti0001","status":2},)"
         R"("payload":{"choices":{"status":2,"seq":0,"text":[{"content":")" +
         base64::encode(image) + R"(","index":0,"role":"assistant"}]}}})";
}

translation::Input valid_translation_input() {
  ToolAnswer failure;
  auto input = translation::parse_request(R"({"text":"你好","target_language":"en"})", failure);
  BOOST_REQUIRE(input);
  return *input;
}

ToolAnswer translation_failure(const std::string& body) {
  ToolAnswer failure;
  BOOST_TEST(!translation::parse_request(body, failure), body);
  return failure;
}

ToolAnswer image_request_failure(const std::string& body) {
  ToolAnswer failure;
  BOOST_TEST(!image_generate::parse_request(body, failure), body);
  return failure;
}

ToolAnswer image_answer_failure(const UpstreamResult& result) {
  ToolAnswer failure;
  BOOST_TEST(!image_generate::image(result, failure));
  return failure;
}

int status_of(const ToolAnswer& answer) { return http::status_for(answer.code, answer.timed_out); }

// A directory under /tmp removed with everything in it.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char name[] = "/tmp/aitools-tools-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(name));
    path = name;
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path + "/" + name, std::ios::binary) << content;
  }
  std::set<std::string> names() const {
    std::set<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(path))
      found.insert(entry.path().filename().string());
    return found;
  }
};

std::string compile_error(const ServiceKind& kind, const std::string& options_json,
                          RouteInfo route = {"/aitools/v1/x", {}}) {
  rapidjson::Document options;
  options.Parse(options_json.c_str());
  std::string error;
  BOOST_TEST(!kind.compile(&options, route, error), options_json);
  return error;
}

RouteHandlerPtr compile(const ServiceKind& kind, const std::string& options_json,
                        RouteInfo route = {"/aitools/v1/x", {}}) {
  rapidjson::Document options;
  options.Parse(options_json.c_str());
  std::string error;
  auto handler = kind.compile(&options, route, error);
  BOOST_REQUIRE_MESSAGE(handler, error);
  return handler;
}

// An upstream actor that records each request and answers it with `reply`, calling `done` on
// its own thread as the real one does.
struct UpstreamFixture {
  const config::LogLevel saved_level = log::level();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<std::vector<UpstreamRequest>> seen = std::make_shared<std::vector<UpstreamRequest>>();
  std::function<UpstreamResult(const UpstreamRequest&)> reply;
  upstream_actor upstream;

  UpstreamFixture() {
    log::set_level(config::LogLevel::error);
    upstream = sys.spawn([this](upstream_actor::pointer) -> upstream_actor::behavior_type {
      return {[seen = seen, this](fetch_atom, const UpstreamCallPtr& call) {
        seen->push_back(call->request);
        call->done(reply(call->request));
      }};
    });
  }
  ~UpstreamFixture() {
    caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
    log::set_level(saved_level);
  }
};

constexpr const char* kEndpoint =
    R"("url": "http://127.0.0.1:9/v1/its", "app_id": "app", "api_key": "key", "api_secret": "secret")";

}  // namespace

BOOST_AUTO_TEST_SUITE(tools_unit)

// ---- text ----

BOOST_AUTO_TEST_CASE(code_points_are_counted_not_bytes) {
  BOOST_TEST(count_code_points("") == 0u);
  BOOST_TEST(count_code_points("abc") == 3u);
  BOOST_TEST(count_code_points("你好") == 2u);          // 6 bytes
  BOOST_TEST(count_code_points("a\xF0\x9F\x98\x80") == 2u);  // an emoji is 4 bytes, 1 code point
  BOOST_TEST(first_code_points("你好吗", 2) == "你好");
  BOOST_TEST(first_code_points("ab", 5) == "ab");
  BOOST_TEST(first_code_points("a\xF0\x9F\x98\x80z", 2) == "a\xF0\x9F\x98\x80");
}

// ---- translation: the request ----

BOOST_AUTO_TEST_CASE(the_language_table_has_the_platform_codes_once_each) {
  const auto& codes = translation::languages();
  BOOST_TEST(codes.size() >= 60u);
  BOOST_TEST(std::set<std::string_view>(codes.begin(), codes.end()).size() == codes.size());
  for (const char* code : {"cn", "en", "ja", "ko", "ru", "fr", "es", "ar", "de", "it", "yue"})
    BOOST_TEST(translation::is_supported_language(code), code);
  for (const char* code : {"", "zh", "CN", "english", "xx"})
    BOOST_TEST(!translation::is_supported_language(code), code);
}

BOOST_AUTO_TEST_CASE(a_valid_request_defaults_the_source_to_cn) {
  auto input = valid_translation_input();
  BOOST_TEST(input.text == "你好");
  BOOST_TEST(input.source_language == "cn");
  BOOST_TEST(input.target_language == "en");
  ToolAnswer failure;
  auto reverse =
      translation::parse_request(R"({"text":"hi","source_language":"en","target_language":"cn"})", failure);
  BOOST_REQUIRE(reverse);
  BOOST_TEST(reverse->source_language == "en");
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_the_documented_object_is_45001) {
  for (const char* body : {"", "{", "[1]", "\"text\"", R"({"target_language":"en"})",
                           R"({"text":7,"target_language":"en"})", R"({"text":"hi"})",
                           R"({"text":"hi","target_language":["en"]})",
                           R"({"text":"hi","target_language":"en","source_language":null})",
                           "{\"text\":\"\xFF\",\"target_language\":\"en\"}"}) {
    auto failure = translation_failure(body);
    BOOST_TEST(failure.code == http::code::params, body);
    BOOST_TEST(status_of(failure) == 400);
  }
  BOOST_TEST(translation_failure(R"({"target_language":"en"})").message ==
             "text: expected a string (required)");
  BOOST_TEST(translation_failure(R"({"text":7,"target_language":"en"})").message ==
             "text: expected a string");
}

BOOST_AUTO_TEST_CASE(blank_text_is_45250) {
  for (const char* text : {"", "   ", "\\t\\n", "\u3000\u00a0 "}) {
    auto failure = translation_failure(std::string(R"({"target_language":"en","text":")") + text + "\"}");
    BOOST_TEST(failure.code == http::code::text_empty, text);
    BOOST_TEST(failure.message.rfind("翻译文本不能为空", 0) == 0u, failure.message);
    BOOST_TEST(status_of(failure) == 400);
  }
}

BOOST_AUTO_TEST_CASE(the_5000_limit_counts_code_points) {
  auto body = [](const std::string& text) {
    return R"({"target_language":"en","text":")" + text + "\"}";
  };
  std::string chinese;
  for (int i = 0; i < 5000; ++i) chinese += "字";  // 15000 bytes, 5000 code points
  ToolAnswer failure;
  BOOST_TEST(translation::parse_request(body(chinese), failure).has_value());
  BOOST_TEST(translation::parse_request(body(std::string(5000, 'a')), failure).has_value());
  for (const std::string& text : {chinese + "字", std::string(5001, 'a')}) {
    auto too_long = translation_failure(body(text));
    BOOST_TEST(too_long.code == http::code::text_too_long);
    BOOST_TEST(too_long.message.find("5001 characters") != std::string::npos, too_long.message);
    BOOST_TEST(status_of(too_long) == 413);
  }
}

BOOST_AUTO_TEST_CASE(unknown_languages_and_pairs_without_cn_are_45252) {
  for (const char* body : {R"({"text":"hi","target_language":"xx"})",
                           R"({"text":"hi","target_language":"EN"})",
                           R"({"text":"hi","source_language":"zz","target_language":"cn"})",
                           R"({"text":"hi","source_language":"en","target_language":"ja"})"}) {
    auto failure = translation_failure(body);
    BOOST_TEST(failure.code == http::code::language_pair, body);
    BOOST_TEST(failure.message.rfind("不支持的语言组合: ", 0) == 0u, failure.message);
    BOOST_TEST(status_of(failure) == 400);
  }
  BOOST_TEST(translation_failure(R"({"text":"hi","source_language":"en","target_language":"ja"})")
                 .message.find("en -> ja: the source or the target language must be cn") !=
             std::string::npos);
  BOOST_TEST(translation_failure(R"({"text":"hi","target_language":"xx"})")
                 .message.find("\"xx\" is not a supported language; expected one of cn, en,") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_upstream_body_is_the_its_format) {
  auto input = valid_translation_input();
  auto body = parse(translation::upstream_body(input, "my-app"));
  BOOST_TEST(text_of(body["header"]["app_id"]) == "my-app");
  BOOST_TEST(body["header"]["status"].GetInt() == 3);
  BOOST_TEST(text_of(body["parameter"]["its"]["from"]) == "cn");
  BOOST_TEST(text_of(body["parameter"]["its"]["to"]) == "en");
  BOOST_TEST(body["parameter"]["its"]["result"].IsObject());
  const auto& data = body["payload"]["input_data"];
  BOOST_TEST(text_of(data["encoding"]) == "utf8");
  BOOST_TEST(data["status"].GetInt() == 3);
  BOOST_TEST(base64::decode(text_of(data["text"])).value_or("<bad>") == "你好");
}

// ---- translation: the answer ----

BOOST_AUTO_TEST_CASE(a_translation_answers_the_predecessors_data) {
  auto answer = translation::answer(http_answer(200, its_answer("Hello")), valid_translation_input());
  BOOST_TEST(answer.code == 0);
  BOOST_TEST(answer.message == "success");
  auto data = parse(answer.data);
  BOOST_TEST(text_of(data["original_text"]) == "你好");
  BOOST_TEST(text_of(data["translated_text"]) == "Hello");
  BOOST_TEST(text_of(data["source_language"]) == "cn");
  BOOST_TEST(text_of(data["target_language"]) == "en");
}

BOOST_AUTO_TEST_CASE(a_platform_error_code_is_45253) {
  auto answer = translation::answer(
      http_answer(200, R"({"header":{"code":10163,"message":"request data format error"}})"),
      valid_translation_input());
  BOOST_TEST(answer.code == http::code::translation_api);
  BOOST_TEST(answer.message == "翻译API调用失败: header.code 10163: request data format error");
  BOOST_TEST(status_of(answer) == 502);
}

BOOST_AUTO_TEST_CASE(an_answer_that_cannot_be_decoded_is_45254) {
  const std::string not_base64 = R"({"header":{"code":0},"payload":{"result":{"text":"%%%"}}})";
  const std::string not_json_inside = R"({"header":{"code":0},"payload":{"result":{"text":")" +
                                      base64::encode("no json") + "\"}}}";
  const std::string no_dst = R"({"header":{"code":0},"payload":{"result":{"text":")" +
                             base64::encode(R"({"trans_result":{"src":"x"}})") + "\"}}}";
  for (const std::string& body :
       {std::string("<html>busy</html>"), std::string("[]"), std::string(R"({"payload":{}})"),
        std::string(R"({"header":{"code":"0"}})"), std::string(R"({"header":{"code":0}})"),
        std::string(R"({"header":{"code":0},"payload":{"result":{"text":5}}})"), not_base64,
        not_json_inside, no_dst}) {
    auto answer = translation::answer(http_answer(200, body), valid_translation_input());
    BOOST_TEST(answer.code == http::code::translation_format, body);
    BOOST_TEST(answer.message.rfind("翻译API返回数据格式错误: ", 0) == 0u, answer.message);
    BOOST_TEST(status_of(answer) == 502);
  }
}

BOOST_AUTO_TEST_CASE(translation_upstream_failures_map_to_45253_to_45256) {
  const auto input = valid_translation_input();
  struct Case {
    UpstreamResult result;
    int code;
    int status;
  };
  const Case cases[] = {
      {http_answer(401, R"({"message":"HMAC signature cannot be verified"})"), http::code::translation_auth, 502},
      {http_answer(403, "{}"), http::code::translation_auth, 502},
      {http_answer(500, "upstream exploded"), http::code::translation_api, 502},
      {http_answer(404, "{}"), http::code::translation_api, 502},
      {transport_failure(Error::protocol), http::code::translation_api, 502},
      {transport_failure(Error::too_large), http::code::translation_api, 502},
      {transport_failure(Error::connect), http::code::translation_network, 502},
      {transport_failure(Error::tls), http::code::translation_network, 502},
      {transport_failure(Error::timeout), http::code::translation_network, 504},
  };
  for (const Case& c : cases) {
    auto answer = translation::answer(c.result, input);
    BOOST_TEST(answer.code == c.code, answer.message);
    BOOST_TEST(status_of(answer) == c.status, answer.message);
    BOOST_TEST(answer.data.empty());
  }
  BOOST_TEST(translation::answer(transport_failure(Error::connect), input).message ==
             "翻译服务网络连接失败: cannot reach the upstream (connect): curl says no");
}

// ---- image_generate ----

BOOST_AUTO_TEST_CASE(image_requests_default_to_1024_and_keep_width_and_height_apart) {
  ToolAnswer failure;
  auto square = image_generate::parse_request(R"({"prompt":"a cat"})", failure);
  BOOST_REQUIRE(square);
  BOOST_TEST(square->width == 1024);
  BOOST_TEST(square->height == 1024);
  auto wide = image_generate::parse_request(R"({"prompt":"a cat","width":1280,"height":720})", failure);
  BOOST_REQUIRE(wide);
  auto body = parse(image_generate::upstream_body(*wide, "my-app"));
  BOOST_TEST(text_of(body["header"]["app_id"]) == "my-app");
  BOOST_TEST(text_of(body["parameter"]["chat"]["domain"]) == "general");
  BOOST_TEST(body["parameter"]["chat"]["width"].GetInt() == 1280);  // the predecessor sent 720
  BOOST_TEST(body["parameter"]["chat"]["height"].GetInt() == 720);
  BOOST_TEST(text_of(body["payload"]["message"]["text"][0]["role"]) == "user");
  BOOST_TEST(text_of(body["payload"]["message"]["text"][0]["content"]) == "a cat");
}

BOOST_AUTO_TEST_CASE(long_prompts_are_cut_to_510_code_points) {
  std::string prompt;
  for (int i = 0; i < 600; ++i) prompt += "猫";
  ToolAnswer failure;
  auto input = image_generate::parse_request(R"({"prompt":")" + prompt + "\"}", failure);
  BOOST_REQUIRE(input);
  BOOST_TEST(count_code_points(input->prompt) == 510u);
  BOOST_TEST(input->prompt.size() == 510u * 3);
}

BOOST_AUTO_TEST_CASE(bad_image_requests_are_45001) {
  for (const char* body : {"nope", "[]", "{}", R"({"prompt":""})", R"({"prompt":5})",
                           R"({"prompt":"x","width":1000,"height":1000})",
                           R"({"prompt":"x","width":"1024"})", R"({"prompt":"x","height":1024.5})",
                           R"({"prompt":"x","width":720,"height":720})"}) {
    auto failure = image_request_failure(body);
    BOOST_TEST(failure.code == http::code::params, body);
    BOOST_TEST(status_of(failure) == 400);
  }
  BOOST_TEST(image_request_failure(R"({"prompt":"x","width":7})").message ==
             "width, height: expected integers forming one of 512x512, 640x360, 640x480, 640x640, "
             "680x512, 512x680, 768x768, 720x1280, 1280x720, 1024x1024");
  BOOST_TEST(image_request_failure("{}").message == "prompt: expected a non-empty string");
}

BOOST_AUTO_TEST_CASE(the_image_comes_out_of_the_tti_answer) {
  ToolAnswer failure;
  auto bytes = image_generate::image(http_answer(200, tti_answer(kPng)), failure);
  BOOST_REQUIRE(bytes);
  BOOST_TEST(*bytes == kPng);
  BOOST_TEST(image_generate::image_extension(kPng) == "png");
  BOOST_TEST(image_generate::image_extension("\xFF\xD8\xFF\xE0 jfif") == "jpg");
  BOOST_TEST(image_generate::image_extension("GIF89a") == "");
  BOOST_TEST(image_generate::image_extension("") == "");
  auto data = parse(image_generate::answer_data("http://h:1/aitools/v1/images", "ab12.png"));
  BOOST_TEST(text_of(data["image_url"]) == "http://h:1/aitools/v1/images/ab12.png");
  BOOST_TEST(text_of(data["image_url_md"]) == "![](http://h:1/aitools/v1/images/ab12.png)");
}

BOOST_AUTO_TEST_CASE(image_failures_map_to_45002_and_the_upstream_codes) {
  struct Case {
    UpstreamResult result;
    int code;
    int status;
  };
  const Case cases[] = {
      {http_answer(200, R"({"header":{"code":10021,"message":"input audit failed"}})"), http::code::response, 502},
      {http_answer(200, "not json"), http::code::response, 502},
      {http_answer(200, R"({"header":{"code":0},"payload":{"choices":{"text":[]}}})"), http::code::response, 502},
      {http_answer(200, tti_answer("GIF89a not a png")), http::code::response, 502},
      {http_answer(200, R"({"header":{"code":0},"payload":{"choices":{"text":[{"content":"@@"}]}}})"),
       http::code::response, 502},
      {http_answer(401, "{}"), http::code::upstream_auth, 502},
      {http_answer(503, "{}"), http::code::upstream_http, 502},
      {transport_failure(Error::protocol), http::code::upstream_http, 502},
      {transport_failure(Error::connect), http::code::upstream_connection, 502},
      {transport_failure(Error::timeout), http::code::upstream_connection, 504},
  };
  for (const Case& c : cases) {
    auto failure = image_answer_failure(c.result);
    BOOST_TEST(failure.code == c.code, failure.message);
    BOOST_TEST(status_of(failure) == c.status, failure.message);
  }
  BOOST_TEST(image_answer_failure(cases[0].result).message ==
             "image generation failed: header.code 10021: input audit failed");
}

// ---- options ----

BOOST_AUTO_TEST_CASE(tool_options_are_checked_when_the_manifest_loads) {
  auto translation = make_translation_kind({});
  auto image = make_image_generate_kind({});
  BOOST_TEST(compile_error(*translation, "{}") == "url: expected a string (required)");
  BOOST_TEST(compile_error(*translation, R"({"url":"ftp://x/its"})").rfind("url: expected an http:// or https:// URL", 0) == 0u);
  BOOST_TEST(compile_error(*translation, R"({"url":"http://x/its","api_key":7})") ==
             "api_key: expected a string");
  BOOST_TEST(compile_error(*translation, R"({"url":"http://x/its","timeout_ms":0})") ==
             "timeout_ms: expected an integer 1-600000");
  BOOST_TEST(compile_error(*translation, R"({"url":"http://x/its","ca_file":"/nonexistent.pem"})") ==
             "ca_file: expected the path of a readable file, got \"/nonexistent.pem\"");
  BOOST_TEST(compile_error(*translation, R"({"url":"http://x/its","image_dir":"/tmp"})") ==
             "image_dir: unknown option; expected one of url, app_id, api_key, api_secret, "
             "timeout_ms, ca_file");
  // Empty credentials compile: the upstream refuses them per request (an auth error).
  compile(*translation, R"({"url":"https://itrans.xf-yun.com/v1/its","app_id":"","api_key":"","api_secret":""})");

  ScratchDir dir;
  dir.write("file", "x");
  const std::string base = R"({"url":"http://x/tti","image_url_base":"http://h/images")";
  BOOST_TEST(compile_error(*image, base + "}") == "image_dir: expected a string (required)");
  BOOST_TEST(compile_error(*image, base + R"(,"image_dir":""})") ==
             "image_dir: expected an existing writable directory, got \"\"");
  BOOST_TEST(compile_error(*image, base + R"(,"image_dir":")" + dir.path + "/missing\"}") ==
             "image_dir: expected an existing writable directory; " + dir.path +
                 "/missing: No such file or directory");
  BOOST_TEST(compile_error(*image, base + R"(,"image_dir":")" + dir.path + "/file\"}") ==
             "image_dir: expected an existing writable directory; " + dir.path + "/file is not a directory");
  BOOST_TEST(compile_error(*image, R"({"url":"http://x/tti","image_dir":")" + dir.path + "\"}") ==
             "image_url_base: expected a string (required)");
  BOOST_TEST(compile_error(*image, R"({"url":"http://x/tti","image_url_base":"/","image_dir":")" +
                                       dir.path + "\"}")
                 .rfind("image_url_base: expected the URL prefix", 0) == 0u);
  compile(*image, base + R"(,"image_dir":")" + dir.path + "\"}");
}

// ---- the handlers, through a stand-in upstream actor ----

BOOST_FIXTURE_TEST_CASE(translation_posts_a_signed_request_and_answers_the_envelope, UpstreamFixture) {
  reply = [](const UpstreamRequest&) { return http_answer(200, its_answer("Hello")); };
  auto handler = compile(*make_translation_kind(upstream), std::string("{") + kEndpoint + R"(,"timeout_ms":1234})");
  auto response = test::call(*handler, PostRequest(R"({"text":"你好","target_language":"en"})"));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.content_type == "application/json");
  auto body = parse(response.body);
  BOOST_TEST(body["code"].GetInt() == 0);
  BOOST_TEST(text_of(body["data"]["translated_text"]) == "Hello");
  const std::string sid = text_of(body["sid"]);
  BOOST_TEST(sid.rfind("ait", 0) == 0u);
  BOOST_REQUIRE(response.headers.size() == 1u);
  BOOST_TEST(response.headers[0].first == "X-Sid");
  BOOST_TEST(response.headers[0].second == sid);

  BOOST_REQUIRE(seen->size() == 1u);
  const UpstreamRequest& sent = seen->front();
  BOOST_TEST(sent.method == "POST");
  BOOST_TEST(sent.url.rfind("http://127.0.0.1:9/v1/its?authorization=", 0) == 0u, sent.url);
  BOOST_TEST(sent.url.find("&date=") != std::string::npos);
  BOOST_TEST(sent.url.find("&host=127.0.0.1%3A9") != std::string::npos, sent.url);
  BOOST_TEST(sent.timeout.count() == 1234);
  BOOST_TEST(text_of(parse(sent.body)["parameter"]["its"]["to"]) == "en");

  // Checks fail before anything goes upstream, with a sid of their own.
  auto refused = test::call(*handler, PostRequest(R"({"text":" ","target_language":"en"})"));
  BOOST_TEST(refused.status == 400);
  BOOST_TEST(parse(refused.body)["code"].GetInt() == http::code::text_empty);
  BOOST_TEST(text_of(parse(refused.body)["sid"]) != sid);
  BOOST_TEST(seen->size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(an_upstream_timeout_answers_504, UpstreamFixture) {
  reply = [](const UpstreamRequest&) { return transport_failure(Error::timeout); };
  auto handler = compile(*make_translation_kind(upstream), std::string("{") + kEndpoint + "}");
  auto response = test::call(*handler, PostRequest(R"({"text":"你好","target_language":"en"})"));
  BOOST_TEST(response.status == 504);
  BOOST_TEST(parse(response.body)["code"].GetInt() == http::code::translation_network);
}

BOOST_FIXTURE_TEST_CASE(image_generate_stores_the_image_and_answers_its_url, UpstreamFixture) {
  reply = [](const UpstreamRequest&) { return http_answer(200, tti_answer(kPng)); };
  ScratchDir dir;
  auto handler = compile(*make_image_generate_kind(upstream),
                         std::string("{") + kEndpoint + R"(,"image_dir":")" + dir.path +
                             R"(","image_url_base":"http://h:1/aitools/v1/images/"})");
  auto response = test::call(*handler, PostRequest(R"({"prompt":"a cat","width":720,"height":1280})"));
  BOOST_TEST(response.status == 200, response.body);
  auto body = parse(response.body);
  const std::string url = text_of(body["data"]["image_url"]);
  const std::string prefix = "http://h:1/aitools/v1/images/";
  BOOST_REQUIRE(url.rfind(prefix, 0) == 0u);
  const std::string name = url.substr(prefix.size());
  BOOST_TEST(name.size() == 32u + 4u);  // 128 random bits in hex + ".png"
  BOOST_TEST(name.substr(32) == ".png");
  BOOST_TEST(text_of(body["data"]["image_url_md"]) == "![](" + url + ")");
  BOOST_TEST((dir.names() == std::set<std::string>{name}));  // no temporary file left
  std::ifstream stored(dir.path + "/" + name, std::ios::binary);
  BOOST_TEST(std::string(std::istreambuf_iterator<char>(stored), {}) == kPng);
  BOOST_REQUIRE(seen->size() == 1u);
  BOOST_TEST(parse(seen->front().body)["parameter"]["chat"]["width"].GetInt() == 720);

  // Two images never share a name.
  test::call(*handler, PostRequest(R"({"prompt":"a dog"})"));
  BOOST_TEST(dir.names().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(an_image_that_cannot_be_stored_is_45010, UpstreamFixture) {
  reply = [](const UpstreamRequest&) { return http_answer(200, tti_answer(kPng)); };
  auto dir = std::make_unique<ScratchDir>();
  auto handler = compile(*make_image_generate_kind(upstream),
                         std::string("{") + kEndpoint + R"(,"image_dir":")" + dir->path +
                             R"(","image_url_base":"http://h/images"})");
  dir.reset();  // the directory disappears after the manifest loaded
  auto response = test::call(*handler, PostRequest(R"({"prompt":"a cat"})"));
  BOOST_TEST(response.status == 500);
  auto body = parse(response.body);
  BOOST_TEST(body["code"].GetInt() == http::code::local);
  BOOST_TEST(text_of(body["message"]).rfind("cannot store the image: ", 0) == 0u);
}

// ---- files ----

BOOST_AUTO_TEST_CASE(file_names_that_could_leave_the_directory_are_refused) {
  for (std::string_view name : {"a.png", "ab12cd.jpg", "x", "with space.txt", "名字.png"})
    BOOST_TEST(files::is_servable_name(name), name);
  for (std::string_view name : {std::string_view(), std::string_view("."), std::string_view(".."),
                                std::string_view(".hidden"), std::string_view(".x.png.tmp"),
                                std::string_view("a/b"), std::string_view("../etc/passwd"),
                                std::string_view("a..b"), std::string_view("a\\b"),
                                std::string_view("a\0b", 3), std::string_view("a\nb")})
    BOOST_TEST(!files::is_servable_name(name), name);
  BOOST_TEST(files::is_servable_name(std::string(255, 'a')));
  BOOST_TEST(!files::is_servable_name(std::string(256, 'a')));
  BOOST_TEST(files::content_type_for("a.png") == "image/png");
  BOOST_TEST(files::content_type_for("a.JPG") == "image/jpeg");
  BOOST_TEST(files::content_type_for("a.jpeg") == "image/jpeg");
  BOOST_TEST(files::content_type_for("a.svg") == "application/octet-stream");
  BOOST_TEST(files::content_type_for("a.html") == "application/octet-stream");
  BOOST_TEST(files::content_type_for("noext") == "application/octet-stream");
}

BOOST_AUTO_TEST_CASE(the_files_kind_serves_regular_files_by_name_up_to_its_cap) {
  const ServiceKind* kind = Catalog::builtin().find("files");
  BOOST_REQUIRE(kind);
  ScratchDir dir;
  dir.write("cat.png", kPng);
  dir.write("big.png", std::string(100, 'x'));
  dir.write(".secret", "s");
  std::filesystem::create_symlink("/etc/hostname", dir.path + "/link.txt");
  ::mkfifo((dir.path + "/fifo").c_str(), 0600);
  const RouteInfo route{"/images/{name}", {"name"}};
  BOOST_TEST(compile_error(*kind, R"({"dir":"/tmp"})", {"/images", {}}).rfind("path: expected", 0) == 0u);
  BOOST_TEST(compile_error(*kind, "{}", route) == "dir: expected a string (required)");
  BOOST_TEST(compile_error(*kind, R"({"dir":"/tmp","max_bytes":0})", route) ==
             "max_bytes: expected an integer 1-67108864");
  BOOST_TEST(compile_error(*kind, R"({"dir":"/tmp","cache":1})", route) ==
             "cache: unknown option; expected one of dir, max_bytes");
  auto handler = compile(*kind, R"({"dir":")" + dir.path + R"(/","max_bytes":50})", route);

  auto get = [&handler](std::string_view name) {
    return test::call(*handler, PostRequest(""), {{"name", name}});
  };
  auto ok = get("cat.png");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.content_type == "image/png");
  BOOST_TEST(ok.body == kPng);
  BOOST_TEST((ok.headers == http::HeaderList{{"X-Content-Type-Options", "nosniff"}}));
  for (std::string_view refused : {"missing.png", "big.png", ".secret", "link.txt", "fifo", "..",
                                   "../cat.png"}) {
    auto response = get(refused);
    BOOST_TEST(response.status == 404, refused);
    BOOST_TEST(response.body == R"({"detail":"Not Found"})");
  }
}

BOOST_AUTO_TEST_SUITE_END()
