// aitools-ctl without a server: the table formatter, the command line, the admin URL, and
// the commands against a scripted transport (what they send, print and exit with).
#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctl/cli.hpp"
#include "ctl/commands.hpp"
#include "ctl/http_client.hpp"
#include "ctl/table.hpp"

using namespace aitools::ctl;
using namespace std::chrono_literals;

namespace {

std::string render(const Table& table) {
  std::ostringstream out;
  table.print(out);
  return out.str();
}

Invocation parse(const std::vector<std::string>& args, const Environment& environment = {}) {
  Invocation invocation;
  std::string error;
  BOOST_REQUIRE_MESSAGE(parse_command_line(args, environment, invocation, error), error);
  return invocation;
}

std::string parse_error(const std::vector<std::string>& args) {
  Invocation invocation;
  std::string error;
  BOOST_TEST(!parse_command_line(args, {}, invocation, error));
  return error;
}

std::string url_error(const std::string& text) {
  std::string error;
  BOOST_TEST(!parse_admin_url(text, error).has_value(), text);
  return error;
}

// Answers each request with the next scripted answer and records what was sent.
class ScriptedTransport : public Transport {
 public:
  explicit ScriptedTransport(std::deque<AdminAnswer> answers) : answers_(std::move(answers)) {}
  AdminAnswer send(const AdminRequest& request) override {
    sent.push_back(request);
    if (answers_.empty()) throw Unreachable("cannot connect to 127.0.0.1:1: Connection refused");
    auto answer = answers_.front();
    answers_.pop_front();
    return answer;
  }
  std::vector<AdminRequest> sent;

 private:
  std::deque<AdminAnswer> answers_;
};

struct Run {
  int code;
  std::string out, err;
  std::vector<AdminRequest> sent;
};

Run run(const std::vector<std::string>& args, std::deque<AdminAnswer> answers) {
  const Invocation invocation = parse(args);
  ScriptedTransport transport(std::move(answers));
  std::ostringstream out, err;
  const int code = run_command(invocation, transport, out, err);
  return {code, out.str(), err.str(), transport.sent};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/aitools-ctl-unit-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(pattern));
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path + "/" + name) << content;
  }
  std::string path;
};

constexpr const char* kStatus = R"({"generation": 7, "uptime_s": 3725.5,
  "last_reload": {"at": "2026-11-28T04:08:22.564Z", "trigger": "file", "duration_ms": 0.27, "changed": true},
  "config_error": null, "restart_required": [], "rollback": {"to": 5, "disk_differs": true},
  "services": {"greeter": {"state": "active", "file": "greeter.json", "routes": 2, "error": null},
               "broken": {"state": "quarantined", "file": "broken.json", "routes": 0, "error": "line 3, column 5: oops"}}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(ctl_unit)

BOOST_AUTO_TEST_CASE(table_aligns_columns_without_trailing_blanks) {
  Table table({"NAME", "STATE", "ERROR"});
  table.add({"greeter", "active", "-"});
  table.add({"a", "quarantined", "line 1:\nbad"});
  BOOST_TEST(render(table) ==
             "NAME     STATE        ERROR\n"
             "greeter  active       -\n"
             "a        quarantined  line 1: bad\n");
  Table pairs;  // no header: KEY VALUE lines
  pairs.add({"generation", "3"});
  pairs.add({"café", "x"});  // width counts characters, not bytes
  BOOST_TEST(render(pairs) == "generation  3\ncafé        x\n");
}

BOOST_AUTO_TEST_CASE(command_line_defaults_environment_and_flags) {
  auto invocation = parse({"status"});
  BOOST_TEST(invocation.admin == "http://127.0.0.1:18669");
  BOOST_TEST(invocation.token == "");
  BOOST_TEST(!invocation.json);
  BOOST_TEST(invocation.timeout.count() == 10000);
  BOOST_TEST(invocation.command == "status");

  invocation = parse({"routes"}, {std::string("http://10.0.0.1:9"), std::string("env-token")});
  BOOST_TEST(invocation.admin == "http://10.0.0.1:9");
  BOOST_TEST(invocation.token == "env-token");
  // Flags win over the environment, before or after the command, with or without "=".
  invocation = parse({"--admin=http://h:1", "routes", "--token", "t", "--json", "--timeout=0.5"},
                     {std::string("http://10.0.0.1:9"), std::string("env-token")});
  BOOST_TEST(invocation.admin == "http://h:1");
  BOOST_TEST(invocation.token == "t");
  BOOST_TEST(invocation.json);
  BOOST_TEST(invocation.timeout.count() == 500);
  BOOST_TEST(invocation.args.empty());

  // --timeout after wait is the wait's; before it, the request's.
  invocation = parse({"--timeout", "3", "wait", "--generation", "4", "--timeout", "60"});
  BOOST_TEST(invocation.timeout.count() == 3000);
  BOOST_TEST((invocation.args == std::vector<std::string>{"--generation", "4", "--timeout", "60"}));
  invocation = parse({"validate", "--server-paths", "--", "-odd.json"});
  BOOST_TEST((invocation.args == std::vector<std::string>{"--server-paths", "--", "-odd.json"}));

  BOOST_TEST(parse({"--help"}).help);
  BOOST_TEST(parse({"status", "-h"}).help);
  BOOST_TEST(parse({"help"}).help);
}

