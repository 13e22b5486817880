// aitools-ctl against the real server: every command's output and exit status, --json, the
// token, and the ways a server can be out of reach.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>

#include "harness.hpp"

using namespace std::chrono_literals;

namespace {

std::string greeter(const std::string& body) {
  return R"({"name": "greeter", "routes": [
    {"method": "GET", "path": "/hello/{name}", "kind": "static", "options": {"body": ")" +
         body + R"("}}]})";
}

constexpr const char* kEcho = R"({"name": "echoes", "prefix": "/e", "routes": [
  {"method": ["POST", "PUT"], "path": "/echo", "kind": "echo"}]})";

std::string admin_url(const it::ServerProcess& server) {
  return "http://127.0.0.1:" + std::to_string(server.admin_port());
}

// aitools-ctl --admin <server> [--token <its token>] ARGS...
it::RunResult ctl_on(const it::ServerProcess& server, const it::Args& args) {
  it::Args all = {"--admin", admin_url(server)};
  if (!server.admin_token().empty()) all.insert(all.end(), {"--token", server.admin_token()});
  all.insert(all.end(), args.begin(), args.end());
  return it::run_ctl(all);
}

// The cells of each output line: table columns are separated by two or more spaces.
std::vector<std::vector<std::string>> rows(const std::string& out) {
  std::vector<std::vector<std::string>> result;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    size_t at = 0;
    while (at < line.size()) {
      const size_t gap = line.find("  ", at);
      cells.push_back(line.substr(at, gap - at));
      if (gap == std::string::npos) break;
      at = line.find_first_not_of(' ', gap);
    }
    result.push_back(cells);
  }
  return result;
}

