// Cluster mode (docs/cluster.md): a real etcd and three real aitools-server nodes following
// it. What is put into etcd is served by every node, fast; nodes ride out etcd going away, a
// cut connection and a compaction; a late node catches up; a bad manifest is quarantined on
// every node and reported in the acks, which live and die with the nodes; an etcd manifest
// replaces a local file of the same name. Timings: run with --log_level=unit_scope.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "etcd.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// A static route answering `body` as text/plain at `path`.
std::string static_manifest(const std::string& name, const std::string& path,
                            const std::string& body) {
  return R"({"name": ")" + name + R"(", "routes": [{"method": "GET", "path": ")" + path +
         R"(", "kind": "static", "options": {"body": ")" + body + R"("}}]})";
}

// One aitools-server in its own directory, following etcd.
struct Node {
  Node(const std::string& node_id, const std::string& endpoints, const std::string& prefix,
       const it::Env& extra = {}, const it::Manifests& manifests = {})
      : id(node_id), server(dir, env(node_id, endpoints, prefix, extra), manifests) {}

  static it::Env env(const std::string& id, const std::string& endpoints,
                     const std::string& prefix, const it::Env& extra) {
    it::Env env = {{"CONFIG_SOURCE", "etcd"},   {"ETCD_ENDPOINTS", endpoints},
                   {"ETCD_PREFIX", prefix},     {"NODE_ID", id},
                   {"ACK_TTL_S", "3"},          {"HOT_RELOAD_ENABLE", "false"},
                   // Bounds the drain at shutdown when etcd is already gone.
                   {"CONFIG_SOURCE_TIMEOUT_MS", "1000"}};
    for (const auto& [key, value] : extra) env[key] = value;
    return env;
  }

  // The body GET `path` answers, or "<status N>" when it is not 200.
  std::string body(const std::string& path) const {
    const it::HttpResponse response = it::http_get(server.port(), path);
    return response.status == 200 ? response.body
                                  : "<status " + std::to_string(response.status) + ">";
  }

  std::string id;
  it::TempDir dir;
  it::ServerProcess server;
};

using NodePtr = std::unique_ptr<Node>;

// A fresh etcd per test and a prefix of its own (the prefix is what a cluster shares).
struct Cluster {
  explicit Cluster(const std::string& test)
      : prefix("/aitools-it/" + test + "-" + std::to_string(::getpid())) {
    etcd.start();
  }

  const std::string prefix;
  it::TempDir dir;
  it::EtcdProcess etcd{dir};
  std::vector<NodePtr> nodes;

  std::string service_key(const std::string& file) const { return prefix + "/services/" + file; }
  std::string config_key(const std::string& key) const { return prefix + "/config/" + key; }
  std::string ack_key(const std::string& node) const { return prefix + "/acks/" + node; }

  // Starts `count` more nodes (node-1, node-2, ...) following `endpoints` (default: etcd).
  void start_nodes(size_t count, const it::Env& extra = {}, const it::Manifests& manifests = {},
                   std::string endpoints = {}) {
    if (endpoints.empty()) endpoints = etcd.endpoint();
    for (size_t i = 0; i < count; ++i) {
      auto node = std::make_unique<Node>("node-" + std::to_string(nodes.size() + 1), endpoints,
                                         prefix, extra, manifests);
      node->server.start();
      nodes.push_back(std::move(node));
    }
  }
};

// Polls every node until GET `path` answers `expected` on each; the nodes still wrong are
// named in `missing` when it times out.
bool all_serve(std::vector<NodePtr>& nodes, const std::string& path, const std::string& expected,
               std::chrono::milliseconds timeout, std::string* missing = nullptr) {
  const auto deadline = Clock::now() + timeout;
  std::vector<Node*> waiting;
  for (auto& node : nodes) waiting.push_back(node.get());
  for (;;) {
    waiting.erase(std::remove_if(waiting.begin(), waiting.end(),
                                 [&](Node* node) { return node->body(path) == expected; }),
                  waiting.end());
    if (waiting.empty()) return true;
    if (Clock::now() >= deadline) {
      if (missing)
        for (Node* node : waiting) *missing += node->id + " answers " + node->body(path) + "; ";
      return false;
    }
    std::this_thread::sleep_for(2ms);
  }
}

rapidjson::Document status_of(const Node& node) {
  return it::admin_json(node.server, "/admin/status");
}