BOOST_AUTO_TEST_CASE(command_line_errors_say_what_is_wrong) {
  BOOST_TEST(parse_error({}) == "no command given");
  BOOST_TEST(parse_error({"--json"}) == "no command given");
  BOOST_TEST(parse_error({"statuz"}) == "unknown command \"statuz\"");
  BOOST_TEST(parse_error({"--bogus", "x", "status"}) == "unknown option \"--bogus\"");
  BOOST_TEST(parse_error({"status", "--admin"}) == "option --admin needs a value");
  BOOST_TEST(
      contains(parse_error({"--timeout", "0", "status"}), "expected seconds greater than 0"));
  BOOST_TEST(contains(parse_error({"--timeout", "-1", "status"}), "expected seconds"));
  BOOST_TEST(contains(parse_error({"--timeout", "1e3", "status"}), "expected seconds"));
  BOOST_TEST(contains(parse_error({"--token", "a\r\nX-Evil: 1", "status"}), "control characters"));
  BOOST_TEST(parse_error({"--json=yes", "status"}) == "--json takes no value");
}

BOOST_AUTO_TEST_CASE(seconds_both_ways) {
  BOOST_TEST(parse_seconds("10", 600).value().count() == 10000);
  BOOST_TEST(parse_seconds("0.25", 600).value().count() == 250);
  BOOST_TEST(parse_seconds(".5", 600).value().count() == 500);
  BOOST_TEST(parse_seconds("600", 600).value().count() == 600000);
  BOOST_TEST(!parse_seconds("600.1", 600));
  BOOST_TEST(!parse_seconds("", 600));
  BOOST_TEST(!parse_seconds(".", 600));
  BOOST_TEST(!parse_seconds("1.2.3", 600));
  BOOST_TEST(!parse_seconds("5s", 600));
  BOOST_TEST(seconds_text(10000ms) == "10 s");
  BOOST_TEST(seconds_text(250ms) == "0.25 s");
  BOOST_TEST(seconds_text(1500ms) == "1.5 s");
}

BOOST_AUTO_TEST_CASE(admin_url_forms) {
  std::string error;
  auto url = parse_admin_url("http://127.0.0.1:18669", error);
  BOOST_REQUIRE(url);
  BOOST_TEST(url->host == "127.0.0.1");
  BOOST_TEST(url->port == "18669");
  BOOST_TEST(url->prefix == "");
  url = parse_admin_url("HTTP://admin.example/aitools/", error);  // behind a proxy
  BOOST_REQUIRE(url);
  BOOST_TEST(url->host == "admin.example");
  BOOST_TEST(url->port == "80");
  BOOST_TEST(url->prefix == "/aitools");
  url = parse_admin_url("localhost:9000", error);  // no scheme: http
  BOOST_REQUIRE(url);
  BOOST_TEST(url->host == "localhost");
  BOOST_TEST(url->port == "9000");
  url = parse_admin_url("http://[::1]:9000", error);
  BOOST_REQUIRE(url);
  BOOST_TEST(url->host == "::1");
  BOOST_TEST(url->port == "9000");

  BOOST_TEST(contains(url_error("https://127.0.0.1:18669"), "https is not supported"));
  BOOST_TEST(contains(url_error("ftp://h"), "unsupported scheme \"ftp\""));
  for (const char* bad : {"http://h:0", "http://h:65536", "http://h:x", "http://h:"})
    BOOST_TEST(contains(url_error(bad), "the port must be 1-65535"), bad);
  BOOST_TEST(contains(url_error("http://"), "expected http://HOST[:PORT]"));
  BOOST_TEST(contains(url_error("http://user:pw@h"), "use --token"));
  BOOST_TEST(contains(url_error("http://h/x?y=1"), "expected http://HOST[:PORT]"));
  BOOST_TEST(contains(url_error("http://[::1"), "unclosed ["));
}

