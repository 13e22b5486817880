// aitools-ctl's cluster commands (docs/ctl.md, "Cluster commands") against a real etcd and two
// real nodes following it: writes are checked before they reach etcd, --wait returns once
// every node serves the change, cluster status/wait read the nodes' acks, and an etcd that
// cannot be reached is exit 2.
#include <algorithm>
#include <csignal>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "etcd.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A real etcd, a prefix of the test's own, two nodes ("ctl-a", "ctl-b") following it and a
// directory for the files given to aitools-ctl.
struct CtlCluster {
  // One node; its lease (ACK_TTL_S=10) outlives every wait below, so a stopped node stays
  // in the acks as a lagging node instead of dropping out.
  struct Node {
    Node(const std::string& node_id, const CtlCluster& cluster)
        : id(node_id),
          server(dir, {{"CONFIG_SOURCE", "etcd"}, {"ETCD_ENDPOINTS", cluster.etcd.endpoint()},
                       {"ETCD_PREFIX", cluster.prefix}, {"NODE_ID", node_id}, {"ACK_TTL_S", "10"},
                       {"HOT_RELOAD_ENABLE", "false"}, {"CONFIG_SOURCE_TIMEOUT_MS", "1000"},
                       {"GREETING", "from-file"}}) {}
    std::string id;
    it::TempDir dir;
    it::ServerProcess server;
  };

  CtlCluster() {
    etcd.start();
    for (const char* id : {"ctl-a", "ctl-b"}) {
      nodes.push_back(std::make_unique<Node>(id, *this));
      nodes.back()->server.start();
    }
    // A node is live for aitools-ctl once its ack is in etcd, which it writes shortly after it
    // is ready: until then `--wait` and `cluster wait` do not wait for it.
    for (const auto& node : nodes) {
      const std::string ack = prefix + "/acks/" + node->id;
      if (!it::wait_until([&] { return etcd.get(ack).has_value(); }, 10s))
        throw std::runtime_error(node->id + " wrote no ack within 10 s; log:\n" +
                                 node->server.log());
    }
  }

  // aitools-ctl --etcd <etcd> --prefix <prefix> ARGS...
  it::RunResult ctl(const it::Args& args) const {
    it::Args all = {"--etcd", etcd.endpoint(), "--prefix", prefix};
    all.insert(all.end(), args.begin(), args.end());
    return it::run_ctl(all);
  }

  // Writes `content` to a file named `name` for aitools-ctl to read; its path.
  std::string file(const std::string& name, const std::string& content) const {
    files.write(name, content);
    return files.file(name);
  }

  const std::string prefix = "/aitools-it/ctl-" + std::to_string(::getpid());
  it::TempDir dir;
  it::TempDir files;
  it::EtcdProcess etcd{dir};
  std::vector<std::unique_ptr<Node>> nodes;
};

// A static route answering `body` as text/plain at `path`.
std::string static_manifest(const std::string& name, const std::string& path,
                            const std::string& body) {
  return R"({"name": ")" + name + R"(", "routes": [{"method": "GET", "path": ")" + path +
         R"(", "kind": "static", "options": {"body": ")" + body + R"("}}]})";
}

// The body GET `path` answers on `node`, or "<status N>" when it is not 200.
std::string body(const CtlCluster::Node& node, const std::string& path) {
  const it::HttpResponse response = it::http_get(node.server.port(), path);
  return response.status == 200 ? response.body
                                : "<status " + std::to_string(response.status) + ">";
}

std::string output(const it::RunResult& result) {
  return "exit " + std::to_string(result.exit_code) + "\nstdout: " + result.out +
         "\nstderr: " + result.err;
}

// The state letter of /proc/<pid>/stat ('R', 'S', 'T' = stopped, ...); '?' when unreadable.
char process_state(pid_t pid) {
  const std::string stat = it::read_file("/proc/" + std::to_string(pid) + "/stat");
  const size_t end = stat.rfind(')');  // after the command name, which may hold spaces
  return end != std::string::npos && end + 2 < stat.size() ? stat[end + 2] : '?';
}

