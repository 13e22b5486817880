// The command line: --help, --check, and the ways startup fails (each with exit status 1 and
// an actionable message on stderr) or deliberately does not fail.
#include <boost/test/unit_test.hpp>

#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"

namespace {

using it::Args;

constexpr const char* kValidManifest = R"({
  "name": "greeter",
  "prefix": "/v1",
  "routes": [{"method": "GET", "path": "/hello", "kind": "static", "options": {"body": "hi"}}]
})";

// Valid JSON, invalid manifest: "routes" must be an array.
constexpr const char* kBadManifest = R"({"routes": 5})";

Args config_args(const it::TempDir& dir) { return {"--config", dir.file("aitools.env")}; }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(help_lists_every_flag) {
  const auto result = it::run_binary({"--help"});
  BOOST_TEST(result.exit_code == 0);
  for (const char* flag : {"--config", "--services", "--port", "--admin-port", "--check", "--help"})
    BOOST_TEST(contains(result.out, flag), "--help does not mention " << flag);
  BOOST_TEST(contains(result.out, "docs/configuration.md"));
}

BOOST_AUTO_TEST_CASE(check_valid_setup_prints_ok_per_file) {
  it::TempDir dir;
  it::write_setup(
      dir, it::Env{{"GREETING", "hi"}},
      {{"greeter.json", kValidManifest},
       {"other.json", R"({"routes": [{"method": "POST", "path": "/e", "kind": "echo"}]})"}});
  const auto result = it::run_binary({"--check", "--config", dir.file("aitools.env")});
  BOOST_TEST(result.exit_code == 0, "stdout:\n" << result.out << "stderr:\n" << result.err);
  const auto out = lines(result.out);
  // The env file and the two manifests, one "ok" line each.
  BOOST_TEST(out.size() == 3u, result.out);
  for (const auto& line : out) BOOST_TEST(starts_with(line, "ok"), line);
  for (const char* file : {"aitools.env", "greeter.json", "other.json"})
    BOOST_TEST(contains(result.out, file), "no line for " << file);
}

BOOST_AUTO_TEST_CASE(check_bad_manifest_names_file_and_reason) {
  it::TempDir dir;
  it::write_setup(dir, it::Env{},
                  {{"greeter.json", kValidManifest}, {"broken.json", kBadManifest}});
  const auto result = it::run_binary({"--check", "--config", dir.file("aitools.env")});
  BOOST_TEST(result.exit_code == 1, "stdout:\n" << result.out);
  bool found = false;
  for (const auto& line : lines(result.out)) {
    if (!contains(line, "broken.json")) continue;
    found = true;
    BOOST_TEST(!starts_with(line, "ok"), line);
    // The reason names the offending field and what was expected.
    BOOST_TEST(contains(line, "routes"), line);
    BOOST_TEST(contains(line, "expected"), line);
  }
  BOOST_TEST(found, "no line names broken.json:\n" << result.out);
  // The valid manifest is still reported as valid.
  for (const auto& line : lines(result.out))
    if (contains(line, "greeter.json")) BOOST_TEST(starts_with(line, "ok"), line);
}