// The value at `path` below `value`, or null when a member on the way is missing (so a check
// on an unexpected document fails readably instead of tripping a RapidJSON assertion). It
// refers into `value`: keep the document alive while using it.
const rapidjson::Value& member(const rapidjson::Value& value,
                              std::initializer_list<const char*> path) {
  static const rapidjson::Value missing;
  const rapidjson::Value* at = &value;
  for (const char* name : path) {
    if (!at->IsObject() || !at->HasMember(name)) return missing;
    at = &(*at)[name];
  }
  return *at;
}

// config_source.connected of the node's status; nullopt when it has none.
std::optional<bool> source_connected(const Node& node) {
  const auto status = status_of(node);
  const auto& connected = member(status, {"config_source", "connected"});
  if (!connected.IsBool()) return std::nullopt;
  return connected.GetBool();
}

// The names of the services the node's status lists.
std::set<std::string> service_names(const Node& node) {
  const auto status = status_of(node);
  std::set<std::string> names;
  const auto& services = member(status, {"services"});
  if (services.IsObject())
    for (const auto& service : services.GetObject())
      names.insert(std::string(service.name.GetString(), service.name.GetStringLength()));
  return names;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cluster)

BOOST_AUTO_TEST_CASE(manifests_and_config_from_etcd_reach_every_node) {
  Cluster cluster("serve");
  cluster.etcd.put(cluster.service_key("greeter.json"),
                   static_manifest("greeter", "/greet", "${GREETING}"));
  cluster.start_nodes(3, {{"GREETING", "from-file"}});
  // The startup read: the first generation already serves etcd's manifest.
  for (auto& node : cluster.nodes) BOOST_TEST(node->body("/greet") == "from-file", node->id);

  cluster.etcd.put(cluster.service_key("second.json"), static_manifest("second", "/second", "two"));
  std::string missing;
  BOOST_TEST(all_serve(cluster.nodes, "/second", "two", 10s, &missing), missing);

  cluster.etcd.put(cluster.config_key("GREETING"), "from-etcd");
  missing.clear();
  BOOST_TEST(all_serve(cluster.nodes, "/greet", "from-etcd", 10s, &missing), missing);

  // Deleted in etcd: the env file's value applies again.
  cluster.etcd.remove(cluster.config_key("GREETING"));
  missing.clear();
  BOOST_TEST(all_serve(cluster.nodes, "/greet", "from-file", 10s, &missing), missing);

  cluster.etcd.remove(cluster.service_key("second.json"));
  missing.clear();
  BOOST_TEST(all_serve(cluster.nodes, "/second", "<status 404>", 10s, &missing), missing);
  for (auto& node : cluster.nodes) {
    const auto status = status_of(*node);
    BOOST_TEST(it::json_string(member(status, {"services", "greeter", "file"})) ==
               "etcd:greeter.json");
    BOOST_TEST(it::json_string(member(status, {"config_source", "source"})) == "etcd");
    BOOST_TEST(member(status, {"config_source", "connected"}).IsTrue());
  }
}

BOOST_AUTO_TEST_CASE(put_to_all_nodes_serving_latency) {
  Cluster cluster("latency");
  cluster.etcd.put(cluster.service_key("latency.json"), static_manifest("latency", "/l", "v0"));
  cluster.start_nodes(3);
  std::string missing;
  BOOST_REQUIRE_MESSAGE(all_serve(cluster.nodes, "/l", "v0", 10s, &missing), missing);

  // One keep-alive connection per node, polled in turn until each serves the new body.
  std::vector<std::unique_ptr<it::HttpClient>> clients;
  for (auto& node : cluster.nodes)
    clients.push_back(std::make_unique<it::HttpClient>(node->server.port()));
  constexpr int kChanges = 60;
  std::vector<double> latencies_ms;
  for (int change = 1; change <= kChanges; ++change) {
    const std::string body = "v" + std::to_string(change);
    cluster.etcd.put(cluster.service_key("latency.json"), static_manifest("latency", "/l", body));
    const auto put_answered = Clock::now();
    const auto deadline = put_answered + 10s;
    std::vector<bool> serving(clients.size(), false);
    size_t left = clients.size();
    while (left > 0 && Clock::now() < deadline) {
      for (size_t i = 0; i < clients.size(); ++i) {
        if (serving[i]) continue;
        if (clients[i]->get("/l").body == body) {
          serving[i] = true;
          --left;
        }
      }
      if (left > 0) std::this_thread::sleep_for(500us);  // leave the nodes some CPU
    }
    BOOST_REQUIRE_MESSAGE(left == 0, "change " << change << ": " << left
                                               << " node(s) not serving it after 10 s");
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - put_answered).count());
  }
  const double median = percentile(latencies_ms, 0.5);
  const double p90 = percentile(latencies_ms, 0.9);
  const double max = *std::max_element(latencies_ms.begin(), latencies_ms.end());
  std::ostringstream line;
  line << "put-to-all-3-nodes-serving over " << kChanges << " changes: median " << median
       << " ms, p90 " << p90 << " ms, max " << max << " ms";
  BOOST_TEST_MESSAGE(line.str());
  if (const char* out = std::getenv("CLUSTER_LATENCY_OUT")) {
    std::ofstream(out, std::ios::app) << line.str() << "\n";
  }
  BOOST_TEST(max < 3000.0, line.str());
}