BOOST_AUTO_TEST_CASE(status_prints_summary_rollback_and_services) {
  const auto result = run({"status"}, {{200, kStatus}});
  BOOST_TEST(result.code == kOk);
  BOOST_REQUIRE(result.sent.size() == 1u);
  BOOST_TEST(result.sent[0].method == "GET");
  BOOST_TEST(result.sent[0].target == "/admin/status");
  BOOST_TEST(contains(result.out, "generation        7\n"));
  BOOST_TEST(contains(result.out, "uptime            1h 2m 5s\n"));
  BOOST_TEST(
      contains(result.out, "last reload       2026-11-28T04:08:22.564Z, file, 0.27 ms, changed\n"));
  BOOST_TEST(contains(result.out, "config error      -\n"));
  BOOST_TEST(contains(result.out,
                      "rollback          serving generation 5 again; the files on disk differ"));
  BOOST_TEST(contains(result.out,
                      "SERVICE  STATE        FILE          ROUTES  ERROR\n"
                      "greeter  active       greeter.json  2       -\n"
                      "broken   quarantined  broken.json   0       line 3, column 5: oops\n"));
  BOOST_TEST(result.err == "");
}

BOOST_AUTO_TEST_CASE(status_prints_the_config_source) {
  const std::string down =
      R"({"generation": 3, "config_source": {"source": "etcd", "endpoint": "http://e:2379",
          "connected": false, "loaded": true, "error": "refused", "version": "42",
          "revision": 42, "since": "2026-11-28T15:00:00.000Z"}, "services": {}})";
  auto result = run({"status"}, {{200, down}});
  BOOST_TEST(contains(result.out, "config source     etcd http://e:2379, unreachable since "
                                  "2026-11-28T15:00:00.000Z: refused, version 42\n"));
  const std::string never =
      R"({"generation": 1, "config_source": {"source": "polaris", "endpoint": "http://p",
          "connected": true, "loaded": false, "error": null, "version": "", "revision": 0,
          "since": "x"}, "services": {}})";
  result = run({"status"}, {{200, never}});
  BOOST_TEST(contains(result.out, "config source     polaris http://p, connected, never loaded "
                                  "(serving the env file alone)\n"));
  result = run({"status"}, {{200, kStatus}});
  BOOST_TEST(!contains(result.out, "config source"));
}

BOOST_AUTO_TEST_CASE(json_prints_the_answer_unchanged) {
  const auto result = run({"--json", "status"}, {{200, kStatus}});
  BOOST_TEST(result.code == kOk);
  BOOST_TEST(result.out == std::string(kStatus) + "\n");
}

BOOST_AUTO_TEST_CASE(errors_and_their_exit_codes) {
  // 401: which token to fix.
  auto result = run({"status"}, {{401, R"({"detail":"Unauthorized"})"}});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(contains(result.err, "needs a token (401 Unauthorized)"));
  result = run({"--token", "bad", "status"}, {{401, R"({"detail":"Unauthorized"})"}});
  BOOST_TEST(contains(result.err, "refused the token"));
  // Another error answer: the server's detail.
  result = run({"rollback", "--to", "99"},
               {{404, R"({"detail":"generation 99 is not in the history"})"}});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(result.sent[0].method == "POST");
  BOOST_TEST(result.sent[0].target == "/admin/rollback?to=99");
  BOOST_TEST(result.err ==
             "aitools-ctl: POST /admin/rollback?to=99 answered 404: generation 99 is not in the "
             "history\n");
  // Not the admin API, not reachable.
  result = run({"routes"}, {{200, "<html>hello</html>"}});
  BOOST_TEST(result.code == kUnreachable);
  BOOST_TEST(contains(result.err, "not JSON"));
  result = run({"routes"}, {});
  BOOST_TEST(result.code == kUnreachable);
  BOOST_TEST(result.err == "aitools-ctl: cannot connect to 127.0.0.1:1: Connection refused\n");
  // Usage errors of a command: the reason, then the usage; nothing is sent.
  result = run({"wait"}, {});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(result.err.rfind("aitools-ctl: wait needs --generation N\n\nUsage:", 0) == 0);
  BOOST_TEST(result.sent.empty());
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"status", "extra"},
                                              {"rollback", "--to", "0"},
                                              {"rollback", "--to", "x"},
                                              {"wait", "--generation", "2", "--timeout", "601"},
                                              {"validate"},
                                              {"diff", "--bogus", "a.json"}}) {
    result = run(bad, {});
    BOOST_TEST(result.code == kFailed, bad[0]);
    BOOST_TEST(contains(result.err, "Usage:"), bad[0]);
    BOOST_TEST(result.sent.empty(), bad[0]);
  }
}