BOOST_AUTO_TEST_CASE(invalid_known_key_value_fails_startup) {
  struct Case {
    const char* key;
    const char* value;
    const char* expected;  // part of the "what was expected" text
  };
  for (const Case& c :
       {Case{"SERVICE_PORT", "abc", "integer"}, Case{"LOG_LEVEL", "loud", "debug"},
        Case{"MAX_REQUEST_BYTES", "-5", "integer"}, Case{"HOT_RELOAD_ENABLE", "maybe", "true"}}) {
    BOOST_TEST_CONTEXT(c.key << "=" << c.value) {
      it::TempDir dir;
      it::write_setup(dir, it::Env{{c.key, c.value}}, {{"greeter.json", kValidManifest}});
      // No --port: the file's SERVICE_PORT must be the one validated. Only the admin port is
      // moved off its default, in case the server wrongly starts.
      Args args = config_args(dir);
      args.insert(args.end(), {"--admin-port", std::to_string(it::free_port())});
      const auto result = it::run_binary(args, std::chrono::seconds(5));
      BOOST_TEST(result.exit_code == 1, "stderr:\n" << result.err);
      BOOST_TEST(contains(result.err, c.key), result.err);
      BOOST_TEST(contains(result.err, c.value), result.err);
      BOOST_TEST(contains(result.err, "expected"), result.err);
      BOOST_TEST(contains(result.err, c.expected), result.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(port_flag_replaces_invalid_service_port) {
  it::TempDir dir;
  // The harness passes --port, which replaces SERVICE_PORT before validation.
  it::ServerProcess server(dir, it::Env{{"SERVICE_PORT", "abc"}},
                           {{"greeter.json", kValidManifest}});
  server.start();
  const auto response = it::http_get(server.port(), "/v1/hello");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "hi");
}

BOOST_AUTO_TEST_CASE(port_in_use_fails_startup) {
  it::ListeningSocket taken(INADDR_ANY);  // any bind of its port fails, whatever the host
  const std::string port = std::to_string(taken.port());
  // The main listener and then the admin listener on the taken port.
  for (const Args& ports :
       {Args{"--port", port, "--admin-port", std::to_string(it::free_port())},
        Args{"--port", std::to_string(it::free_port()), "--admin-port", port}}) {
    BOOST_TEST_CONTEXT(ports[0] << " " << ports[1] << " " << ports[2] << " " << ports[3]) {
      it::TempDir dir;
      it::write_setup(dir, it::Env{}, {{"greeter.json", kValidManifest}});
      Args args = config_args(dir);
      args.insert(args.end(), ports.begin(), ports.end());
      const auto result = it::run_binary(args, std::chrono::seconds(5));
      BOOST_TEST(result.exit_code == 1, "stderr:\n" << result.err);
      // One clear line: the port and why.
      bool clear = false;
      for (const auto& line : lines(result.err))
        clear = clear || (contains(line, port) && contains(line, "in use"));
      BOOST_TEST(clear, "no line names port " << port << " as in use:\n" << result.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_services_dir_fails_startup) {
  it::TempDir dir;
  dir.write("aitools.env", "GREETING=hi\n");  // and no services/ next to it
  Args args = config_args(dir);
  args.insert(args.end(), {"--port", std::to_string(it::free_port()), "--admin-port",
                           std::to_string(it::free_port())});
  const auto result = it::run_binary(args, std::chrono::seconds(5));
  BOOST_TEST(result.exit_code == 1, "stderr:\n" << result.err);
  BOOST_TEST(contains(result.err, dir.file("services")), result.err);
}

BOOST_AUTO_TEST_CASE(missing_config_file_fails_startup) {
  it::TempDir dir;
  const std::string missing = dir.file("nope.env");
  const auto result = it::run_binary({"--config", missing}, std::chrono::seconds(5));
  BOOST_TEST(result.exit_code == 1, "stderr:\n" << result.err);
  BOOST_TEST(contains(result.err, missing), result.err);
}

BOOST_AUTO_TEST_CASE(unknown_flag_or_missing_value_fails) {
  it::TempDir dir;
  it::write_setup(dir, it::Env{}, {{"greeter.json", kValidManifest}});
  for (const Args& extra : {Args{"--frobnicate"}, Args{"--port"}}) {
    BOOST_TEST_CONTEXT(extra[0]) {
      Args args = config_args(dir);
      args.insert(args.end(), extra.begin(), extra.end());
      const auto result = it::run_binary(args, std::chrono::seconds(5));
      BOOST_TEST(result.exit_code == 1, "stderr:\n" << result.err);
      BOOST_TEST(contains(result.err, extra[0]), result.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(quarantined_manifest_does_not_stop_startup) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{},
                           {{"greeter.json", kValidManifest}, {"broken.json", kBadManifest}});
  server.start();
  const auto status = it::admin_json(server, "/admin/status");
  const auto& services = status["services"];
  BOOST_REQUIRE(services.IsObject());
  BOOST_REQUIRE(services.HasMember("broken"));  // reported under its file name stem
  BOOST_TEST(services["broken"]["state"].GetString() == std::string("quarantined"));
  BOOST_TEST(services["broken"]["file"].GetString() == std::string("broken.json"));
  BOOST_TEST(services["broken"]["error"].IsString());
  BOOST_REQUIRE(services.HasMember("greeter"));
  BOOST_TEST(services["greeter"]["state"].GetString() == std::string("active"));
  BOOST_TEST(it::http_get(server.port(), "/v1/hello").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