// Sends SIGCONT when it goes out of scope: a stopped node never outlives its test, even when
// an assertion throws.
struct ContinueOnExit {
  explicit ContinueOnExit(pid_t stopped) : pid(stopped) {}
  ~ContinueOnExit() { ::kill(pid, SIGCONT); }
  pid_t pid;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ctl_cluster_it)

BOOST_FIXTURE_TEST_CASE(put_service_refuses_an_invalid_manifest_and_waits_for_a_valid_one,
                        CtlCluster) {
  const std::string key = prefix + "/services/broken.json";
  const auto refused = ctl({"put-service", file("broken.json", R"({"routes": [
    {"method": "GET", "path": "/b", "kind": "no_such_kind"}]})")});
  BOOST_TEST(refused.exit_code == 1, output(refused));
  BOOST_TEST(contains(refused.err, "broken.json"), output(refused));
  BOOST_TEST(contains(refused.err, "no_such_kind"), output(refused));
  BOOST_TEST(!etcd.get(key).has_value(), "an invalid manifest was written to etcd");

  const auto stored =
      ctl({"put-service", file("hello.json", static_manifest("hello", "/hello", "hi")), "--wait"});
  BOOST_TEST(stored.exit_code == 0, output(stored));
  BOOST_TEST(contains(stored.out, "stored " + prefix + "/services/hello.json at revision"),
             output(stored));
  BOOST_TEST(contains(stored.out, "is applied by 2 nodes"), output(stored));
  // --wait returned: every node serves it now, no polling.
  for (const auto& node : nodes) BOOST_TEST(body(*node, "/hello") == "hi", node->id);
}

BOOST_FIXTURE_TEST_CASE(cluster_status_lists_every_node, CtlCluster) {
  const auto stored =
      ctl({"put-service", file("s.json", static_manifest("s", "/s", "s")), "--wait", "--json"});
  BOOST_REQUIRE_MESSAGE(stored.exit_code == 0, output(stored));
  const auto put = it::parse_json(stored.out);
  BOOST_REQUIRE_MESSAGE(put.IsObject() && put.HasMember("revision") && put["revision"].IsInt64(),
                        stored.out);
  const int64_t stored_revision = put["revision"].GetInt64();

  const auto status = ctl({"cluster", "status", "--json"});
  BOOST_TEST(status.exit_code == 0, output(status));
  const auto document = it::parse_json(status.out);
  BOOST_REQUIRE_MESSAGE(document.IsObject() && document.HasMember("revision") &&
                            document.HasMember("prefix") && document.HasMember("nodes") &&
                            document["nodes"].IsArray(),
                        status.out);
  BOOST_TEST(document["revision"].IsInt64());
  BOOST_TEST(it::json_string(document["prefix"]) == prefix);
  BOOST_REQUIRE_EQUAL(document["nodes"].Size(), 2u);
  std::vector<std::string> names;
  for (const auto& node : document["nodes"].GetArray()) {
    BOOST_REQUIRE_MESSAGE(node.IsObject() && node.HasMember("node") && node.HasMember("address") &&
                              node.HasMember("revision") && node.HasMember("generation") &&
                              node.HasMember("applied"),
                          status.out);
    names.push_back(it::json_string(node["node"]));
    const auto& served = *nodes[names.back() == "ctl-a" ? 0 : 1];
    BOOST_TEST((node["revision"].IsInt64() && node["revision"].GetInt64() >= stored_revision),
               names.back());
    BOOST_TEST((node["generation"].IsUint64() &&
                node["generation"].GetUint64() == it::status_generation(served.server)),
               names.back());
    // <hostname>:<HTTP port>
    const std::string address = it::json_string(node["address"]);
    const std::string port = ":" + std::to_string(served.server.port());
    BOOST_TEST((address.size() > port.size() &&
                address.compare(address.size() - port.size(), port.size(), port) == 0),
               address);
    BOOST_TEST(node["applied"].IsTrue(), names.back());
  }
  std::sort(names.begin(), names.end());
  BOOST_TEST((names == std::vector<std::string>{"ctl-a", "ctl-b"}));

  const auto table = ctl({"cluster", "status"});
  BOOST_TEST(table.exit_code == 0, output(table));
  BOOST_TEST(contains(table.out, "2 live, 0 lagging"), output(table));
  BOOST_TEST(contains(table.out, "ctl-a"), output(table));
  BOOST_TEST(contains(table.out, "ctl-b"), output(table));
}