BOOST_AUTO_TEST_CASE(nodes_keep_serving_while_etcd_is_down_and_resync_after) {
  Cluster cluster("etcd-down");
  cluster.etcd.put(cluster.service_key("a.json"), static_manifest("a", "/a", "a1"));
  cluster.start_nodes(3);
  for (auto& node : cluster.nodes) BOOST_TEST((source_connected(*node) == true), node->id);

  cluster.etcd.kill();
  for (auto& node : cluster.nodes) {
    BOOST_TEST(it::wait_until([&] { return source_connected(*node) == false; }, 10s),
               node->id << " never reported config_source.connected=false");
    BOOST_TEST(node->body("/a") == "a1", node->id << " stopped serving its last good state");
    const auto status = status_of(*node);
    BOOST_TEST(member(status, {"config_source", "loaded"}).IsTrue(), node->id);
    BOOST_TEST(member(status, {"config_source", "error"}).IsString(),
               node->id << ": no error reported");
  }

  cluster.etcd.restart();
  for (auto& node : cluster.nodes)
    BOOST_TEST(it::wait_until([&] { return source_connected(*node) == true; }, 15s),
               node->id << " did not reconnect");
  cluster.etcd.put(cluster.service_key("a.json"), static_manifest("a", "/a", "a2"));
  std::string missing;
  BOOST_TEST(all_serve(cluster.nodes, "/a", "a2", 10s, &missing), missing);
}

BOOST_AUTO_TEST_CASE(resync_after_compaction) {
  Cluster cluster("compaction");
  it::TcpProxy proxy(cluster.etcd.port());
  cluster.etcd.put(cluster.service_key("keep.json"), static_manifest("keep", "/keep", "k"));
  cluster.etcd.put(cluster.service_key("doomed.json"), static_manifest("doomed", "/doomed", "d"));
  cluster.start_nodes(3, {}, {}, proxy.endpoint());
  std::string missing;
  BOOST_REQUIRE_MESSAGE(all_serve(cluster.nodes, "/doomed", "d", 10s, &missing), missing);

  proxy.cut();
  for (auto& node : cluster.nodes)
    BOOST_TEST(it::wait_until([&] { return source_connected(*node) == false; }, 10s),
               node->id << " did not notice the cut");
  cluster.etcd.put(cluster.service_key("fresh.json"), static_manifest("fresh", "/fresh", "f"));
  cluster.etcd.remove(cluster.service_key("doomed.json"));
  cluster.etcd.compact(cluster.etcd.revision());
  proxy.resume();

  BOOST_TEST(all_serve(cluster.nodes, "/fresh", "f", 15s, &missing), missing);
  BOOST_TEST(all_serve(cluster.nodes, "/doomed", "<status 404>", 5s, &missing), missing);
  for (auto& node : cluster.nodes) {
    BOOST_TEST(node->body("/keep") == "k", node->id);
    BOOST_TEST((service_names(*node) == std::set<std::string>{"keep", "fresh"}), node->id);
    // The watch's old revision was compacted: the node read everything again.
    BOOST_TEST(node->server.log().find("etcd_resync") != std::string::npos,
               node->id << " logged no etcd_resync");
  }
}