BOOST_AUTO_TEST_CASE(reload_fails_when_something_is_quarantined) {
  const std::string clean =
      R"({"generation": 4, "changed": true, "trigger": "admin", "duration_ms": 0.31,
    "added": ["new"], "removed": [], "updated": ["greeter"], "errors": [], "config_error": null,
    "restart_required": []})";
  auto result = run({"reload"}, {{200, clean}});
  BOOST_TEST(result.code == kOk);
  BOOST_TEST(result.sent[0].method == "POST");
  BOOST_TEST(contains(result.out, "generation  4 (changed)\n"));
  BOOST_TEST(contains(result.out, "added       new\n"));
  BOOST_TEST(contains(result.out, "updated     greeter\n"));
  BOOST_TEST(result.err == "");

  const std::string failed =
      R"({"generation": 4, "changed": false, "trigger": "admin", "duration_ms": 0.3,
    "added": [], "removed": [], "updated": [], "errors": [{"file": "broken.json", "error": "line 1: bad"}],
    "config_error": "LOG_LEVEL: expected one of debug, info, warn, error", "restart_required": []})";
  result = run({"reload"}, {{200, failed}});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(contains(result.out, "errors      broken.json, env file\n"));
  BOOST_TEST(contains(result.err, "aitools-ctl: broken.json: line 1: bad"));
  BOOST_TEST(contains(result.err, "aitools-ctl: env file: LOG_LEVEL: expected one of"));
  result = run({"--json", "reload"}, {{200, failed}});  // the same exit status for scripts
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(result.out == failed + "\n");
}

BOOST_AUTO_TEST_CASE(history_marks_live_and_rollbacks) {
  const std::string history =
      R"({"generation": 3, "history_size": 20, "rollback": {"to": 1, "disk_differs": false},
    "entries": [
      {"generation": 3, "at": "T3", "trigger": "rollback", "added": [], "removed": ["b"], "updated": ["a"],
       "files": [], "config_error": null, "rollback_of": 1, "live": true},
      {"generation": 2, "at": "T2", "trigger": "file", "added": ["b"], "removed": [], "updated": [],
       "files": [], "config_error": null, "rollback_of": null, "live": false},
      {"generation": 1, "at": "T1", "trigger": "startup", "added": ["a"], "removed": [], "updated": [],
       "files": [], "config_error": null, "rollback_of": null, "live": false}]})";
  const auto result = run({"history"}, {{200, history}});
  BOOST_TEST(result.code == kOk);
  BOOST_TEST(result.sent[0].target == "/admin/history");
  BOOST_TEST(contains(result.out,
                      "rollback    serving generation 1 again; the files on disk are the same\n"));
  BOOST_TEST(contains(result.out,
                      "GENERATION  AT  TRIGGER   CHANGES\n"
                      "3 (live)    T3  rollback  rollback to 1: -b ~a\n"
                      "2           T2  file      +b\n"
                      "1           T1  startup   +a\n"));
}

BOOST_AUTO_TEST_CASE(wait_asks_the_server_to_hold_its_answer) {
  auto result =
      run({"wait", "--generation", "5", "--timeout", "2.5"}, {{200, R"({"generation": 6})"}});
  BOOST_TEST(result.code == kOk);
  BOOST_TEST(result.sent[0].target == "/admin/status?wait_for=5&timeout_ms=2500");
  BOOST_TEST(result.sent[0].held.count() == 2500);  // the request timeout covers the wait
  BOOST_TEST(result.out == "generation 6 is served\n");
  result = run({"wait", "--generation=5"}, {{408, R"({"detail": "...", "generation": 4})"}});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(result.sent[0].target == "/admin/status?wait_for=5&timeout_ms=30000");
  BOOST_TEST(
      result.err ==
      "aitools-ctl: generation 5 was not served within 30 s; the server is at generation 4\n");
}