bool has_row(const std::string& out, const std::vector<std::string>& cells) {
  for (const auto& row : rows(out))
    if (row == cells) return true;
  return false;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string url_of(const it::ListeningSocket& listener) {
  return "http://127.0.0.1:" + std::to_string(listener.port());
}

// Accepts one connection on `listener`, reads the request head, answers `reply` and closes.
std::thread answer_once(const it::ListeningSocket& listener, std::string reply) {
  return std::thread([fd = listener.fd(), reply = std::move(reply)] {
    const int client = ::accept(fd, nullptr, nullptr);
    if (client < 0) return;
    std::string request;
    char chunk[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(client, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      request.append(chunk, static_cast<size_t>(n));
    }
    ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(client);
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ctl)

BOOST_AUTO_TEST_CASE(help_and_usage_errors) {
  auto result = it::run_ctl({"--help"});
  BOOST_TEST(result.exit_code == 0);
  for (const char* part :
       {"status", "routes", "config", "reload", "validate", "diff", "history", "rollback",
        "wait --generation N", "Exit status:", "2  the server or etcd cannot be reached"})
    BOOST_TEST(contains(result.out, part), part);

  result = it::run_ctl({});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(result.err.rfind("aitools-ctl: no command given\n\nUsage: aitools-ctl", 0) == 0);
  BOOST_TEST(result.out == "");
  result = it::run_ctl({"reboot"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.err, "unknown command \"reboot\""));
  result = it::run_ctl({"--admin", "https://127.0.0.1:18669", "status"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.err, "https is not supported"));
}

BOOST_AUTO_TEST_CASE(status_routes_and_config_tables) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"API_KEY", "abc-key-value"}, {"LOG_LEVEL", "warn"}},
                           {{"greeter.json", greeter("hi {name}")},
                            {"echo.json", kEcho},
                            {"broken.json", R"({"routes": [)"}});
  server.start();

  auto result = ctl_on(server, {"status"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(result.err == "");
  BOOST_TEST(has_row(result.out, {"generation", "1"}), result.out);
  BOOST_TEST(has_row(result.out, {"config error", "-"}));
  BOOST_TEST(!contains(result.out, "rollback"));
  BOOST_TEST(has_row(result.out, {"SERVICE", "STATE", "FILE", "ROUTES", "ERROR"}));
  BOOST_TEST(has_row(result.out, {"greeter", "active", "greeter.json", "1", "-"}));
  BOOST_TEST(has_row(result.out, {"echoes", "active", "echo.json", "1", "-"}));
  bool broken_listed = false;
  for (const auto& row : rows(result.out))
    broken_listed = broken_listed || (row.size() == 5 && row[0] == "broken" &&
                                      row[1] == "quarantined" && contains(row[4], "line 1"));
  BOOST_TEST(broken_listed, result.out);
  // Aligned: each column starts at the same offset in the header and in every row.
  const auto header = result.out.find("SERVICE");
  const auto greeter_row = result.out.find("\ngreeter") + 1;
  BOOST_TEST(result.out.find("STATE", header) - header ==
             result.out.find("active", greeter_row) - greeter_row);

  result = ctl_on(server, {"routes"});
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(rows(result.out).size() == 4u, result.out);  // header + 3 method entries
  BOOST_TEST(has_row(result.out, {"METHOD", "PATH", "SERVICE", "KIND"}));
  BOOST_TEST(has_row(result.out, {"GET", "/hello/{name}", "greeter", "static"}));
  BOOST_TEST(has_row(result.out, {"POST", "/e/echo", "echoes", "echo"}));
  BOOST_TEST(has_row(result.out, {"PUT", "/e/echo", "echoes", "echo"}));

  result = ctl_on(server, {"config"});
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(has_row(result.out, {"file", dir.file("aitools.env")}));
  BOOST_TEST(has_row(result.out, {"KEY", "VALUE"}));
  BOOST_TEST(has_row(result.out, {"LOG_LEVEL", "warn"}));
  BOOST_TEST(has_row(result.out, {"API_KEY", "***"}));
  BOOST_TEST(has_row(result.out, {"SERVICE_PORT", std::to_string(server.port())}));
  BOOST_TEST(!contains(result.out, "abc-key-value"));
}

BOOST_AUTO_TEST_CASE(json_prints_the_answer_unchanged) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{},
                           {{"greeter.json", greeter("hi {name}")}, {"echo.json", kEcho}});
  server.start();
  auto result = ctl_on(server, {"--json", "routes"});
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(result.out == it::admin_get(server, "/admin/routes").body + "\n");
  result = ctl_on(server, {"config", "--json"});  // the flag after the command too
  BOOST_TEST(result.out == it::admin_get(server, "/admin/config").body + "\n");
  result = ctl_on(server, {"--json", "status"});
  const auto status = it::parse_json(result.out);  // one document
  BOOST_TEST(status["generation"].GetUint64() == 1u);
  BOOST_TEST(status["services"].HasMember("greeter"));
}