BOOST_AUTO_TEST_CASE(a_node_started_later_catches_up) {
  Cluster cluster("late");
  cluster.start_nodes(2, {{"WHO", "file"}});
  cluster.etcd.put(cluster.service_key("who.json"), static_manifest("who", "/who", "${WHO}"));
  cluster.etcd.put(cluster.config_key("WHO"), "etcd");
  cluster.etcd.put(cluster.service_key("gone.json"), static_manifest("gone", "/gone", "g"));
  cluster.etcd.remove(cluster.service_key("gone.json"));
  std::string missing;
  BOOST_REQUIRE_MESSAGE(all_serve(cluster.nodes, "/who", "etcd", 10s, &missing), missing);

  cluster.start_nodes(1, {{"WHO", "file"}});
  Node& late = *cluster.nodes.back();
  // Ready means its first load already has the cluster's state: no waiting here.
  BOOST_TEST(late.body("/who") == "etcd");
  BOOST_TEST(late.body("/gone") == "<status 404>");
  const std::string ack = cluster.ack_key(late.id);
  BOOST_TEST(it::wait_until([&] { return cluster.etcd.get(ack).has_value(); }, 10s),
             "the late node wrote no ack");
}

BOOST_AUTO_TEST_CASE(bad_manifest_is_quarantined_everywhere_and_acks_follow_the_nodes) {
  Cluster cluster("acks");
  cluster.etcd.put(cluster.service_key("good.json"), static_manifest("good", "/good", "ok"));
  // node-1 stops cleanly under a long lease: its ack must go at once, not when it expires.
  cluster.start_nodes(1, {{"ACK_TTL_S", "60"}});
  cluster.start_nodes(2, {{"ACK_TTL_S", "2"}});
  const int64_t bad_revision = cluster.etcd.put(
      cluster.service_key("bad.json"),
      R"({"name": "bad", "routes": [{"method": "GET", "path": "/bad", "kind": "no_such_kind"}]})");

  for (auto& node : cluster.nodes) {
    BOOST_TEST(node->body("/good") == "ok", node->id);
    // Quarantined on every node, with an error naming what is wrong.
    std::string error;
    BOOST_TEST(it::wait_until([&] {
                 const auto status = status_of(*node);
                 const auto& bad = member(status, {"services", "bad"});
                 error = it::json_string(member(bad, {"error"}));
                 return it::json_string(member(bad, {"state"})) == "quarantined" &&
                        it::json_string(member(bad, {"file"})) == "etcd:bad.json";
               }, 10s),
               node->id << " did not quarantine etcd:bad.json");
    BOOST_TEST(error.find("no_such_kind") != std::string::npos, node->id << ": " << error);
    BOOST_TEST(node->body("/bad") == "<status 404>", node->id);

    // Its ack lists it, for the revision that put it.
    rapidjson::Document ack;
    BOOST_TEST(it::wait_until([&] {
                 const auto value = cluster.etcd.get(cluster.ack_key(node->id));
                 if (!value) return false;
                 ack = it::parse_json(*value);
                 const auto& revision = member(ack, {"revision"});
                 return revision.IsInt64() && revision.GetInt64() >= bad_revision;
               }, 10s),
               node->id << " acked no revision >= " << bad_revision);
    BOOST_TEST(it::json_string(member(ack, {"node"})) == node->id);
    // <hostname>:<HTTP port>
    const std::string address = it::json_string(member(ack, {"address"}));
    const std::string port = ":" + std::to_string(node->server.port());
    BOOST_TEST((address.size() > port.size() &&
                address.compare(address.size() - port.size(), port.size(), port) == 0),
               address);
    const auto& generation = member(ack, {"generation"});
    BOOST_TEST((generation.IsUint64() &&
                generation.GetUint64() == it::status_generation(node->server)));
    BOOST_TEST(it::json_string(member(ack, {"time"})).size() >= 20);  // RFC 3339
    BOOST_TEST(it::json_string(member(ack, {"config_error"})) == "");
    const auto& quarantined = member(ack, {"quarantined"});
    BOOST_REQUIRE(quarantined.IsArray());
    BOOST_REQUIRE_EQUAL(quarantined.Size(), 1u);
    BOOST_TEST(it::json_string(member(quarantined[0], {"name"})) == "bad");
    BOOST_TEST(it::json_string(member(quarantined[0], {"file"})) == "etcd:bad.json");
    BOOST_TEST(it::json_string(member(quarantined[0], {"error"})) == error);
  }

  // SIGTERM: the node revokes its lease on the way out.
  Node& stopped = *cluster.nodes[0];
  const auto term_sent = Clock::now();
  stopped.server.signal(SIGTERM);
  BOOST_TEST(stopped.server.wait_exit(10s) == 0);
  BOOST_TEST(!cluster.etcd.get(cluster.ack_key(stopped.id)).has_value(),
             "the ack of a node stopped with SIGTERM is still there");
  BOOST_TEST_MESSAGE("SIGTERM to exit, ack gone: "
                     << std::chrono::duration<double>(Clock::now() - term_sent).count() << " s");

  // SIGKILL: nothing revokes the lease; it expires after ACK_TTL_S (2 s).
  Node& killed = *cluster.nodes[1];
  killed.server.signal(SIGKILL);
  killed.server.wait_exit(5s);
  const auto killed_at = Clock::now();
  BOOST_TEST(cluster.etcd.get(cluster.ack_key(killed.id)).has_value(),
             "a SIGKILLed node's ack vanished before its lease ran out");
  BOOST_TEST(it::wait_until([&] { return !cluster.etcd.get(cluster.ack_key(killed.id)); }, 10s),
             "a SIGKILLed node's ack outlived ACK_TTL_S=2 by 8 s");
  const double gone_after = std::chrono::duration<double>(Clock::now() - killed_at).count();
  BOOST_TEST_MESSAGE("SIGKILL to ack gone: " << gone_after << " s");
  BOOST_TEST(gone_after < 5.0);
  // The survivor's ack is untouched.
  BOOST_TEST(cluster.etcd.get(cluster.ack_key(cluster.nodes[2]->id)).has_value());
}

