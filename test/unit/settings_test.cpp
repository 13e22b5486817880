#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "config/settings.hpp"

using namespace aitools::config;
using namespace std::chrono_literals;

namespace {

using Vars = std::map<std::string, std::string>;

const std::string kPath = "/etc/aitools/app.env";

// The injected "process environment": never the real one.
EnvLookup environment_of(Vars vars) {
  return [vars = std::move(vars)](const std::string& key) -> std::optional<std::string> {
    const auto found = vars.find(key);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

ConfigLoadResult build(const std::string& text, const Vars& environment = {},
                       const Vars& flags = {}) {
  return build_config(text, kPath, flags, environment_of(environment));
}

// A printable form of a map, for comparisons that show both sides on failure.
std::string describe(const Vars& vars) {
  std::string out;
  for (const auto& [key, value] : vars) out += key + "=" + value + ";";
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

ConfigSnapshotPtr snapshot_of(const std::string& text, const Vars& environment = {},
                              const Vars& flags = {}) {
  ConfigLoadResult result = build(text, environment, flags);
  BOOST_REQUIRE_MESSAGE(result.ok(), "unexpected errors:\n" << joined(result.errors));
  BOOST_TEST(result.errors.empty());
  return result.snapshot;
}

Settings settings_of(const std::string& text, const Vars& environment = {},
                     const Vars& flags = {}) {
  return snapshot_of(text, environment, flags)->settings;
}

std::vector<std::string> errors_of(const std::string& text, const Vars& environment = {},
                                   const Vars& flags = {}) {
  ConfigLoadResult result = build(text, environment, flags);
  BOOST_TEST(!result.ok());
  BOOST_TEST(result.snapshot == nullptr);
  return result.errors;
}

std::string error_of(const std::string& text, const Vars& environment = {},
                     const Vars& flags = {}) {
  const auto errors = errors_of(text, environment, flags);
  BOOST_REQUIRE_EQUAL(errors.size(), 1u);
  return errors[0];
}

// `KEY=value` on line 1 of kPath must be refused with `expected`.
void check_invalid(const std::string& key, const std::string& value, const std::string& expected) {
  BOOST_TEST_CONTEXT(key << "=" << value) {
    BOOST_TEST(error_of(key + "=\"" + value + "\"") ==
               kPath + ":1: " + key + "=\"" + value + "\": expected " + expected);
  }
}

unsigned core_count() { return std::clamp(std::thread::hardware_concurrency(), 1u, 256u); }

const std::string kPortRange = "an integer 1-65535";
const std::string kBoolWords = "true, false, 1, 0, yes or no";
const std::string kHostForms = "an IPv4 address, localhost or a hostname of [A-Za-z0-9.-]";

}  // namespace

BOOST_AUTO_TEST_SUITE(settings)

// ---- keys and defaults ----

BOOST_AUTO_TEST_CASE(known_keys_in_documentation_order) {
  const std::vector<std::string> expected = {
      "SERVICE_HOST",      "SERVICE_PORT",      "HTTP_THREADS",      "ADMIN_HOST",
      "ADMIN_PORT",        "ADMIN_TOKEN",       "CAF_ADMIN_HOST",    "CAF_ADMIN_PORT",
      "HOT_RELOAD_ENABLE", "RELOAD_DEBOUNCE_MS", "RESCAN_INTERVAL_S", "MAX_REQUEST_BYTES",
      "HEADER_TIMEOUT_MS", "BODY_TIMEOUT_MS", "KEEPALIVE_TIMEOUT_MS", "SHUTDOWN_GRACE_MS", "HISTORY_SIZE", "LOG_LEVEL", "SERVICES_DIR",
      "DOCS_ENABLE", "OPENAPI_TITLE", "DOCS_UI_DIR", "CONFIG_SOURCE", "CONFIG_WATCH_INTERVAL",
      "CONFIG_SOURCE_TIMEOUT_MS", "POLARIS_URL", "POLARIS_USERNAME", "POLARIS_PASSWORD",
      "PROJECT_NAME", "POLARIS_CLUSTER", "SERVICE_SUB", "VERSION", "CONFIG_FILE",
      "ETCD_ENDPOINTS", "ETCD_PREFIX", "NODE_ID", "ACK_TTL_S"};
  BOOST_TEST(known_keys() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(restart_keys_are_listeners_threads_timeouts_services_dir_and_source) {
  const std::vector<std::string> expected = {
      "SERVICE_HOST",      "SERVICE_PORT",    "HTTP_THREADS",         "ADMIN_HOST", "ADMIN_PORT",
      "CAF_ADMIN_HOST",    "CAF_ADMIN_PORT",  "HEADER_TIMEOUT_MS",    "BODY_TIMEOUT_MS",
      "KEEPALIVE_TIMEOUT_MS", "SERVICES_DIR", "CONFIG_SOURCE", "CONFIG_SOURCE_TIMEOUT_MS",
      "POLARIS_URL", "POLARIS_USERNAME", "POLARIS_PASSWORD", "PROJECT_NAME", "POLARIS_CLUSTER",
      "SERVICE_SUB", "VERSION", "CONFIG_FILE", "ETCD_ENDPOINTS", "ETCD_PREFIX", "NODE_ID",
      "ACK_TTL_S"};
  BOOST_TEST(restart_keys() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_file_gives_every_default) {
  const Settings s = settings_of("");
  BOOST_TEST(s.service_host == "0.0.0.0");
  BOOST_TEST(s.service_port == 18668);
  BOOST_TEST(s.http_threads == core_count());
  BOOST_TEST(s.http_threads >= 1u);
  BOOST_TEST(s.admin_host == "127.0.0.1");
  BOOST_TEST(s.admin_port == 18669);
  BOOST_TEST(s.admin_token == "");
  BOOST_TEST(s.hot_reload_enable);
  BOOST_TEST(s.reload_debounce.count() == 50);
  BOOST_TEST(s.rescan_interval.count() == 30);
  BOOST_TEST(s.max_request_bytes == 1048576u);
  BOOST_TEST(s.header_timeout.count() == 60000);
  BOOST_TEST(s.body_timeout.count() == 60000);
  BOOST_TEST(s.keepalive_timeout.count() == 75000);
  BOOST_TEST(s.shutdown_grace.count() == 10000);
  BOOST_TEST(to_string(s.log_level) == std::string("info"));
  BOOST_TEST(s.services_dir == "");
}

BOOST_AUTO_TEST_CASE(every_known_key_can_be_set) {
  const Settings s = settings_of(
      "SERVICE_HOST=localhost\nSERVICE_PORT=8080\nHTTP_THREADS=3\nADMIN_HOST=10.1.2.3\n"
      "ADMIN_PORT=0\nADMIN_TOKEN='s3cr#t'\nHOT_RELOAD_ENABLE=no\nRELOAD_DEBOUNCE_MS=0\n"
      "RESCAN_INTERVAL_S=86400\nMAX_REQUEST_BYTES=1073741824\nHEADER_TIMEOUT_MS=500\n"
      "BODY_TIMEOUT_MS=3600000\nKEEPALIVE_TIMEOUT_MS=1000\nSHUTDOWN_GRACE_MS=3600000\n"
      "LOG_LEVEL=WARN\nSERVICES_DIR=../svc\n");
  BOOST_TEST(s.service_host == "localhost");
  BOOST_TEST(s.service_port == 8080);
  BOOST_TEST(s.http_threads == 3u);
  BOOST_TEST(s.admin_host == "10.1.2.3");
  BOOST_TEST(s.admin_port == 0);
  BOOST_TEST(s.admin_token == "s3cr#t");
  BOOST_TEST(!s.hot_reload_enable);
  BOOST_TEST(s.reload_debounce.count() == 0);
  BOOST_TEST(s.rescan_interval.count() == 86400);
  BOOST_TEST(s.max_request_bytes == 1073741824u);
  BOOST_TEST(s.header_timeout.count() == 500);
  BOOST_TEST(s.body_timeout.count() == 3600000);
  BOOST_TEST(s.keepalive_timeout.count() == 1000);
  BOOST_TEST(s.shutdown_grace.count() == 3600000);
  BOOST_TEST(to_string(s.log_level) == std::string("warn"));
  BOOST_TEST(s.services_dir == "../svc");
}

BOOST_AUTO_TEST_CASE(integer_range_bounds_are_inclusive) {
  BOOST_TEST(settings_of("SERVICE_PORT=1").service_port == 1);
  BOOST_TEST(settings_of("SERVICE_PORT=65535").service_port == 65535);
  BOOST_TEST(settings_of("HTTP_THREADS=1").http_threads == 1u);
  BOOST_TEST(settings_of("HTTP_THREADS=256").http_threads == 256u);
  BOOST_TEST(settings_of("MAX_REQUEST_BYTES=1").max_request_bytes == 1u);
  BOOST_TEST(settings_of("RELOAD_DEBOUNCE_MS=60000").reload_debounce.count() == 60000);
  BOOST_TEST(settings_of("SERVICE_PORT=0080").service_port ==
             80);  // leading zeros are still decimal
}

BOOST_AUTO_TEST_CASE(booleans_accept_every_documented_word_in_any_case) {
  const std::pair<const char*, bool> cases[] = {
      {"true", true},   {"TRUE", true},   {"1", true},  {"yes", true}, {"Yes", true},
      {"false", false}, {"False", false}, {"0", false}, {"no", false}, {"NO", false}};
  for (const auto& [word, expected] : cases) {
    BOOST_TEST_CONTEXT(word) {
      BOOST_TEST(settings_of(std::string("HOT_RELOAD_ENABLE=") + word).hot_reload_enable ==
                 expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(log_levels_are_case_insensitive) {
  BOOST_TEST(to_string(settings_of("LOG_LEVEL=debug").log_level) == std::string("debug"));
  BOOST_TEST(to_string(settings_of("LOG_LEVEL=Info").log_level) == std::string("info"));
  BOOST_TEST(to_string(settings_of("LOG_LEVEL=WARN").log_level) == std::string("warn"));
  BOOST_TEST(to_string(settings_of("LOG_LEVEL=eRRoR").log_level) == std::string("error"));
}

BOOST_AUTO_TEST_CASE(log_level_names) {
  BOOST_TEST(std::string(to_string(LogLevel::debug)) == "debug");
  BOOST_TEST(std::string(to_string(LogLevel::info)) == "info");
  BOOST_TEST(std::string(to_string(LogLevel::warn)) == "warn");
  BOOST_TEST(std::string(to_string(LogLevel::error)) == "error");
}

BOOST_AUTO_TEST_CASE(valid_hosts) {
  for (const char* host :
       {"0.0.0.0", "255.255.255.255", "localhost", "my-host.example.com", "h1", "10.0.0.1"}) {
    BOOST_TEST_CONTEXT(host) {
      BOOST_TEST(settings_of(std::string("SERVICE_HOST=") + host).service_host == host);
      BOOST_TEST(settings_of(std::string("ADMIN_HOST=") + host).admin_host == host);
    }
  }
}

BOOST_AUTO_TEST_CASE(admin_token_and_services_dir_accept_any_string) {
  const auto snapshot = snapshot_of("ADMIN_TOKEN=\"  a b\\n\"\nSERVICES_DIR=\n");
  BOOST_TEST(snapshot->settings.admin_token == "  a b\n");
  BOOST_TEST(snapshot->settings.services_dir == "");
}

// ---- invalid values: one error per class, each naming file, line, key, value and expectation ----

BOOST_AUTO_TEST_CASE(non_integer_values_are_refused) {
  for (const char* value : {"abc", "4.2", "12abc", "-1", "+1", " 1", "1 ", "", "0x10", "1e3"})
    check_invalid("SERVICE_PORT", value, kPortRange);
  check_invalid("HTTP_THREADS", "four", "an integer 1-256");
  check_invalid("RESCAN_INTERVAL_S", "30s", "an integer 0-86400");
}

BOOST_AUTO_TEST_CASE(out_of_range_integers_are_refused) {
  check_invalid("SERVICE_PORT", "0", kPortRange);
  check_invalid("SERVICE_PORT", "65536", kPortRange);
  check_invalid("SERVICE_PORT", "99999999999999999999999999", kPortRange);  // would overflow uint64
  check_invalid("HTTP_THREADS", "0", "an integer 1-256");
  check_invalid("HTTP_THREADS", "257", "an integer 1-256");
  check_invalid("ADMIN_PORT", "65536", "an integer 0-65535");
  check_invalid("RELOAD_DEBOUNCE_MS", "60001", "an integer 0-60000");
  check_invalid("RESCAN_INTERVAL_S", "86401", "an integer 0-86400");
  check_invalid("MAX_REQUEST_BYTES", "0", "an integer 1-1073741824");
  check_invalid("MAX_REQUEST_BYTES", "1073741825", "an integer 1-1073741824");
  check_invalid("SHUTDOWN_GRACE_MS", "3600001", "an integer 0-3600000");
  check_invalid("HISTORY_SIZE", "0", "an integer 1-1000");
  check_invalid("HISTORY_SIZE", "1001", "an integer 1-1000");
  for (const char* key : {"HEADER_TIMEOUT_MS", "BODY_TIMEOUT_MS", "KEEPALIVE_TIMEOUT_MS"}) {
    check_invalid(key, "499", "an integer 500-3600000");  // below Pistache's 500 ms check period
    check_invalid(key, "3600001", "an integer 500-3600000");
  }
}

BOOST_AUTO_TEST_CASE(bad_booleans_are_refused) {
  for (const char* value : {"on", "off", "y", "2", "", "truee"})
    check_invalid("HOT_RELOAD_ENABLE", value, kBoolWords);
}

BOOST_AUTO_TEST_CASE(bad_log_levels_are_refused) {
  for (const char* value : {"verbose", "warning", "", "trace"})
    check_invalid("LOG_LEVEL", value, "debug, info, warn or error");
}

BOOST_AUTO_TEST_CASE(bad_hosts_are_refused) {
  for (const char* value :
       {"", "999.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "my host", "-bad.example",
        "bad-.example", "a..b", "host_name", "::1", "example.com."}) {
    check_invalid("SERVICE_HOST", value, kHostForms);
    check_invalid("ADMIN_HOST", value, kHostForms);
  }
}

BOOST_AUTO_TEST_CASE(error_names_the_line_of_the_winning_occurrence) {
  BOOST_TEST(error_of("SERVICE_PORT=1\n# comment\nSERVICE_PORT=abc\n") ==
             kPath + ":3: SERVICE_PORT=\"abc\": expected " + kPortRange);
  // An invalid earlier occurrence is overridden, so it is not an error.
  BOOST_TEST(settings_of("SERVICE_PORT=abc\nSERVICE_PORT=81\n").service_port == 81);
}

BOOST_AUTO_TEST_CASE(error_from_the_environment_says_so) {
  BOOST_TEST(error_of("SERVICE_PORT=80\n", {{"SERVICE_PORT", "abc"}}) ==
             "environment: SERVICE_PORT=\"abc\": expected " + kPortRange);
}

BOOST_AUTO_TEST_CASE(error_from_a_flag_says_so) {
  BOOST_TEST(error_of("", {}, {{"LOG_LEVEL", "loud"}}) ==
             "command line: LOG_LEVEL=\"loud\": expected debug, info, warn or error");
}

BOOST_AUTO_TEST_CASE(every_error_is_collected_in_key_order) {
  const auto errors = errors_of("LOG_LEVEL=loud\nSERVICE_PORT=x\nHOT_RELOAD_ENABLE=maybe\n",
                                {{"ADMIN_HOST", "bad host"}});
  BOOST_REQUIRE_EQUAL(errors.size(), 4u);
  BOOST_TEST(errors[0] == kPath + ":2: SERVICE_PORT=\"x\": expected " + kPortRange);
  BOOST_TEST(errors[1] == "environment: ADMIN_HOST=\"bad host\": expected " + kHostForms);
  BOOST_TEST(errors[2] == kPath + ":3: HOT_RELOAD_ENABLE=\"maybe\": expected " + kBoolWords);
  BOOST_TEST(errors[3] == kPath + ":1: LOG_LEVEL=\"loud\": expected debug, info, warn or error");
}

BOOST_AUTO_TEST_CASE(parse_error_is_the_only_error) {
  const auto errors = errors_of("A=1\nSERVICE_PORT=abc\nB=\"open\n");
  BOOST_REQUIRE_EQUAL(errors.size(), 1u);
  BOOST_TEST(errors[0] == kPath + ":3: unterminated double quote");
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_never_errors) {
  const auto snapshot = snapshot_of("MY_VAR=anything at all\nsvc.echo.greeting=hi\n");
  BOOST_TEST(snapshot->values.at("MY_VAR") == "anything at all");
  BOOST_TEST(snapshot->values.at("svc.echo.greeting") == "hi");
}

// ---- precedence: flag > environment > file > default ----

BOOST_AUTO_TEST_CASE(each_source_overrides_the_one_below) {
  const std::string file = "SERVICE_PORT=1000\n";
  BOOST_TEST(settings_of("").service_port == 18668);
  BOOST_TEST(settings_of(file).service_port == 1000);
  BOOST_TEST(settings_of(file, {{"SERVICE_PORT", "2000"}}).service_port == 2000);
  BOOST_TEST(
      settings_of(file, {{"SERVICE_PORT", "2000"}}, {{"SERVICE_PORT", "3000"}}).service_port ==
      3000);
}

BOOST_AUTO_TEST_CASE(known_key_only_in_the_environment_applies) {
  const auto snapshot = snapshot_of("A=1\n", {{"LOG_LEVEL", "debug"}});
  BOOST_TEST(to_string(snapshot->settings.log_level) == std::string("debug"));
  BOOST_TEST(snapshot->values.count("LOG_LEVEL") == 0u);  // `values` only holds keys of the file
}

BOOST_AUTO_TEST_CASE(flag_makes_an_invalid_file_or_environment_value_irrelevant) {
  const Settings s = settings_of("SERVICE_PORT=abc\nLOG_LEVEL=loud\n", {{"LOG_LEVEL", "nope"}},
                                 {{"SERVICE_PORT", "9000"}, {"LOG_LEVEL", "error"}});
  BOOST_TEST(s.service_port == 9000);
  BOOST_TEST(to_string(s.log_level) == std::string("error"));
}

BOOST_AUTO_TEST_CASE(environment_makes_an_invalid_file_value_irrelevant) {
  BOOST_TEST(settings_of("HTTP_THREADS=many\n", {{"HTTP_THREADS", "4"}}).http_threads == 4u);
}

BOOST_AUTO_TEST_CASE(values_hold_file_keys_with_the_environment_on_top) {
  const auto snapshot = snapshot_of(
      "GREETING=hello\nNAME=file\nNAME=last\nSERVICE_PORT=1000\n",
      {{"GREETING", "from env"}, {"ENV_ONLY", "x"}, {"SERVICE_PORT", "2000"}}, {{"NAME", "flag"}});
  const Vars expected = {{"GREETING", "from env"}, {"NAME", "last"}, {"SERVICE_PORT", "2000"}};
  BOOST_TEST(describe(snapshot->values) == describe(expected));
}

BOOST_AUTO_TEST_CASE(snapshot_keeps_path_overrides_and_environment) {
  const auto snapshot = snapshot_of("A=1\n", {{"E", "env"}}, {{"SERVICE_PORT", "81"}});
  BOOST_TEST(snapshot->path == kPath);
  BOOST_TEST(describe(snapshot->overrides) == "SERVICE_PORT=81;");
  BOOST_REQUIRE(snapshot->environment);
  BOOST_TEST(snapshot->environment("E").value_or("") == "env");
}

// ---- lookup ----

BOOST_AUTO_TEST_CASE(lookup_prefers_flag_then_environment_then_file) {
  const auto snapshot = snapshot_of("A=file\nB=file\nC=file\n",
                                    {{"B", "env"}, {"C", "env"}, {"D", "env"}}, {{"C", "flag"}});
  BOOST_TEST(snapshot->lookup("A").value_or("?") == "file");
  BOOST_TEST(snapshot->lookup("B").value_or("?") == "env");
  BOOST_TEST(snapshot->lookup("C").value_or("?") == "flag");
  BOOST_TEST(snapshot->lookup("D").value_or("?") == "env");  // not in the file: still found
  BOOST_TEST(!snapshot->lookup("MISSING").has_value());
}

BOOST_AUTO_TEST_CASE(lookup_works_without_an_environment) {
  ConfigSnapshot snapshot;
  snapshot.values = {{"A", "file"}};
  BOOST_TEST(snapshot.lookup("A").value_or("?") == "file");
  BOOST_TEST(!snapshot.lookup("B").has_value());
}

// ---- effective values and redaction ----

BOOST_AUTO_TEST_CASE(effective_values_render_known_keys_from_settings) {
  const auto values =
      snapshot_of(
          "HOT_RELOAD_ENABLE=No\nLOG_LEVEL=WARN\nRELOAD_DEBOUNCE_MS=0075\nHTTP_THREADS=2\n"
          "SERVICES_DIR=svc\nUSER_VAR=u\n")
          ->effective_values(false);
  BOOST_TEST(values.size() == known_keys().size() + 1);
  BOOST_TEST(values.at("HOT_RELOAD_ENABLE") == "false");
  BOOST_TEST(values.at("LOG_LEVEL") == "warn");
  BOOST_TEST(values.at("RELOAD_DEBOUNCE_MS") == "75");
  BOOST_TEST(values.at("RESCAN_INTERVAL_S") == "30");
  BOOST_TEST(values.at("SHUTDOWN_GRACE_MS") == "10000");
  BOOST_TEST(values.at("MAX_REQUEST_BYTES") == "1048576");
  BOOST_TEST(values.at("SERVICE_PORT") == "18668");
  BOOST_TEST(values.at("HTTP_THREADS") == "2");
  BOOST_TEST(values.at("SERVICE_HOST") == "0.0.0.0");
  BOOST_TEST(values.at("SERVICES_DIR") == "svc");
  BOOST_TEST(values.at("USER_VAR") == "u");
}

BOOST_AUTO_TEST_CASE(effective_values_follow_flags) {
  const auto values =
      snapshot_of("SERVICE_PORT=1000\n", {}, {{"SERVICE_PORT", "3000"}})->effective_values(false);
  BOOST_TEST(values.at("SERVICE_PORT") == "3000");
}

BOOST_AUTO_TEST_CASE(redaction_hides_non_empty_secrets_only) {
  const auto snapshot = snapshot_of(
      "ADMIN_TOKEN=t0k\nDB_PASSWORD=pw\napi_key=k\nMy_Secret_Thing=s\nEMPTY_SECRET=\nPLAIN="
      "visible\n");
  const auto redacted = snapshot->effective_values(true);
  BOOST_TEST(redacted.at("ADMIN_TOKEN") == "***");
  BOOST_TEST(redacted.at("DB_PASSWORD") == "***");
  BOOST_TEST(redacted.at("api_key") == "***");
  BOOST_TEST(redacted.at("My_Secret_Thing") == "***");
  BOOST_TEST(redacted.at("EMPTY_SECRET") == "");
  BOOST_TEST(redacted.at("PLAIN") == "visible");
  BOOST_TEST(redacted.at("LOG_LEVEL") == "info");

  const auto clear = snapshot->effective_values(false);
  BOOST_TEST(clear.at("ADMIN_TOKEN") == "t0k");
  BOOST_TEST(clear.at("DB_PASSWORD") == "pw");
}

BOOST_AUTO_TEST_CASE(empty_admin_token_stays_empty_when_redacted) {
  BOOST_TEST(snapshot_of("")->effective_values(true).at("ADMIN_TOKEN") == "");
}

BOOST_AUTO_TEST_CASE(secret_keys_are_recognised_case_insensitively) {
  for (const char* key :
       {"ADMIN_TOKEN", "token", "API_KEY", "KeyRing", "db_password", "PASSWORD", "mySecret"})
    BOOST_TEST(is_secret_key(key), key);
  for (const char* key : {"SERVICE_PORT", "LOG_LEVEL", "PASSWD", "USER", ""})
    BOOST_TEST(!is_secret_key(key), key);
}

// ---- loading from disk and the process environment ----

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("aitools-settings-test-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
    return (path / name).string();
  }
};

BOOST_FIXTURE_TEST_CASE(load_config_reads_the_whole_file, TempDir) {
  const std::string file =
      write("app.env", "\xEF\xBB\xBFSERVICE_PORT=81\r\nTOKEN=\"a\\nb\"\r\nLAST=x");
  const ConfigLoadResult result = load_config(file, {{"LOG_LEVEL", "debug"}}, environment_of({}));
  BOOST_REQUIRE_MESSAGE(result.ok(), joined(result.errors));
  BOOST_TEST(result.snapshot->path == file);
  BOOST_TEST(result.snapshot->settings.service_port == 81);
  BOOST_TEST(to_string(result.snapshot->settings.log_level) == std::string("debug"));
  BOOST_TEST(result.snapshot->values.at("TOKEN") == "a\nb");
  BOOST_TEST(result.snapshot->values.at("LAST") == "x");
}

BOOST_FIXTURE_TEST_CASE(load_config_reports_errors_with_the_file_path, TempDir) {
  const std::string file = write("bad.env", "A=1\nSERVICE_PORT=http\n");
  const ConfigLoadResult result = load_config(file, {}, environment_of({}));
  BOOST_REQUIRE_EQUAL(result.errors.size(), 1u);
  BOOST_TEST(result.errors[0] == file + ":2: SERVICE_PORT=\"http\": expected " + kPortRange);
}

BOOST_FIXTURE_TEST_CASE(unreadable_config_file_is_an_error_naming_the_path, TempDir) {
  const std::string missing = (path / "missing.env").string();
  const ConfigLoadResult result = load_config(missing, {}, environment_of({}));
  BOOST_TEST(!result.ok());
  BOOST_REQUIRE_EQUAL(result.errors.size(), 1u);
  BOOST_TEST(result.errors[0] == missing + ": cannot read config file: No such file or directory");

  const ConfigLoadResult directory = load_config(path.string(), {}, environment_of({}));
  BOOST_REQUIRE_EQUAL(directory.errors.size(), 1u);
  BOOST_TEST(directory.errors[0] == path.string() + ": cannot read config file: Is a directory");
}

BOOST_AUTO_TEST_CASE(process_environment_reads_getenv) {
  const char* name = "AITOOLS_SETTINGS_TEST_ONLY_VARIABLE";
  ::setenv(name, "42", 1);
  const EnvLookup lookup = process_environment();
  BOOST_TEST(lookup(name).value_or("") == "42");
  ::unsetenv(name);
  BOOST_TEST(!lookup(name).has_value());
}

// ---- comparison, restart keys ----

namespace {
// One mutation per field, so that equality and restart checks see every field.
const std::pair<const char*, std::function<void(Settings&)>> kFieldChanges[] = {
    {"SERVICE_HOST", [](Settings& s) { s.service_host = "localhost"; }},
    {"SERVICE_PORT", [](Settings& s) { s.service_port = 1; }},
    {"HTTP_THREADS", [](Settings& s) { s.http_threads = 99; }},
    {"ADMIN_HOST", [](Settings& s) { s.admin_host = "0.0.0.0"; }},
    {"ADMIN_PORT", [](Settings& s) { s.admin_port = 0; }},
    {"ADMIN_TOKEN", [](Settings& s) { s.admin_token = "t"; }},
    {"CAF_ADMIN_HOST", [](Settings& s) { s.caf_admin_host = "0.0.0.0"; }},
    {"CAF_ADMIN_PORT", [](Settings& s) { s.caf_admin_port = 1; }},
    {"HOT_RELOAD_ENABLE", [](Settings& s) { s.hot_reload_enable = false; }},
    {"RELOAD_DEBOUNCE_MS", [](Settings& s) { s.reload_debounce = 1ms; }},
    {"RESCAN_INTERVAL_S", [](Settings& s) { s.rescan_interval = 0s; }},
    {"MAX_REQUEST_BYTES", [](Settings& s) { s.max_request_bytes = 5; }},
    {"HEADER_TIMEOUT_MS", [](Settings& s) { s.header_timeout = 500ms; }},
    {"BODY_TIMEOUT_MS", [](Settings& s) { s.body_timeout = 500ms; }},
    {"KEEPALIVE_TIMEOUT_MS", [](Settings& s) { s.keepalive_timeout = 500ms; }},
    {"SHUTDOWN_GRACE_MS", [](Settings& s) { s.shutdown_grace = 0ms; }},
    {"HISTORY_SIZE", [](Settings& s) { s.history_size = 1; }},
    {"LOG_LEVEL", [](Settings& s) { s.log_level = LogLevel::error; }},
    {"SERVICES_DIR", [](Settings& s) { s.services_dir = "/srv"; }},
    {"DOCS_ENABLE", [](Settings& s) { s.docs_enable = false; }},
    {"OPENAPI_TITLE", [](Settings& s) { s.openapi_title = "x"; }},
    {"DOCS_UI_DIR", [](Settings& s) { s.docs_ui_dir = "/ui"; }},
    {"CONFIG_SOURCE", [](Settings& s) { s.config_source = ConfigSource::etcd; }},
    {"CONFIG_WATCH_INTERVAL", [](Settings& s) { s.config_watch_interval = 1s; }},
    {"CONFIG_SOURCE_TIMEOUT_MS", [](Settings& s) { s.config_source_timeout = 100ms; }},
    {"POLARIS_URL", [](Settings& s) { s.polaris_url = "http://p"; }},
    {"POLARIS_USERNAME", [](Settings& s) { s.polaris_username = "u"; }},
    {"POLARIS_PASSWORD", [](Settings& s) { s.polaris_password = "p"; }},
    {"PROJECT_NAME", [](Settings& s) { s.project_name = "p"; }},
    {"POLARIS_CLUSTER", [](Settings& s) { s.polaris_cluster = "c"; }},
    {"SERVICE_SUB", [](Settings& s) { s.service_sub = "s"; }},
    {"VERSION", [](Settings& s) { s.version = "2"; }},
    {"CONFIG_FILE", [](Settings& s) { s.config_file = "x.env"; }},
    {"ETCD_ENDPOINTS", [](Settings& s) { s.etcd_endpoints = "http://e:1"; }},
    {"ETCD_PREFIX", [](Settings& s) { s.etcd_prefix = "/x"; }},
    {"NODE_ID", [](Settings& s) { s.node_id = "n"; }},
    {"ACK_TTL_S", [](Settings& s) { s.ack_ttl = 2s; }},
};
}  // namespace

BOOST_AUTO_TEST_CASE(equality_compares_every_field) {
  BOOST_TEST((Settings{} == Settings{}));
  BOOST_TEST(std::size(kFieldChanges) == known_keys().size());
  for (const auto& [key, change] : kFieldChanges) {
    Settings changed;
    change(changed);
    BOOST_TEST((changed != Settings{}), key);
    BOOST_TEST(!(changed == Settings{}), key);
  }
}

BOOST_AUTO_TEST_CASE(restart_required_names_only_changed_restart_keys) {
  const Settings running;
  for (const auto& [key, change] : kFieldChanges) {
    Settings candidate;
    change(candidate);
    const bool restart = std::count(restart_keys().begin(), restart_keys().end(), key) == 1;
    const std::vector<std::string> expected =
        restart ? std::vector<std::string>{key} : std::vector<std::string>{};
    BOOST_TEST(restart_required(running, candidate) == expected, key);
  }
}

BOOST_AUTO_TEST_CASE(restart_required_lists_keys_in_known_key_order) {
  Settings candidate;
  candidate.services_dir = "/srv";
  candidate.admin_port = 1;
  candidate.service_host = "localhost";
  candidate.log_level = LogLevel::debug;
  const std::vector<std::string> expected = {"SERVICE_HOST", "ADMIN_PORT", "SERVICES_DIR"};
  BOOST_TEST(restart_required(Settings{}, candidate) == expected, boost::test_tools::per_element());
  BOOST_TEST(restart_required(candidate, candidate).empty());
}

BOOST_AUTO_TEST_CASE(pin_restart_keys_keeps_running_listeners_and_new_reloadables) {
  const Settings running;
  Settings candidate;
  for (const auto& field : kFieldChanges) field.second(candidate);
  const Settings pinned = pin_restart_keys(candidate, running);
  BOOST_TEST(restart_required(running, pinned).empty());
  BOOST_TEST(pinned.service_host == running.service_host);
  BOOST_TEST(pinned.service_port == running.service_port);
  BOOST_TEST(pinned.http_threads == running.http_threads);
  BOOST_TEST(pinned.admin_host == running.admin_host);
  BOOST_TEST(pinned.admin_port == running.admin_port);
  BOOST_TEST(pinned.header_timeout.count() == running.header_timeout.count());
  BOOST_TEST(pinned.body_timeout.count() == running.body_timeout.count());
  BOOST_TEST(pinned.keepalive_timeout.count() == running.keepalive_timeout.count());
  BOOST_TEST(pinned.services_dir == running.services_dir);
  BOOST_TEST(pinned.admin_token == candidate.admin_token);
  BOOST_TEST(pinned.hot_reload_enable == candidate.hot_reload_enable);
  BOOST_TEST(pinned.reload_debounce.count() == candidate.reload_debounce.count());
  BOOST_TEST(pinned.rescan_interval.count() == candidate.rescan_interval.count());
  BOOST_TEST(pinned.max_request_bytes == candidate.max_request_bytes);
  BOOST_TEST(pinned.shutdown_grace.count() == candidate.shutdown_grace.count());
  BOOST_TEST(to_string(pinned.log_level) == std::string(to_string(candidate.log_level)));
}

// ---- services directory ----

namespace {
std::string services_dir_for(const std::string& path, const std::string& services_dir) {
  ConfigSnapshot snapshot;
  snapshot.path = path;
  snapshot.settings.services_dir = services_dir;
  return resolve_services_dir(snapshot);
}
}  // namespace

BOOST_AUTO_TEST_CASE(services_dir_defaults_to_services_beside_the_env_file) {
  BOOST_TEST(services_dir_for("/etc/aitools/app.env", "") == "/etc/aitools/services");
  BOOST_TEST(services_dir_for("conf/app.env", "") == "conf/services");
  BOOST_TEST(services_dir_for("app.env", "") == "services");
}

BOOST_AUTO_TEST_CASE(relative_services_dir_is_relative_to_the_env_file) {
  BOOST_TEST(services_dir_for("/etc/aitools/app.env", "svc") == "/etc/aitools/svc");
  BOOST_TEST(services_dir_for("/etc/aitools/app.env", "./a/../b") == "/etc/aitools/b");
  BOOST_TEST(services_dir_for("/etc/aitools/app.env", "../shared") == "/etc/shared");
  BOOST_TEST(services_dir_for("conf/app.env", "../svc") == "svc");
  BOOST_TEST(services_dir_for("app.env", "../svc") == "../svc");
}

BOOST_AUTO_TEST_CASE(absolute_services_dir_is_used_as_is) {
  BOOST_TEST(services_dir_for("/etc/aitools/app.env", "/srv/services") == "/srv/services");
  BOOST_TEST(services_dir_for("app.env", "/srv//x/../services") == "/srv/services");
}

// ---- a config source's values (config/remote.hpp) ----

namespace {
RemoteValues remote_of(const Vars& vars) {
  RemoteValues remote;
  for (const auto& [key, value] : vars) remote[key] = {value, "etcd /c/config/" + key};
  return remote;
}
}  // namespace

BOOST_AUTO_TEST_CASE(remote_values_sit_between_the_environment_and_the_file) {
  const auto snapshot =
      build_config("LOG_LEVEL=warn\nA=file\nB=file\nC=file\n", kPath, {{"LOG_LEVEL", "debug"}},
                   environment_of({{"B", "env"}}),
                   remote_of({{"LOG_LEVEL", "error"}, {"A", "remote"}, {"B", "remote"}, {"D", "remote"}}))
          .snapshot;
  BOOST_REQUIRE(snapshot);
  BOOST_TEST((snapshot->settings.log_level == LogLevel::debug));  // a flag beats everything
  BOOST_TEST(snapshot->values.at("A") == "remote");             // remote beats the file
  BOOST_TEST(snapshot->values.at("B") == "env");                // the environment beats remote
  BOOST_TEST(snapshot->values.at("C") == "file");
  BOOST_TEST(snapshot->values.at("D") == "remote");             // a key only the source has
  BOOST_TEST(snapshot->lookup("D").value_or("") == "remote");
  const auto without = build_config("A=file\n", kPath, {}, environment_of({}), remote_of({}));
  BOOST_TEST(without.snapshot->values.count("D") == 0);  // a key gone from the source is gone
  BOOST_TEST((build_config("", kPath, {}, environment_of({}), remote_of({{"LOG_LEVEL", "warn"}}))
                  .snapshot->settings.log_level == LogLevel::warn));
}

BOOST_AUTO_TEST_CASE(an_invalid_remote_value_names_its_origin) {
  const auto result =
      build_config("", kPath, {}, environment_of({}), remote_of({{"LOG_LEVEL", "loud"}}));
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.errors.at(0) ==
             "etcd /c/config/LOG_LEVEL: LOG_LEVEL=\"loud\": expected debug, info, warn or error");
}

BOOST_AUTO_TEST_CASE(config_source_settings_are_validated) {
  const Settings s = settings_of(
      "CONFIG_SOURCE=ETCD\nETCD_ENDPOINTS=http://10.0.0.1:2379/, http://e2:2379\n"
      "ETCD_PREFIX=/aitools/prod\nNODE_ID=node-1\nACK_TTL_S=5\nCONFIG_WATCH_INTERVAL=1\n");
  BOOST_TEST((s.config_source == ConfigSource::etcd));
  BOOST_TEST(etcd_endpoints(s) ==
                 (std::vector<std::string>{"http://10.0.0.1:2379", "http://e2:2379"}),
             boost::test_tools::per_element());
  BOOST_TEST(s.etcd_prefix == "/aitools/prod");
  BOOST_TEST(node_name(s, 1) == "node-1");
  BOOST_TEST(node_name(Settings{}, 8080).find(":8080") != std::string::npos);
  BOOST_TEST((s.config_watch_interval == 1s));  // no silent 60 s floor
  for (const char* bad :
       {"CONFIG_SOURCE=consul", "CONFIG_WATCH_INTERVAL=0", "ETCD_ENDPOINTS=https://e:2379",
        "ETCD_ENDPOINTS=http://e:2379,", "ETCD_ENDPOINTS=http://e:99999", "ETCD_ENDPOINTS=http://e:1/v3",
        "ETCD_PREFIX=aitools", "ETCD_PREFIX=/aitools/", "ETCD_PREFIX=/a b", "ETCD_PREFIX=/a//b",
        "NODE_ID=a/b", "NODE_ID=a b", "POLARIS_URL=ftp://p", "POLARIS_URL=http://u@p",
        "POLARIS_URL=http://p?x=1", "ACK_TTL_S=1"})
    BOOST_TEST(!build(std::string(bad) + "\n").ok(), bad);
  BOOST_TEST(settings_of("POLARIS_URL=https://polaris.example:8090/base/\n").polaris_url ==
             "https://polaris.example:8090/base");
  const auto no_url = build("CONFIG_SOURCE=polaris\n");
  BOOST_REQUIRE(!no_url.ok());
  BOOST_TEST(no_url.errors.at(0) == kPath + ": CONFIG_SOURCE=polaris: expected POLARIS_URL to be set");
}

BOOST_AUTO_TEST_CASE(services_dir_from_a_loaded_config) {
  BOOST_TEST(resolve_services_dir(*snapshot_of("SERVICES_DIR=plugins\n")) ==
             "/etc/aitools/plugins");
}

BOOST_AUTO_TEST_SUITE_END()
