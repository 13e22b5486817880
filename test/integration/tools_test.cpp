// The AITools tool routes end to end: the shipped etc/services/aitools.json served by the real
// aitools-server, talking to a real local upstream (test/upstream/fake_xfyun.py, started per
// test) that checks the xfyun-hmac signature and speaks the iFlytek its and tti formats.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "harness.hpp"
#include "upstream.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using it::HttpResponse;

constexpr auto kPatience = 10s;
constexpr const char* kPublicBase = "http://aitools.test";
const std::string kImagesPrefix = "/aitools/v1/images/";

std::string str(const rapidjson::Value& value) { return it::json_string(value); }

std::string shipped_manifest() {
  const std::string text = it::read_file(std::string(AITOOLS_SOURCE_DIR) + "/etc/services/aitools.json");
  BOOST_REQUIRE(!text.empty());
  return text;
}

// `text` with every `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// The shipped manifest, its upstream timeouts cut to `ms`.
std::string manifest_with_timeouts(int ms) {
  const std::string with = "\"timeout_ms\": " + std::to_string(ms);
  std::string text = replaced(shipped_manifest(), "\"timeout_ms\": 30000", with);
  text = replaced(text, "\"timeout_ms\": 50000", with);
  BOOST_REQUIRE(text.find("\"timeout_ms\": 30000") == std::string::npos);
  return text;
}

// An aitools-server serving `manifest` as services/aitools.json, with the tools' keys pointing
// at its own fake upstream (credentials test-key / test-secret, app id test-app).
struct Tools {
  it::TempDir dir;
  it::FakeUpstream upstream{dir};
  it::Env env;
  std::unique_ptr<it::ServerProcess> server;

  explicit Tools(const std::string& manifest = shipped_manifest(), const it::Env& extra = {}) {
    upstream.start();
    dir.mkdir("images");
    env = {{"HOT_RELOAD_ENABLE", "true"},
           {"RELOAD_DEBOUNCE_MS", "20"},
           {"RESCAN_INTERVAL_S", "0"},
           {"LOG_LEVEL", "debug"},
           {"AI_APP_ID", "test-app"},
           {"AI_API_KEY", "test-key"},
           {"AI_API_SECRET", "test-secret"},
           {"TRANSLATION_URL", upstream.url("/v1/its")},
           {"IMAGE_GENERATE_URL", upstream.url("/v2.1/tti")},
           {"IMAGE_DIR", dir.file("images")},
           {"PUBLIC_BASE_URL", kPublicBase}};
    for (const auto& [key, value] : extra) env[key] = value;
    server = std::make_unique<it::ServerProcess>(dir, env, it::Manifests{{"aitools.json", manifest}});
    server->start();
  }

  // Rewrites the env file with `changes` and waits until the server serves the result.
  void edit_env(const it::Env& changes) {
    const uint64_t before = it::status_generation(*server);
    for (const auto& [key, value] : changes) env[key] = value;
    dir.write_atomic("aitools.env", it::env_text(env));
    BOOST_REQUIRE(it::wait_for_generation(*server, before + 1, kPatience));
  }

  HttpResponse post(const std::string& tool, const std::string& body) {
    return it::http_request(server->port(), "POST", "/aitools/v1/" + tool,
                            {{"Content-Type", "application/json"}}, body);
  }
  HttpResponse translate(const std::string& text = "你好", const std::string& to = "en") {
    return post("translation", R"({"text": ")" + text + R"(", "target_language": ")" + to + "\"}");
  }
};

// The envelope's code; checks the envelope's shape and that X-Sid is its sid.
int envelope_code(const HttpResponse& response) {
  const auto body = it::parse_json(response.body);
  BOOST_TEST(response.header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(str(body["sid"]).rfind("ait", 0) == 0u);
  BOOST_TEST(response.header("X-Sid").value_or("<none>") == str(body["sid"]));
  BOOST_TEST(body["message"].IsString());
  return body.HasMember("code") && body["code"].IsInt() ? body["code"].GetInt() : -1;
}

uint32_t big_endian(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = at; i < at + 4 && i < bytes.size(); ++i)
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tools)