BOOST_AUTO_TEST_CASE(a_cut_connection_resumes_from_the_last_revision) {
  Cluster cluster("resume");
  it::TcpProxy proxy(cluster.etcd.port());
  cluster.etcd.put(cluster.service_key("a.json"), static_manifest("a", "/a", "a1"));
  cluster.etcd.put(cluster.service_key("b.json"), static_manifest("b", "/b", "b1"));
  cluster.start_nodes(2, {}, {}, proxy.endpoint());
  for (auto& node : cluster.nodes) BOOST_TEST(node->body("/b") == "b1", node->id);

  proxy.cut();
  for (auto& node : cluster.nodes)
    BOOST_TEST(it::wait_until([&] { return source_connected(*node) == false; }, 10s),
               node->id << " did not notice the cut");
  cluster.etcd.put(cluster.service_key("a.json"), static_manifest("a", "/a", "a2"));
  const int64_t last_write = cluster.etcd.remove(cluster.service_key("b.json"));
  proxy.resume();

  // The watch picks up from the revision after the last one seen: the put and the delete made
  // while cut off both arrive, and no full read is needed.
  std::string missing;
  BOOST_TEST(all_serve(cluster.nodes, "/a", "a2", 15s, &missing), missing);
  BOOST_TEST(all_serve(cluster.nodes, "/b", "<status 404>", 5s, &missing), missing);
  for (auto& node : cluster.nodes) {
    BOOST_TEST(it::wait_until([&] { return source_connected(*node) == true; }, 10s), node->id);
    const auto status = status_of(*node);
    const auto& revision = member(status, {"config_source", "revision"});
    BOOST_TEST((revision.IsInt64() && revision.GetInt64() >= last_write), node->id);
    BOOST_TEST(node->server.log().find("etcd_resync") == std::string::npos,
               node->id << " resynced although nothing was compacted");
  }
}

BOOST_AUTO_TEST_CASE(an_etcd_manifest_replaces_a_local_file_of_the_same_name) {
  Cluster cluster("override");
  cluster.start_nodes(2, {}, {{"greeter.json", static_manifest("greeter", "/greet", "disk")}});
  for (auto& node : cluster.nodes) {
    BOOST_TEST(node->body("/greet") == "disk", node->id);
    BOOST_TEST(it::json_string(member(status_of(*node), {"services", "greeter", "file"})) ==
               "greeter.json");
  }

  cluster.etcd.put(cluster.service_key("greeter.json"),
                   static_manifest("greeter", "/greet", "etcd"));
  std::string missing;
  BOOST_TEST(all_serve(cluster.nodes, "/greet", "etcd", 10s, &missing), missing);
  for (auto& node : cluster.nodes)
    BOOST_TEST(it::json_string(member(status_of(*node), {"services", "greeter", "file"})) ==
               "etcd:greeter.json", node->id);

  // Deleted from etcd: the local file serves again.
  cluster.etcd.remove(cluster.service_key("greeter.json"));
  BOOST_TEST(all_serve(cluster.nodes, "/greet", "disk", 10s, &missing), missing);
  for (auto& node : cluster.nodes)
    BOOST_TEST(it::json_string(member(status_of(*node), {"services", "greeter", "file"})) ==
               "greeter.json", node->id);
}

BOOST_AUTO_TEST_SUITE_END()
