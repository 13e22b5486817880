// The admin API over CAF from a second process: aitools-ctl --node against the server's
// published remote admin actor (CAF_ADMIN_PORT), with and without the HTTP admin listener.
#include <boost/test/unit_test.hpp>

#include "harness.hpp"

namespace {

std::string greeter(const std::string& body) {
  return R"({"name": "greeter", "routes": [
    {"method": "GET", "path": "/hello/{name}", "kind": "static", "options": {"body": ")" +
         body + R"("}}]})";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A server publishing its admin actor on a free port; `http_admin`: keep the HTTP listener.
struct RemoteServer {
  it::TempDir dir;
  uint16_t caf_port = it::free_port();
  it::ServerProcess server;
  explicit RemoteServer(bool http_admin = true)
      : server(dir,
               it::Env{{"CAF_ADMIN_PORT", std::to_string(caf_port)}, {"ADMIN_TOKEN", "s3cret"}},
               {{"greeter.json", greeter("one {name}")}},
               http_admin ? it::Args{} : it::Args{"--admin-port", "0"}) {}
  std::string node() const { return "127.0.0.1:" + std::to_string(caf_port); }
  it::RunResult ctl(it::Args args, const std::string& token = "s3cret") {
    it::Args full = {"--node", node(), "--token", token};
    full.insert(full.end(), args.begin(), args.end());
    return it::run_ctl(full);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(remote_admin)

BOOST_AUTO_TEST_CASE(every_command_works_over_caf) {
  RemoteServer remote;
  remote.server.start();

  auto result = remote.ctl({"status", "--json"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(it::parse_json(result.out)["generation"].GetUint64() == 1u);
  BOOST_TEST(contains(remote.ctl({"routes"}).out, "/hello/{name}"));
  BOOST_TEST(remote.ctl({"config"}).exit_code == 0);

  remote.dir.write_atomic("services/greeter.json", greeter("two {name}"));
  result = remote.ctl({"wait", "--generation", "2", "--timeout", "10"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(it::http_get(remote.server.port(), "/hello/x").body == "two x");

  result = remote.ctl({"reload", "--json"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(it::json_string(it::parse_json(result.out)["trigger"]) == "admin");

  result = remote.ctl({"rollback", "--to", "1", "--json"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(it::parse_json(result.out)["rollback_to"].GetUint64() == 1u);
  BOOST_TEST(it::http_get(remote.server.port(), "/hello/x").body == "one x");
  BOOST_TEST(contains(remote.ctl({"history"}).out, "rollback"));

  remote.dir.write_atomic("candidate.json", R"({"routes": [{"method": "GET", "path": "/c", "kind": "echo"}]})");
  result = remote.ctl({"validate", remote.dir.file("candidate.json"), "--json"});
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(it::parse_json(result.out)["diff"]["added"].Size() == 1u);
  remote.dir.write_atomic("broken.json", "{");
  BOOST_TEST(remote.ctl({"validate", remote.dir.file("broken.json")}).exit_code == 1);
}

BOOST_AUTO_TEST_CASE(the_token_is_checked_and_an_absent_node_is_unreachable) {
  RemoteServer remote;
  remote.server.start();
  auto result = remote.ctl({"status"}, "wrong");
  BOOST_TEST(result.exit_code == 1);
  BOOST_TEST(contains(result.err + result.out, "401"));

  result = it::run_ctl({"--node", "127.0.0.1:" + std::to_string(it::free_port()), "status"});
  BOOST_TEST(result.exit_code == 2);
  BOOST_TEST(contains(result.err, "cannot reach"));
}

BOOST_AUTO_TEST_CASE(caf_admin_works_without_the_http_admin_listener) {
  RemoteServer remote(false);
  // Ready once the main port answers; the CAF side is published right after it.
  remote.server.start();
  BOOST_TEST(it::wait_until([&] { return remote.ctl({"status"}).exit_code == 0; }, std::chrono::seconds(10)));
  BOOST_TEST(it::parse_json(remote.ctl({"status", "--json"}).out)["generation"].GetUint64() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
