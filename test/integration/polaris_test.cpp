// CONFIG_SOURCE=polaris end to end: aitools-server polls a real local config centre
// (test/upstream/fake_polaris.py, started per test on its own port) every second, and what
// the centre serves is what the server applies - and nothing more when it serves the same.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/test/unit_test.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "harness.hpp"
#include "upstream.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto kPatience = 15s;

// The filter the server sends: PROJECT_NAME and POLARIS_CLUSTER need URL-encoding.
const it::Env kFilter = {{"PROJECT_NAME", "aitools test"},
                         {"POLARIS_CLUSTER", "dev&blue"},
                         {"SERVICE_SUB", "aitools"},
                         {"VERSION", "1.0.0"}};

std::string json_string(const std::string& text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  return buffer.GetString();
}

// The fake centre: one account, "ops" / "secret"; it only serves the filter above.
struct Centre {
  explicit Centre(const it::TempDir& dir) : process(dir, options()) { process.start(); }

  static it::FakeUpstreamOptions options() {
    it::FakeUpstreamOptions options;
    options.script = "fake_polaris.py";
    options.keys = {{"ops", "secret"}};
    options.app_id = "";
    return options;
  }

  std::string url() const { return process.url(); }

  // Sets the dotenv text the centre serves (it survives a restart of the centre).
  void set_content(const std::string& content) {
    control("/__content",
            R"({"content": )" + json_string(content) + R"(, "filter": {"project": "aitools test",)"
            R"( "cluster": "dev&blue", "service": "aitools", "version": "1.0.0",)"
            R"( "configName": "aitools.env"}})");
  }
  // Forgets every session; downloads with an old one get `answer` ("401" or "redirect").
  void expire(const std::string& answer) {
    control("/__expire", R"({"answer": )" + json_string(answer) + "}");
  }
  int64_t stat(const char* name) {
    const auto stats = it::parse_json(control("/__stats"));
    return stats[name].GetInt64();
  }
  // The last login's JSON body, as the centre received it.
  rapidjson::Document last_login() {
    rapidjson::Document stats = it::parse_json(control("/__stats"));
    rapidjson::Document login;
    login.CopyFrom(stats["last_login"], login.GetAllocator());
    return login;
  }
  std::string last_raw_query() {
    return it::json_string(it::parse_json(control("/__stats"))["last_raw_query"]);
  }
  // Waits until the centre has answered `more` downloads beyond now.
  bool wait_downloads(int64_t more) {
    const int64_t target = stat("downloads") + more;
    return it::wait_until([&] { return stat("downloads") >= target; }, kPatience);
  }

  std::string control(const std::string& path, const std::string& body = "") {
    const auto response = it::http_request(process.port(), body.empty() ? "GET" : "POST", path,
                                           {{"Content-Type", "application/json"}}, body);
    if (response.status != 200)
      throw std::runtime_error("fake polaris " + path + ": " + std::to_string(response.status) +
                               " " + response.body);
    return response.body;
  }

  it::FakeUpstream process;
};

// GET /greet renders ${GREETING}; GET /other renders ${OTHER}.
const it::Manifests kManifests = {
    {"g.json",
     R"({"routes": [)"
     R"({"method": "GET", "path": "/greet", "kind": "static", "options": {"body": "${GREETING}"}},)"
     R"({"method": "GET", "path": "/other", "kind": "static", "options": {"body": "${OTHER}"}}]})"},
};

it::Env server_env(const Centre& centre, const it::Env& extra = {}) {
  it::Env env = {{"CONFIG_SOURCE", "polaris"},
                 {"POLARIS_URL", centre.url()},
                 {"POLARIS_USERNAME", "ops"},
                 {"POLARIS_PASSWORD", "secret"},
                 {"CONFIG_WATCH_INTERVAL", "1"},
                 {"CONFIG_SOURCE_TIMEOUT_MS", "2000"},
                 {"RESCAN_INTERVAL_S", "0"},
                 {"LOG_LEVEL", "debug"},
                 {"GREETING", "from-file"},
                 {"OTHER", "other-from-file"}};
  for (const auto& [key, value] : kFilter) env[key] = value;
  for (const auto& [key, value] : extra) env[key] = value;
  return env;
}

struct SourceStatus {
  std::string source, endpoint, error, version, since;
  bool connected = false, loaded = false;
};

SourceStatus source_status(const it::ServerProcess& server) {
  const auto status = it::admin_json(server, "/admin/status");
  const auto& source = status["config_source"];
  if (!source.IsObject()) throw std::runtime_error("config_source is not an object");
  SourceStatus out;
  out.source = it::json_string(source["source"]);
  out.endpoint = it::json_string(source["endpoint"]);
  out.error = source["error"].IsString() ? source["error"].GetString() : "";
  out.version = it::json_string(source["version"]);
  out.since = it::json_string(source["since"]);
  out.connected = source["connected"].GetBool();
  out.loaded = source["loaded"].GetBool();
  return out;
}

std::string body(const it::ServerProcess& server, const std::string& path) {
  return it::http_get(server.port(), path).body;
}