BOOST_AUTO_TEST_CASE(the_shipped_manifest_loads_and_translation_is_signed) {
  Tools tools;
  const auto status = it::admin_json(*tools.server, "/admin/status");
  BOOST_TEST(str(status["services"]["aitools"]["state"]) == "active");
  BOOST_TEST(status["services"]["aitools"]["routes"].GetUint64() == 4u);

  auto response = tools.translate("你好，世界", "en");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(envelope_code(response) == 0);
  const auto body = it::parse_json(response.body);
  BOOST_TEST(str(body["message"]) == "success");
  BOOST_TEST(str(body["data"]["original_text"]) == "你好，世界");
  BOOST_TEST(str(body["data"]["translated_text"]) == "[en] 你好，世界");
  BOOST_TEST(str(body["data"]["source_language"]) == "cn");
  BOOST_TEST(str(body["data"]["target_language"]) == "en");

  const auto seen = tools.upstream.requests();
  BOOST_REQUIRE(seen.Size() == 1u);
  BOOST_TEST(str(seen[0]["method"]) == "POST");
  BOOST_TEST(str(seen[0]["path"]) == "/v1/its");
  BOOST_TEST(str(seen[0]["signed_with"]) == "test-key");  // the upstream verified the signature
  const auto sent = it::parse_json(str(seen[0]["body"]));
  BOOST_TEST(str(sent["header"]["app_id"]) == "test-app");
  BOOST_TEST(str(sent["parameter"]["its"]["from"]) == "cn");
  BOOST_TEST(str(sent["parameter"]["its"]["to"]) == "en");

  // dial_test, from the same manifest.
  auto dial = it::http_request(tools.server->port(), "POST", "/aitools/v1/dial_test?test=1",
                               {{"test", "1"}, {"Content-Type", "application/json"}}, R"({"test":"x"})");
  BOOST_TEST(dial.status == 200);
  BOOST_TEST(dial.body == R"(["message","Dial test service"])");
}

BOOST_AUTO_TEST_CASE(translation_checks_answer_45250_to_45252_without_calling_the_upstream) {
  Tools tools;
  auto blank = tools.translate("  ");
  BOOST_TEST(blank.status == 400);
  BOOST_TEST(envelope_code(blank) == 45250);

  std::string long_text;
  for (int i = 0; i < 5001; ++i) long_text += "字";
  auto too_long = tools.translate(long_text);
  BOOST_TEST(too_long.status == 413);
  BOOST_TEST(envelope_code(too_long) == 45251);
  // 5000 characters of 3 bytes each are fine: the limit counts characters.
  auto at_limit = tools.translate(long_text.substr(3));
  BOOST_TEST(at_limit.status == 200);

  auto pair = tools.post("translation", R"({"text":"hi","source_language":"en","target_language":"ja"})");
  BOOST_TEST(pair.status == 400);
  BOOST_TEST(envelope_code(pair) == 45252);
  auto unknown = tools.translate("你好", "xx");
  BOOST_TEST(unknown.status == 400);
  BOOST_TEST(envelope_code(unknown) == 45252);

  // The manifest's request schema: a missing field is FastAPI's 422.
  auto missing = tools.post("translation", R"({"target_language":"en"})");
  BOOST_TEST(missing.status == 422);
  const auto detail = it::parse_json(missing.body);
  BOOST_TEST(str(detail["detail"][0]["type"]) == "missing");
  BOOST_TEST(str(detail["detail"][0]["loc"][1]) == "text");
  auto malformed = tools.post("translation", "{not json");
  BOOST_TEST(malformed.status / 100 == 4);

  BOOST_TEST(tools.upstream.requests().Size() == 1u);  // only the one at the limit
}