BOOST_AUTO_TEST_CASE(reload_reports_changes_and_fails_on_errors) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"HOT_RELOAD_ENABLE", "false"}},
                           {{"greeter.json", greeter("hi {name}")}});
  server.start();
  dir.write_atomic("services/echo.json", kEcho);
  auto result = ctl_on(server, {"reload"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(has_row(result.out, {"generation", "2 (changed)"}), result.out);
  BOOST_TEST(has_row(result.out, {"added", "echoes"}));
  BOOST_TEST(has_row(result.out, {"removed", "-"}));
  BOOST_TEST(it::http_request(server.port(), "POST", "/e/echo", {}, "x").status == 200);

  // A broken file: the reload runs, the file is quarantined, the exit status says so.
  dir.write_atomic("services/broken.json", R"({"routes": [)");
  result = ctl_on(server, {"reload"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(has_row(result.out, {"errors", "broken.json"}), result.out);
  BOOST_TEST(contains(result.err, "aitools-ctl: broken.json: line 1"), result.err);
  BOOST_TEST(it::status_generation(server) == 2u);  // nothing else changed

  result = ctl_on(server, {"--json", "reload"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(it::parse_json(result.out)["errors"].Size() == 1u);
}

BOOST_AUTO_TEST_CASE(token_from_flag_or_environment) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"ADMIN_TOKEN", "s3cret"}},
                           {{"greeter.json", greeter("hi {name}")}});
  server.start();
  const std::string url = admin_url(server);

  auto result = it::run_ctl({"--admin", url, "status"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.err, "needs a token (401 Unauthorized)"), result.err);
  result = it::run_ctl({"--admin", url, "--token", "wrong", "status"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.err, "refused the token"), result.err);
  result = it::run_ctl({"--admin", url, "--token", "s3cret", "status"});
  BOOST_TEST(result.exit_code == 0, result.err);
  // AITOOLS_ADMIN and AITOOLS_ADMIN_TOKEN stand for --admin and --token; a flag wins.
  result =
      it::run_ctl({"status"}, 20s, {{"AITOOLS_ADMIN", url}, {"AITOOLS_ADMIN_TOKEN", "s3cret"}});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(has_row(result.out, {"generation", "1"}));
  result = it::run_ctl({"--token", "wrong", "status"}, 20s,
                       {{"AITOOLS_ADMIN", url}, {"AITOOLS_ADMIN_TOKEN", "s3cret"}});
  BOOST_TEST(result.exit_code == 1);
  // A refused reload did not reload.
  BOOST_TEST(it::run_ctl({"--admin", url, "reload"}).exit_code == 1);
  BOOST_TEST(it::status_generation(server) == 1u);
}

BOOST_AUTO_TEST_CASE(unreachable_servers_exit_2) {
  // Nothing listens: refused.
  auto result =
      it::run_ctl({"--admin", "http://127.0.0.1:" + std::to_string(it::free_port()), "status"});
  BOOST_TEST(result.exit_code == 2);
  BOOST_TEST(contains(result.err, "cannot connect to 127.0.0.1:"), result.err);
  BOOST_TEST(contains(result.err, "Connection refused"));
  // A name that does not resolve (.invalid never does, RFC 6761).
  result = it::run_ctl({"--admin", "http://aitools.invalid:18669", "status"});
  BOOST_TEST(result.exit_code == 2);
  BOOST_TEST(contains(result.err, "cannot resolve aitools.invalid"), result.err);
  // Connected, but no answer within --timeout.
  it::ListeningSocket silent(INADDR_LOOPBACK);  // connections succeed, nothing answers
  result = it::run_ctl({"--admin", url_of(silent), "--timeout", "0.3", "status"});
  BOOST_TEST(result.exit_code == 2);
  BOOST_TEST(contains(result.err,
                      "no answer from 127.0.0.1:" + std::to_string(silent.port()) + " within 0.3 s"),
             result.err);
  // Something that does not speak HTTP.
  it::ListeningSocket garbage(INADDR_LOOPBACK);
  auto server = answer_once(garbage, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  result = it::run_ctl({"--admin", url_of(garbage), "status"});
  server.join();
  BOOST_TEST(result.exit_code == 2);
  BOOST_TEST(contains(result.err, "did not answer with valid HTTP: bad status line"), result.err);
  // HTTP, but not the admin API.
  it::ListeningSocket web(INADDR_LOOPBACK);
  server = answer_once(
      web, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<html\r\n0\r\n\r\n");
  result = it::run_ctl({"--admin", url_of(web), "routes"});
  server.join();
  BOOST_TEST(result.exit_code == 2);
  BOOST_TEST(contains(result.err, "not JSON"), result.err);
}

// ---- the control endpoints (history, rollback, validate, wait) ----

BOOST_AUTO_TEST_CASE(history_and_rollback) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", greeter("one {name}")}});
  server.start();
  dir.write_atomic("services/greeter.json", greeter("two {name}"));
  BOOST_REQUIRE(it::wait_for_generation(server, 2));

  auto result = ctl_on(server, {"history"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(has_row(result.out, {"GENERATION", "AT", "TRIGGER", "CHANGES"}), result.out);
  bool live_row = false, first_row = false;
  for (const auto& row : rows(result.out)) {
    live_row = live_row || (row.size() == 4 && row[0] == "2 (live)" && row[2] == "file" &&
                            row[3] == "~greeter");
    first_row = first_row ||
                (row.size() == 4 && row[0] == "1" && row[2] == "startup" && row[3] == "+greeter");
  }
  BOOST_TEST(live_row, result.out);
  BOOST_TEST(first_row, result.out);

  result = ctl_on(server, {"rollback", "--to", "1"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(contains(result.out, "rolled back to generation 1, now served as generation 3"),
             result.out);
  BOOST_TEST(it::http_get(server.port(), "/hello/x").body == "one x");  // served when ctl returns
  result = ctl_on(server, {"status"});
  BOOST_TEST(contains(result.out, "serving generation 1 again; the files on disk differ"),
             result.out);
  result = ctl_on(server, {"history"});
  BOOST_TEST(contains(result.out, "rollback to 1:"), result.out);

  // An unknown generation: the server's reason, exit 1.
  result = ctl_on(server, {"rollback", "--to", "99"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.err, "404: generation 99 is not in the history"), result.err);
  BOOST_TEST(it::status_generation(server) == 3u);

  // Without --to: the entry before the live one.
  result = ctl_on(server, {"--json", "rollback"});
  BOOST_TEST(result.exit_code == 0, result.err);
  const auto answer = it::parse_json(result.out);
  BOOST_TEST(answer["rollback_to"].GetUint64() == 2u);
  BOOST_TEST(it::http_get(server.port(), "/hello/x").body == "two x");
}

BOOST_AUTO_TEST_CASE(validate_reads_files_and_directories_here) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", greeter("hi {name}")}});
  server.start();
  dir.write("good.json",
            R"({"name": "extra", "routes": [{"method": "GET", "path": "/x", "kind": "static"}]})");
  dir.write("broken.json", R"({"routes": [)");
  dir.write("clash.json",
            R"({"routes": [{"method": "GET", "path": "/hello/{who}", "kind": "echo"}]})");

  auto result = ctl_on(server, {"validate", dir.file("good.json")});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(has_row(result.out, {"good.json", "OK", "service extra, 1 route"}), result.out);

  result = ctl_on(
      server, {"validate", dir.file("good.json"), dir.file("broken.json"), dir.file("clash.json")});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(rows(result.out).size() == 3u, result.out);  // one line per file
  BOOST_TEST(has_row(result.out, {"good.json", "OK", "service extra, 1 route"}), result.out);
  bool broken = false, clash = false;
  for (const auto& row : rows(result.out)) {
    broken = broken || (row.size() == 3 && row[0] == "broken.json" && row[1] == "INVALID" &&
                        contains(row[2], "line 1"));
    clash = clash || (row.size() == 3 && row[0] == "clash.json" && row[1] == "CONFLICT" &&
                      contains(row[2], "already served by greeter.json"));
  }
  BOOST_TEST(broken, result.out);
  BOOST_TEST(clash, result.out);
  BOOST_TEST(contains(result.err, "2 of 3 files"), result.err);

  // A directory is the whole services directory; its hidden, backup and non-JSON files are
  // not manifests.
  dir.mkdir("candidate");
  dir.write("candidate/greeter.json", greeter("hi {name}"));
  dir.write("candidate/extra.json",
            R"({"routes": [{"method": "GET", "path": "/x", "kind": "static"}]})");
  dir.write("candidate/.draft.json", R"({"routes": [)");
  dir.write("candidate/extra.json~", R"({"routes": [)");
  dir.write("candidate/README.txt", "not a manifest");
  result = ctl_on(server, {"validate", dir.file("candidate")});
  BOOST_TEST(result.exit_code == 0, result.out + result.err);
  BOOST_TEST(rows(result.out).size() == 2u, result.out);
  result = ctl_on(server, {"validate", "--server-paths", dir.file("candidate")});
  BOOST_TEST(result.exit_code == 0, result.out + result.err);
  BOOST_TEST(rows(result.out).size() == 2u, result.out);

  // A file that cannot be read here: exit 1 before asking the server.
  result = ctl_on(server, {"validate", dir.file("missing.json")});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.err, "missing.json: no such file or directory"), result.err);

  // Nothing was applied.
  BOOST_TEST(it::status_generation(server) == 1u);
  BOOST_TEST(it::http_get(server.port(), "/x").status == 404);
}

BOOST_AUTO_TEST_CASE(diff_shows_route_changes_and_overlaps) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{},
                           {{"greeter.json", greeter("hi {name}")}, {"echo.json", kEcho}});
  server.start();
  dir.mkdir("candidate");
  dir.write("candidate/greeter.json", greeter("changed {name}"));
  dir.write(
      "candidate/world.json",
      R"({"name": "world", "routes": [{"method": "GET", "path": "/hello/world", "kind": "static"}]})");

  // The directory replaces the services: echo.json is missing from it, so its routes go.
  auto result = ctl_on(server, {"diff", dir.file("candidate")});
  BOOST_TEST(result.exit_code == 0, result.out + result.err);
  BOOST_TEST(has_row(result.out, {"+", "GET", "/hello/world", "world", "static"}), result.out);
  BOOST_TEST(has_row(result.out, {"~", "GET", "/hello/{name}", "greeter", "static"}), result.out);
  BOOST_TEST(has_row(result.out, {"-", "POST", "/e/echo", "echoes", "echo"}), result.out);
  BOOST_TEST(has_row(result.out, {"-", "PUT", "/e/echo", "echoes", "echo"}), result.out);
  BOOST_TEST(contains(result.out, "overlaps"), result.out);
  const bool overlap_listed =
      has_row(result.out,
              {"GET /hello/world", "(world)", "overlaps", "GET /hello/{name}", "(greeter)"}) ||
      has_row(result.out,
              {"GET /hello/{name}", "(greeter)", "overlaps", "GET /hello/world", "(world)"});
  BOOST_TEST(overlap_listed, result.out);

  // A file alone joins the services: nothing is removed.
  result = ctl_on(server, {"diff", dir.file("candidate/world.json")});
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(!contains(result.out, "/e/echo"), result.out);

  // Unchanged: said so.
  dir.write("greeter.json", greeter("hi {name}"));
  result = ctl_on(server, {"diff", dir.file("greeter.json")});
  BOOST_TEST(result.exit_code == 0);
  BOOST_TEST(result.out == "no route changes\n");

  // Invalid: listed, exit 1.
  dir.write("candidate/broken.json", R"({"routes": [)");
  result = ctl_on(server, {"diff", dir.file("candidate")});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.out, "INVALID"), result.out);
  BOOST_TEST(it::status_generation(server) == 1u);
}