bool wait_body(const it::ServerProcess& server, const std::string& path,
               const std::string& expected) {
  return it::wait_until([&] { return body(server, path) == expected; }, kPatience);
}

// The value GET /admin/config reports for `key`, or nullopt when the key is not in force.
std::optional<std::string> config_value(const it::ServerProcess& server, const std::string& key) {
  const auto config = it::admin_json(server, "/admin/config");
  const auto& values = config["values"];
  const auto member = values.FindMember(key.c_str());
  if (member == values.MemberEnd()) return std::nullopt;
  return it::json_string(member->value);
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(polaris)

BOOST_AUTO_TEST_CASE(changed_value_applies) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=from-polaris\n");
  it::ServerProcess server(dir, server_env(centre), kManifests);
  server.start();

  // The first load already has the centre's value: no reload right after startup.
  BOOST_TEST(body(server, "/greet") == "from-polaris");
  BOOST_TEST(it::status_generation(server) == 1u);
  const SourceStatus status = source_status(server);
  BOOST_TEST(status.source == "polaris");
  BOOST_TEST(status.endpoint == centre.url());
  BOOST_TEST(status.connected);
  BOOST_TEST(status.loaded);
  BOOST_TEST(status.error.empty());
  BOOST_TEST(status.version.size() == 16u);
  // The filter went out URL-encoded (the centre answers 404 to any other).
  BOOST_TEST(centre.last_raw_query() ==
             "project=aitools%20test&cluster=dev%26blue&service=aitools&version=1.0.0"
             "&configName=aitools.env");
  const auto login = centre.last_login();
  BOOST_TEST(it::json_string(login["addr"]) == centre.url());
  BOOST_TEST(it::json_string(login["account"]) == "ops");
  BOOST_TEST(it::json_string(login["password"]) == "secret");

  centre.set_content("GREETING=changed\n");
  BOOST_TEST_REQUIRE(wait_body(server, "/greet", "changed"), server.log());
  BOOST_TEST(it::status_generation(server) == 2u);
  BOOST_TEST(source_status(server).version != status.version);
  BOOST_TEST(config_value(server, "GREETING").value_or("<none>") == "changed");
}

BOOST_AUTO_TEST_CASE(unchanged_centre_does_not_bump_the_generation) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=steady\n");
  it::ServerProcess server(dir, server_env(centre), kManifests);
  server.start();
  const uint64_t generation = it::status_generation(server);
  const SourceStatus before = source_status(server);

  BOOST_TEST_REQUIRE(centre.wait_downloads(2), server.log());
  // The same content with its lines moved is the same set, too.
  centre.set_content("# reordered\n\nGREETING=steady\n");
  BOOST_TEST_REQUIRE(centre.wait_downloads(2), server.log());

  BOOST_TEST(it::status_generation(server) == generation);
  const SourceStatus after = source_status(server);
  BOOST_TEST(after.version == before.version);
  BOOST_TEST(after.since == before.since);
  BOOST_TEST(body(server, "/greet") == "steady");
}

BOOST_AUTO_TEST_CASE(deleted_key_is_gone) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=remote\nEXTRA=1\n");
  it::ServerProcess server(dir, server_env(centre), kManifests);
  server.start();
  BOOST_TEST(config_value(server, "EXTRA").value_or("<none>") == "1");

  centre.set_content("GREETING=remote\n");
  BOOST_TEST_REQUIRE(it::wait_until([&] { return !config_value(server, "EXTRA"); }, kPatience),
                     server.log());
  BOOST_TEST(body(server, "/greet") == "remote");

  // A key deleted in the centre falls back to the env file's value.
  centre.set_content("");
  BOOST_TEST_REQUIRE(wait_body(server, "/greet", "from-file"), server.log());
  BOOST_TEST(source_status(server).loaded);
}

BOOST_AUTO_TEST_CASE(centre_down_keeps_the_last_good_config) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=polaris-1\n");
  it::ServerProcess server(dir, server_env(centre), kManifests);
  server.start();
  BOOST_TEST(body(server, "/greet") == "polaris-1");
  const uint64_t generation = it::status_generation(server);

  centre.process.kill();
  BOOST_TEST_REQUIRE(it::wait_until([&] { return !source_status(server).connected; }, kPatience),
                     server.log());
  const SourceStatus down = source_status(server);
  BOOST_TEST(!down.error.empty());
  BOOST_TEST(down.error.find(centre.url()) != std::string::npos, down.error);
  BOOST_TEST(down.loaded);  // the last set from the centre still applies
  BOOST_TEST(body(server, "/greet") == "polaris-1");
  BOOST_TEST(it::status_generation(server) == generation);

  centre.process.start();  // same port, same content, no sessions
  centre.set_content("GREETING=polaris-2\n");
  BOOST_TEST_REQUIRE(wait_body(server, "/greet", "polaris-2"), server.log());
  const SourceStatus back = source_status(server);
  BOOST_TEST(back.connected);
  BOOST_TEST(back.error.empty());
  BOOST_TEST(server.log().find("event=polaris_available") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(centre_down_at_startup_starts_on_the_file_and_catches_up) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=late\n");
  centre.process.kill();
  it::ServerProcess server(dir, server_env(centre), kManifests);
  server.start();
  BOOST_TEST(body(server, "/greet") == "from-file");
  const SourceStatus down = source_status(server);
  BOOST_TEST(!down.connected);
  BOOST_TEST(!down.loaded);
  BOOST_TEST(down.error.find("login") != std::string::npos, down.error);

  centre.process.start();
  BOOST_TEST_REQUIRE(wait_body(server, "/greet", "late"), server.log());
  BOOST_TEST(source_status(server).loaded);
}