BOOST_AUTO_TEST_CASE(translation_upstream_failures_answer_45253_to_45256) {
  Tools tools;
  // 45253: the platform's error code (an app id it does not know) ...
  tools.edit_env({{"AI_APP_ID", "other-app"}});
  auto api = tools.translate();
  BOOST_TEST(api.status == 502);
  BOOST_TEST(envelope_code(api) == 45253);
  BOOST_TEST(str(it::parse_json(api.body)["message"]).find("header.code 11200") != std::string::npos);
  // ... or an HTTP error status.
  tools.upstream.set_mode("http500");
  auto status_500 = tools.translate();
  BOOST_TEST(status_500.status == 502);
  BOOST_TEST(envelope_code(status_500) == 45253);
  tools.upstream.set_mode("normal");

  // 45254: a 200 answer that is not the its format.
  tools.edit_env({{"AI_APP_ID", "test-app"}, {"TRANSLATION_URL", tools.upstream.url("/echo/its")}});
  auto format = tools.translate();
  BOOST_TEST(format.status == 502);
  BOOST_TEST(envelope_code(format) == 45254);

  // 45255: the signature does not verify.
  tools.edit_env({{"TRANSLATION_URL", tools.upstream.url("/v1/its")}});
  tools.upstream.set_keys({{"test-key", "another-secret"}});
  auto auth = tools.translate();
  BOOST_TEST(auth.status == 502);
  BOOST_TEST(envelope_code(auth) == 45255);

  // 45256: nobody listens.
  tools.upstream.kill();
  auto down = tools.translate();
  BOOST_TEST(down.status == 502);
  BOOST_TEST(envelope_code(down) == 45256);
}

BOOST_AUTO_TEST_CASE(empty_credentials_start_and_answer_the_auth_error) {
  Tools tools(shipped_manifest(), {{"AI_APP_ID", ""}, {"AI_API_KEY", ""}, {"AI_API_SECRET", ""}});
  BOOST_TEST(str(it::admin_json(*tools.server, "/admin/status")["services"]["aitools"]["state"]) ==
             "active");
  auto translation = tools.translate();
  BOOST_TEST(translation.status == 502);
  BOOST_TEST(envelope_code(translation) == 45255);
  auto image = tools.post("image_generate", R"({"prompt":"a cat"})");
  BOOST_TEST(image.status == 502);
  BOOST_TEST(envelope_code(image) == 45102);
}