BOOST_FIXTURE_TEST_CASE(set_config_then_delete_service, CtlCluster) {
  const auto set = ctl({"set-config", "GREETING=from-etcd", "--wait"});
  BOOST_TEST(set.exit_code == 0, output(set));
  BOOST_TEST(contains(set.out, "set GREETING at revision"), output(set));
  BOOST_TEST(etcd.get(prefix + "/config/GREETING").value_or("<absent>") == "from-etcd");

  const auto stored = ctl(
      {"put-service", file("greeter.json", static_manifest("greeter", "/greet", "${GREETING}")),
       "--wait"});
  BOOST_TEST(stored.exit_code == 0, output(stored));
  for (const auto& node : nodes) BOOST_TEST(body(*node, "/greet") == "from-etcd", node->id);

  const auto changed = ctl({"set-config", "GREETING=changed", "--wait"});
  BOOST_TEST(changed.exit_code == 0, output(changed));
  for (const auto& node : nodes) BOOST_TEST(body(*node, "/greet") == "changed", node->id);

  const auto deleted = ctl({"delete-service", "greeter", "--wait"});
  BOOST_TEST(deleted.exit_code == 0, output(deleted));
  BOOST_TEST(contains(deleted.out, "deleted " + prefix + "/services/greeter.json at revision"),
             output(deleted));
  for (const auto& node : nodes) BOOST_TEST(body(*node, "/greet") == "<status 404>", node->id);

  const auto again = ctl({"delete-service", "greeter"});
  BOOST_TEST(again.exit_code == 1, output(again));
  BOOST_TEST(contains(again.err, "there is no " + prefix + "/services/greeter.json"),
             output(again));
}

BOOST_FIXTURE_TEST_CASE(cluster_wait_names_a_stopped_node, CtlCluster) {
  auto& stopped = *nodes[1];
  stopped.server.signal(SIGSTOP);
  ContinueOnExit resume(stopped.server.pid());
  BOOST_REQUIRE(it::wait_until([&] { return process_state(stopped.server.pid()) == 'T'; }, 5s));

  const auto set = ctl({"set-config", "GREETING=while-stopped"});
  BOOST_REQUIRE_MESSAGE(set.exit_code == 0, output(set));
  const auto waited = ctl({"cluster", "wait", "--timeout", "1"});
  BOOST_TEST(waited.exit_code == 1, output(waited));
  BOOST_TEST(contains(waited.err, "was not applied within"), output(waited));
  BOOST_TEST(contains(waited.err, "ctl-b (at revision"), output(waited));
  BOOST_TEST(!contains(waited.err, "ctl-a"), output(waited));

  ::kill(stopped.server.pid(), SIGCONT);
  const auto after = ctl({"cluster", "wait", "--timeout", "10"});
  BOOST_TEST(after.exit_code == 0, output(after));
  BOOST_TEST(contains(after.out, "is applied by 2 nodes"), output(after));
}

BOOST_FIXTURE_TEST_CASE(etcd_down_is_exit_2, CtlCluster) {
  etcd.kill();
  for (const it::Args& args : {it::Args{"cluster", "status"}, it::Args{"cluster", "wait"},
                               it::Args{"set-config", "GREETING=x"}}) {
    const auto result = ctl(args);
    BOOST_TEST(result.exit_code == 2, output(result));
    BOOST_TEST(contains(result.err, "cannot connect to etcd " + etcd.endpoint()), output(result));
  }
}

BOOST_AUTO_TEST_SUITE_END()