BOOST_AUTO_TEST_CASE(wait_for_a_generation) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{}, {{"greeter.json", greeter("one {name}")}});
  server.start();

  // Already served: at once.
  auto result = ctl_on(server, {"wait", "--generation", "1"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(result.out == "generation 1 is served\n");

  // Served later: answers once it is, and then the new content is what is served.
  auto waiting = std::async(std::launch::async, [&] {
    return ctl_on(server, {"wait", "--generation", "2"});
  });
  dir.write_atomic("services/greeter.json", greeter("two {name}"));
  result = waiting.get();
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(result.out == "generation 2 is served\n");
  BOOST_TEST(it::http_get(server.port(), "/hello/x").body == "two x");

  // Never served: exit 1 with the generation there is. The request timeout (1 s) is
  // stretched to cover a longer wait (1.5 s): this is the server's 408, not a timeout.
  result = ctl_on(server, {"--timeout", "1", "wait", "--generation", "9", "--timeout", "1.5"});
  BOOST_TEST(result.exit_code == 1, result.err);
  BOOST_TEST(
      result.err ==
      "aitools-ctl: generation 9 was not served within 1.5 s; the server is at generation 2\n");
  result = ctl_on(server, {"--json", "wait", "--generation", "9", "--timeout", "0"});
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(it::parse_json(result.out)["generation"].GetUint64() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