BOOST_AUTO_TEST_CASE(wrong_credentials_say_so_and_the_file_config_serves) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=from-polaris\n");
  it::ServerProcess server(dir, server_env(centre, {{"POLARIS_PASSWORD", "wrong"}}), kManifests);
  server.start();

  BOOST_TEST(body(server, "/greet") == "from-file");
  const SourceStatus status = source_status(server);
  BOOST_TEST(!status.connected);
  BOOST_TEST(!status.loaded);
  BOOST_TEST(status.error.find("login") != std::string::npos, status.error);
  BOOST_TEST(status.error.find("HTTP 401") != std::string::npos, status.error);
  BOOST_TEST(status.error.find("invalid account or password") != std::string::npos, status.error);
  BOOST_TEST(status.error.find("POLARIS_PASSWORD") != std::string::npos, status.error);

  // It keeps trying, but says so at error level once.
  BOOST_TEST_REQUIRE(it::wait_until([&] { return centre.stat("login_failures") >= 3; }, kPatience));
  BOOST_TEST(count(server.log(), "level=error event=polaris_unavailable") == 1u, server.log());
  BOOST_TEST(source_status(server).since == status.since);

  // The account's password becomes the one configured: the next retry gets in.
  centre.process.set_keys({{"ops", "wrong"}});
  BOOST_TEST_REQUIRE(wait_body(server, "/greet", "from-polaris"), server.log());
  BOOST_TEST(source_status(server).connected);
}

BOOST_AUTO_TEST_CASE(session_is_reused_and_renewed_when_it_expires) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=session\n");
  it::ServerProcess server(dir, server_env(centre), kManifests);
  server.start();
  const uint64_t generation = it::status_generation(server);

  BOOST_TEST_REQUIRE(centre.wait_downloads(3), server.log());
  BOOST_TEST(centre.stat("logins") == 1);

  for (const std::string answer : {"401", "redirect"}) {
    BOOST_TEST_CONTEXT("expired session answered with " << answer) {
      const int64_t logins = centre.stat("logins");
      centre.expire(answer);
      BOOST_TEST_REQUIRE(
          it::wait_until([&] { return centre.stat("logins") == logins + 1; }, kPatience),
          server.log());
      BOOST_TEST_REQUIRE(centre.wait_downloads(2), server.log());
      BOOST_TEST(centre.stat("logins") == logins + 1);
    }
  }
  // Renewing the session is no change.
  BOOST_TEST(it::status_generation(server) == generation);
  BOOST_TEST(source_status(server).connected);
  BOOST_TEST(body(server, "/greet") == "session");
}

BOOST_AUTO_TEST_CASE(watch_interval_applies_live) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=hourly\n");
  it::Env env = server_env(centre, {{"CONFIG_WATCH_INTERVAL", "3600"}});
  it::ServerProcess server(dir, env, kManifests);
  server.start();
  BOOST_TEST(body(server, "/greet") == "hourly");
  const uint64_t generation = it::status_generation(server);

  // The poll waiting an hour waits a second instead, from the pass that applies the edit.
  env["CONFIG_WATCH_INTERVAL"] = "1";
  dir.write_atomic("aitools.env", it::env_text(env));
  BOOST_TEST_REQUIRE(it::wait_for_generation(server, generation + 1, kPatience), server.log());
  centre.set_content("GREETING=every-second\n");
  BOOST_TEST_REQUIRE(wait_body(server, "/greet", "every-second"), server.log());
}

BOOST_AUTO_TEST_CASE(process_environment_beats_polaris_beats_the_env_file) {
  it::TempDir dir;
  Centre centre(dir);
  centre.set_content("GREETING=from-polaris\nOTHER=other-from-polaris\n");
  it::ServerProcess server(dir, server_env(centre), kManifests);
  server.setenv("GREETING", "from-environment");
  server.start();

  BOOST_TEST(body(server, "/greet") == "from-environment");
  BOOST_TEST(body(server, "/other") == "other-from-polaris");

  // A change in the centre applies where the centre wins, and nowhere else.
  centre.set_content("GREETING=from-polaris-2\nOTHER=other-from-polaris-2\n");
  BOOST_TEST_REQUIRE(wait_body(server, "/other", "other-from-polaris-2"), server.log());
  BOOST_TEST(body(server, "/greet") == "from-environment");

  // Deleted in the centre: the env file's value again.
  centre.set_content("GREETING=from-polaris-2\n");
  BOOST_TEST_REQUIRE(wait_body(server, "/other", "other-from-file"), server.log());
}

BOOST_AUTO_TEST_SUITE_END()