BOOST_AUTO_TEST_CASE(image_generate_sends_width_and_height_as_asked_and_serves_the_png) {
  Tools tools;
  auto response = tools.post("image_generate", R"({"prompt":"a red fox","width":1280,"height":720})");
  BOOST_TEST_REQUIRE(response.status == 200, response.body);
  BOOST_TEST(envelope_code(response) == 0);
  const auto body = it::parse_json(response.body);
  const std::string url = str(body["data"]["image_url"]);
  const std::string prefix = kPublicBase + kImagesPrefix;
  BOOST_REQUIRE(url.rfind(prefix, 0) == 0u);
  BOOST_TEST(str(body["data"]["image_url_md"]) == "![](" + url + ")");
  const std::string name = url.substr(prefix.size());
  BOOST_TEST(tools.dir.exists("images/" + name));

  const auto seen = tools.upstream.requests();
  BOOST_REQUIRE(seen.Size() == 1u);
  BOOST_TEST(str(seen[0]["path"]) == "/v2.1/tti");
  BOOST_TEST(str(seen[0]["signed_with"]) == "test-key");
  const auto sent = it::parse_json(str(seen[0]["body"]));
  BOOST_TEST(sent["parameter"]["chat"]["width"].GetInt() == 1280);  // the predecessor sent 720
  BOOST_TEST(sent["parameter"]["chat"]["height"].GetInt() == 720);
  BOOST_TEST(str(sent["payload"]["message"]["text"][0]["content"]) == "a red fox");

  auto image = it::http_get(tools.server->port(), kImagesPrefix + name);
  BOOST_TEST(image.status == 200);
  BOOST_TEST(image.header("Content-Type").value_or("") == "image/png");
  BOOST_TEST(image.body.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  BOOST_TEST(big_endian(image.body, 16) == 1280u);  // IHDR width
  BOOST_TEST(big_endian(image.body, 20) == 720u);   // IHDR height

  for (const char* refused : {"missing.png", ".hidden", "..%2Faitools.env", "%2E%2E"})
    BOOST_TEST(it::http_get(tools.server->port(), kImagesPrefix + refused).status == 404, refused);

  auto bad_size = tools.post("image_generate", R"({"prompt":"x","width":1000,"height":1000})");
  BOOST_TEST(bad_size.status == 400);
  BOOST_TEST(envelope_code(bad_size) == 45001);
}

BOOST_AUTO_TEST_CASE(an_upstream_that_is_down_answers_45256_and_45101) {
  Tools tools;
  tools.upstream.kill();
  auto translation = tools.translate();
  BOOST_TEST(translation.status == 502);
  BOOST_TEST(envelope_code(translation) == 45256);
  auto image = tools.post("image_generate", R"({"prompt":"a cat"})");
  BOOST_TEST(image.status == 502);
  BOOST_TEST(envelope_code(image) == 45101);
}

BOOST_AUTO_TEST_CASE(an_upstream_slower_than_the_timeout_answers_504) {
  Tools tools(manifest_with_timeouts(300));
  tools.upstream.set_mode("slow", 3000);
  const auto start = Clock::now();
  auto translation = tools.translate();
  BOOST_TEST(translation.status == 504);
  BOOST_TEST(envelope_code(translation) == 45256);
  auto image = tools.post("image_generate", R"({"prompt":"a cat"})");
  BOOST_TEST(image.status == 504);
  BOOST_TEST(envelope_code(image) == 45101);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  BOOST_TEST(elapsed.count() < 2900);  // answered at the timeout, not with the upstream
}

BOOST_AUTO_TEST_CASE(an_upstream_answering_garbage_answers_502) {
  Tools tools;
  tools.upstream.set_mode("garbage");
  auto translation = tools.translate();
  BOOST_TEST(translation.status == 502);
  BOOST_TEST(envelope_code(translation) == 45253);
  auto image = tools.post("image_generate", R"({"prompt":"a cat"})");
  BOOST_TEST(image.status == 502);
  BOOST_TEST(envelope_code(image) == 45100);
}

BOOST_AUTO_TEST_CASE(credentials_rotate_by_an_env_edit_while_requests_flow) {
  Tools tools;
  // During the rotation the platform accepts both keys.
  tools.upstream.set_keys({{"test-key", "test-secret"}, {"new-key", "new-secret"}});

  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::string> failures;  // written by the client thread only, read after join
  std::thread client([&] {
    it::HttpClient http(tools.server->port());
    while (!stop) {
      auto response = http.request("POST", "/aitools/v1/translation",
                                   {{"Content-Type", "application/json"}},
                                   R"({"text":"你好","target_language":"en"})");
      if (response.status != 200) failures.push_back(std::to_string(response.status) + " " + response.body);
      ++answered;
    }
  });
  BOOST_TEST(it::wait_until([&] { return answered >= 10; }, kPatience));
  tools.edit_env({{"AI_API_KEY", "new-key"}, {"AI_API_SECRET", "new-secret"}});
  const int at_switch = answered;
  BOOST_TEST(it::wait_until([&] { return answered >= at_switch + 10; }, kPatience));
  stop = true;
  client.join();
  BOOST_TEST(failures.empty(), failures.size() << " failed, first: " << (failures.empty() ? "" : failures[0]));

  // Every request after the new generation is signed with the new key.
  tools.upstream.clear_requests();
  for (int i = 0; i < 5; ++i) BOOST_TEST(tools.translate().status == 200);
  const auto seen = tools.upstream.requests();
  BOOST_REQUIRE(seen.Size() == 5u);
  for (const auto& record : seen.GetArray()) BOOST_TEST(str(record["signed_with"]) == "new-key");

  // The old key retired at the platform: nothing changes for aitools.
  tools.upstream.set_keys({{"new-key", "new-secret"}});
  BOOST_TEST(tools.translate().status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