BOOST_AUTO_TEST_CASE(validate_sends_files_by_content_and_directories_as_replace) {
  TempDir dir;
  std::filesystem::create_directory(dir.path + "/services");
  dir.write("services/b.json", "{\"routes\": []}");
  dir.write("services/a.json", "A");
  dir.write("services/.hidden.json", "skipped");
  dir.write("services/c.json~", "skipped");
  dir.write("services/notes.txt", "skipped");
  dir.write("one.json", "ONE");
  const std::string valid = R"({"valid": true, "generation": 1, "files": [
    {"file": "a.json", "service": "a", "valid": true, "routes": 1, "error": null}],
    "diff": {"added": [], "removed": [], "changed": [], "conflicts": [], "overlaps": []}})";

  auto result = run({"validate", dir.path + "/one.json"}, {{200, valid}});
  BOOST_REQUIRE(result.sent.size() == 1u);
  BOOST_TEST(result.sent[0].target == "/admin/validate");
  BOOST_TEST(result.sent[0].body ==
             R"({"files":[{"name":"one.json","content":"ONE"}],"replace":false})");
  BOOST_TEST(result.code == kOk);
  BOOST_TEST(result.out == "a.json  OK  service a, 1 route\n");

  result = run({"validate", dir.path + "/services"}, {{200, valid}});
  BOOST_TEST(
      result.sent[0].body ==
      R"({"files":[{"name":"a.json","content":"A"},{"name":"b.json","content":"{\"routes\": []}"}],)"
      R"("replace":true})");

  result = run({"validate", "--server-paths", "/srv/services/", "/tmp/x.json"}, {{200, valid}});
  BOOST_TEST(result.sent[0].body == R"({"paths":["/srv/services/","/tmp/x.json"],"replace":true})");

  // Read here: a missing file, a name given twice, an empty directory stop before sending.
  result = run({"validate", dir.path + "/nope.json"}, {});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(result.err == "aitools-ctl: " + dir.path + "/nope.json: no such file or directory\n");
  dir.write("a.json", "other A");
  result = run({"validate", dir.path + "/services", dir.path + "/a.json"}, {});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(contains(result.err, "a.json is given twice"));
  std::filesystem::create_directory(dir.path + "/empty");
  result = run({"diff", dir.path + "/empty"}, {});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(contains(result.err, "holds no *.json manifest"));
  BOOST_TEST(result.sent.empty());
}

BOOST_AUTO_TEST_CASE(validate_and_diff_report_invalid_files_and_conflicts) {
  TempDir dir;
  dir.write("x.json", "{}");
  const std::string invalid = R"({"valid": false, "generation": 1, "files": [
      {"file": "broken.json", "service": "broken", "valid": false, "routes": 0, "error": "line 1, column 2: bad"},
      {"file": "extra.json", "service": "extra", "valid": true, "routes": 1, "error": null},
      {"file": "other.json", "service": "other", "valid": true, "routes": 2, "error": null}],
    "diff": {"added": [{"method": "GET", "path": "/hello/world", "service": "extra", "kind": "static"}],
             "removed": [{"method": "POST", "path": "/o", "service": "o", "kind": "echo"}],
             "changed": [{"method": "GET", "path": "/hello/{name}", "service": "greeter", "kind": "static"}],
             "conflicts": [{"file": "other.json", "error": "GET /hello/{who} is already served by greeter.json"}],
             "overlaps": [{"method": "GET", "path": "/hello/world", "service": "extra",
                           "with": {"method": "GET", "path": "/hello/{name}", "service": "greeter", "kind": "static"}}],
             "overlaps_truncated": false}})";
  auto result = run({"validate", dir.path + "/x.json"}, {{200, invalid}});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(result.out ==
             "broken.json  INVALID   line 1, column 2: bad\n"
             "extra.json   OK        service extra, 1 route\n"
             "other.json   CONFLICT  GET /hello/{who} is already served by greeter.json\n");
  BOOST_TEST(contains(result.err, "2 of 3 files"));

  result = run({"diff", dir.path + "/x.json"}, {{200, invalid}});
  BOOST_TEST(result.code == kFailed);
  BOOST_TEST(contains(result.out,
                      "+  GET   /hello/world   extra    static\n"
                      "-  POST  /o             o        echo\n"
                      "~  GET   /hello/{name}  greeter  static\n"));
  BOOST_TEST(contains(result.out, "INVALID   broken.json  line 1, column 2: bad\n"));
  BOOST_TEST(contains(result.out, "CONFLICT  other.json   GET /hello/{who}"));
  BOOST_TEST(
      contains(result.out, "GET /hello/world  (extra)  overlaps  GET /hello/{name}  (greeter)\n"));
}

BOOST_AUTO_TEST_SUITE_END()
