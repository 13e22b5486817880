// aitools-ctl's etcd commands without etcd: the command line, the applied-revision rule, the
// checks made before a write, and the commands against an in-memory store that answers as
// etcd's HTTP/JSON gateway does (revisions, mod_revision, compaction, error answers).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/etcd.hpp"
#include "ctl/applied.hpp"
#include "ctl/checks.hpp"
#include "ctl/cli.hpp"
#include "ctl/cluster.hpp"
#include "ctl/etcd_client.hpp"
#include "util/base64.hpp"

using namespace aitools;
using namespace aitools::ctl;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Invocation parse(const std::vector<std::string>& args, const Environment& environment = {}) {
  Invocation invocation;
  std::string error;
  BOOST_REQUIRE_MESSAGE(parse_command_line(args, environment, invocation, error), error);
  return invocation;
}

// An etcd key space with its history, as much of it as aitools-ctl reads and writes.
struct Store {
  struct Version {
    int64_t revision;
    std::optional<std::string> value;  // nullopt: deleted
  };
  std::map<std::string, std::vector<Version>> history;
  int64_t revision = 1;
  int64_t compacted = 0;  // reads below it fail as etcd's do
  std::vector<std::pair<std::string, int64_t>> ranges;  // (key, revision) of each range read
  int writes = 0;

  int64_t put(const std::string& key, const std::string& value) {
    history[key].push_back({++revision, value});
    return revision;
  }
  bool exists(const std::string& key, int64_t at = 0) const {
    return value_at(key, at ? at : revision).has_value();
  }
  std::optional<std::string> value_at(const std::string& key, int64_t at) const {
    const auto found = history.find(key);
    if (found == history.end()) return std::nullopt;
    std::optional<std::string> value;
    for (const auto& version : found->second)
      if (version.revision <= at) value = version.value;
    return value;
  }
  int64_t mod_revision(const std::string& key, int64_t at) const {
    int64_t mod = 0;
    for (const auto& version : history.at(key))
      if (version.revision <= at) mod = version.revision;
    return mod;
  }
};

std::string field(const rapidjson::Value& object, const char* name) {
  const auto found = object.FindMember(name);
  if (found == object.MemberEnd()) return "";
  if (found->value.IsString()) return found->value.GetString();
  if (found->value.IsInt64()) return std::to_string(found->value.GetInt64());
  return "";
}

std::string key_field(const rapidjson::Value& object, const char* name) {
  return base64::decode(field(object, name)).value_or("<bad base64>");
}

// Answers aitools-ctl's requests from a Store, as etcd 3.4's gateway would.
class GatewayTransport : public Transport {
 public:
  explicit GatewayTransport(Store& store) : store_(store) {}

  AdminAnswer send(const AdminRequest& request) override {
    if (down) throw Unreachable("cannot connect to etcd http://127.0.0.1:1: Connection refused");
    rapidjson::Document body;
    body.Parse(request.body.c_str());
    BOOST_REQUIRE(body.IsObject());
    if (request.target == "/v3/kv/range") return range(body);
    if (request.target == "/v3/kv/put") {
      ++store_.writes;
      store_.put(key_field(body, "key"), key_field(body, "value"));
      return {200, header()};
    }
    if (request.target == "/v3/kv/deleterange") {
      ++store_.writes;
      const int64_t deleted = remove(key_field(body, "key"));
      return {200, header(R"(,"deleted":")" + std::to_string(deleted) + "\"")};
    }
    BOOST_REQUIRE(request.target == "/v3/kv/txn");
    ++store_.writes;
    std::string responses;
    const int64_t before = store_.revision;
    int64_t at = store_.revision;
    for (const auto& operation : body["success"].GetArray()) {
      std::string response;
      if (operation.HasMember("request_put")) {
        const auto& put = operation["request_put"];
        store_.history[key_field(put, "key")].push_back({before + 1, key_field(put, "value")});
        at = before + 1;
        response = R"({"response_put":{"header":{}}})";
      } else {
        const std::string key = key_field(operation["request_delete_range"], "key");
        const bool existed = store_.exists(key);
        if (existed) store_.history[key].push_back({before + 1, std::nullopt}), at = before + 1;
        response = existed ? R"({"response_delete_range":{"header":{},"deleted":"1"}})"
                           : R"({"response_delete_range":{"header":{}}})";
      }
      responses += (responses.empty() ? "" : ",") + response;
    }
    store_.revision = at;
    return {200, header(R"(,"succeeded":true,"responses":[)" + responses + "]")};
  }

  bool down = false;

 private:
  std::string header(const std::string& rest = "") const {
    return R"({"header":{"cluster_id":"1","revision":")" + std::to_string(store_.revision) +
           "\"}" + rest + "}";
  }

  int64_t remove(const std::string& key) {
    if (!store_.exists(key)) return 0;
    store_.history[key].push_back({++store_.revision, std::nullopt});
    return 1;
  }

  AdminAnswer range(const rapidjson::Document& body) {
    const std::string key = key_field(body, "key");
    const std::string end = body.HasMember("range_end") ? key_field(body, "range_end") : "";
    const std::string given = field(body, "revision");
    const int64_t at = given.empty() ? store_.revision : std::stoll(given);
    store_.ranges.emplace_back(key, given.empty() ? 0 : at);
    const char* refusal = at < store_.compacted   ? "required revision has been compacted"
                          : at > store_.revision ? "required revision is a future revision"
                                                 : nullptr;
    if (refusal)
      return {400, std::string(R"({"error":"etcdserver: mvcc: )") + refusal +
                       R"(","code":11,"message":"etcdserver: mvcc: )" + refusal + "\"}"};
    std::string kvs;
    for (const auto& [name, versions] : store_.history) {
      const bool inside = end.empty() ? name == key : (name >= key && name < end);
      const auto value = store_.value_at(name, at);
      if (!inside || !value) continue;
      const std::string mod = std::to_string(store_.mod_revision(name, at));
      kvs += (kvs.empty() ? "" : ",") + std::string(R"({"key":")") + base64::encode(name) +
             R"(","create_revision":")" + mod + R"(","mod_revision":")" + mod + "\"" +
             (body.HasMember("keys_only") ? "" : R"(,"value":")" + base64::encode(*value) + "\"") +
             "}";
    }
    return {200, R"({"header":{"revision":")" + std::to_string(store_.revision) + "\"}" +
                     (kvs.empty() ? "" : R"(,"kvs":[)" + kvs + "]") + "}"};
  }

  Store& store_;
};

struct Cluster {
  Store store;
  GatewayTransport* gateway = nullptr;  // owned by etcd
  EtcdClient etcd = client();
  etcd::Layout layout{"/aitools/default"};

  EtcdClient client() {
    std::vector<EtcdEndpoint> endpoints;
    auto transport = std::make_unique<GatewayTransport>(store);
    gateway = transport.get();
    endpoints.push_back({"http://127.0.0.1:2379", std::move(transport)});
    return EtcdClient(std::move(endpoints));
  }

  void ack(const std::string& node, int64_t revision, uint64_t generation = 1,
           std::vector<etcd::Ack::Quarantined> quarantined = {}, std::string config_error = "") {
    etcd::Ack ack;
    ack.node = node;
    ack.address = "127.0.0.1:18668";
    ack.generation = generation;
    ack.revision = revision;
    ack.time = "2020-01-01T00:00:00.000Z";
    ack.quarantined = std::move(quarantined);
    ack.config_error = std::move(config_error);
    store.put(layout.acks_prefix() + node, etcd::ack_json(ack));
  }

  struct Run {
    int code;
    std::string out, err;
  };
  Run run(const std::vector<std::string>& args) {
    const Invocation invocation = parse(args);
    std::ostringstream out, err;
    const int code = run_etcd_command(invocation, etcd, out, err);
    return {code, out.str(), err.str()};
  }
};

struct TempFile {
  explicit TempFile(const std::string& name, const std::string& content)
      : dir(std::filesystem::temp_directory_path() /
            ("ctl-cluster-" + std::to_string(::getpid()))),
        path((dir / name).string()) {
    std::filesystem::create_directories(dir);
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  std::string path;
};

constexpr const char* kGreeter = R"({"name": "greeter", "routes": [
  {"method": "GET", "path": "/hello", "kind": "static", "options": {"body": "${GREETING}"}}]})";

}  // namespace

BOOST_AUTO_TEST_SUITE(ctl_cluster)

BOOST_AUTO_TEST_CASE(command_line_etcd_options) {
  auto invocation = parse({"cluster", "status"});
  BOOST_TEST(invocation.etcd == "http://127.0.0.1:2379");
  BOOST_TEST(invocation.etcd_prefix == "/aitools/default");
  BOOST_TEST(is_etcd_command("cluster"));
  BOOST_TEST(!is_etcd_command("status"));

  invocation = parse({"cluster", "status"}, {{}, {}, std::string("http://e:1"), std::string("/x")});
  BOOST_TEST(invocation.etcd == "http://e:1");
  BOOST_TEST(invocation.etcd_prefix == "/x");
  invocation = parse({"--etcd", "http://a:1,http://b:2", "put-service", "f.json", "--prefix=/p"},
                     {{}, {}, std::string("http://e:1"), std::string("/x")});
  BOOST_TEST(invocation.etcd == "http://a:1,http://b:2");
  BOOST_TEST(invocation.etcd_prefix == "/p");
  BOOST_TEST((invocation.args == std::vector<std::string>{"f.json"}));

  // --timeout after a wait is the wait's own; otherwise the request's.
  invocation = parse({"--timeout", "3", "cluster", "wait", "--timeout", "60", "--nodes", "2"});
  BOOST_TEST(invocation.timeout.count() == 3000);
  BOOST_TEST((invocation.args ==
              std::vector<std::string>{"wait", "--timeout", "60", "--nodes", "2"}));
  invocation = parse({"cluster", "status", "--timeout", "4"});
  BOOST_TEST(invocation.timeout.count() == 4000);
  invocation = parse({"put-service", "f.json", "--timeout", "5", "--wait"});
  BOOST_TEST(invocation.timeout.count() == 10000);
  BOOST_TEST((invocation.args == std::vector<std::string>{"f.json", "--timeout", "5", "--wait"}));
  invocation = parse({"set-config", "A=1", "--timeout", "5"});
  BOOST_TEST(invocation.timeout.count() == 5000);

  // --etcd and --prefix belong to the etcd commands.
  Invocation refused;
  std::string error;
  BOOST_TEST(!parse_command_line({"status", "--etcd", "http://e:1"}, {}, refused, error));
  BOOST_TEST(contains(error, "--etcd is for the cluster commands"));
  // ... and are checked as the nodes check ETCD_ENDPOINTS and ETCD_PREFIX.
  BOOST_CHECK_THROW(etcd_endpoints("https://e:1", 1s), Failure);
  BOOST_CHECK_THROW(etcd_endpoints("http://e:1,", 1s), Failure);
  BOOST_TEST(etcd_endpoints("http://a:1, http://b:2", 1s).size() == 2u);
  BOOST_TEST(etcd_endpoints("http://a:1,http://b:2", 1s)[1].url == "http://b:2");
  BOOST_CHECK_THROW(etcd_layout("aitools"), Failure);
  BOOST_CHECK_THROW(etcd_layout("/aitools/"), Failure);
  BOOST_TEST(etcd_layout("/aitools/prod").services_prefix() == "/aitools/prod/services/");
  try {
    etcd_endpoints("ftp://e:1", 1s);
    BOOST_FAIL("ftp:// accepted");
  } catch (const Failure& e) {
    BOOST_TEST(contains(e.what(), "--etcd: expected"));
    BOOST_TEST(contains(e.what(), "ftp://e:1"));
  }
}

BOOST_AUTO_TEST_CASE(applied_means_the_followed_keys_are_the_same) {
  Cluster cluster;
  auto& store = cluster.store;
  const auto& layout = cluster.layout;
  store.put(layout.config_prefix() + "A", "1");                   // 2
  store.put(layout.acks_prefix() + "n1", "{}");                   // 3: not followed
  store.put(layout.services_prefix() + "x.json", "{}");           // 4
  store.put("/aitools/other/config/A", "2");                      // 5: another cluster
  store.put(layout.config_prefix() + "A", "1");                   // 6: the same value again
  store.put(layout.config_prefix() + "A", "3");                   // 7
  store.put(layout.config_prefix() + "A", "1");                   // 8: back to 1
  AppliedRule rule(cluster.etcd, layout);
  BOOST_TEST(rule.applied(2, 2));
  BOOST_TEST(rule.applied(5, 2));   // later is applied
  BOOST_TEST(rule.applied(2, 3));   // only an ack was written since
  BOOST_TEST(!rule.applied(3, 4));  // a manifest was put
  BOOST_TEST(rule.applied(4, 5));   // another prefix changed
  BOOST_TEST(rule.applied(5, 6));   // a write that changed nothing
  BOOST_TEST(!rule.applied(6, 7));
  BOOST_TEST(rule.applied(5, 8));   // changed and changed back: the same state
  BOOST_TEST(!rule.applied(0, 2));  // no revision at all
  BOOST_TEST(!rule.applied(8, 11)); // a future revision: only A >= R counts

  // Each revision is read once, over the followed range.
  const auto reads = store.ranges.size();
  BOOST_TEST(rule.applied(2, 3));
  BOOST_TEST(store.ranges.size() == reads);
  for (const auto& [key, revision] : store.ranges) BOOST_TEST(key == layout.watch_begin());

  // A compacted revision cannot be compared: only A >= R counts.
  store.compacted = 5;
  AppliedRule fresh(cluster.etcd, layout);
  BOOST_TEST(!fresh.applied(2, 3));
  BOOST_TEST(fresh.applied(3, 3));
  BOOST_TEST(fresh.applied(5, 6));
  BOOST_TEST(!fresh.applied(6, 7));
}

BOOST_AUTO_TEST_CASE(config_keys_and_values_are_checked_as_the_nodes_check_them) {
  const etcd::Layout layout{"/aitools/default"};
  BOOST_TEST(parse_assignment("LOG_LEVEL=debug")->value == "debug");
  BOOST_TEST(parse_assignment("my.key_2=a=b")->value == "a=b");
  BOOST_TEST(parse_assignment("EMPTY=")->value == "");
  BOOST_TEST(!parse_assignment("1X=2"));
  BOOST_TEST(!parse_assignment("NO_VALUE"));
  BOOST_TEST(!parse_assignment("=x"));
  BOOST_TEST(!parse_assignment("A B=x"));
  BOOST_TEST(valid_config_key("_a.b9"));
  BOOST_TEST(!valid_config_key("a/b"));

  const std::string error = check_config_value(layout, {"LOG_LEVEL", "loud"});
  BOOST_TEST(contains(error, "etcd /aitools/default/config/LOG_LEVEL"));
  BOOST_TEST(contains(error, "LOG_LEVEL=\"loud\": expected"));
  BOOST_TEST(check_config_value(layout, {"LOG_LEVEL", "debug"}) == "");
  BOOST_TEST(contains(check_config_value(layout, {"RESCAN_INTERVAL_S", "-1"}), "expected"));
  BOOST_TEST(check_config_value(layout, {"GREETING", "any text at all"}) == "");
  BOOST_TEST(restart_only("SERVICE_PORT"));
  BOOST_TEST(!restart_only("LOG_LEVEL"));
  BOOST_TEST(!restart_only("GREETING"));

  BOOST_TEST(valid_service_name("greeter.json"));
  BOOST_TEST(valid_service_name("a-b_c.v2.json"));
  for (const char* bad : {".hidden.json", "greeter", ".json", "a b.json", "a/b.json", "ü.json"})
    BOOST_TEST(!valid_service_name(bad), bad);
}

BOOST_AUTO_TEST_CASE(manifests_are_checked_as_the_server_compiles_them) {
  const auto error = check_manifest("bad.json", "{\"routes\": [", {});
  BOOST_TEST(contains(error, "line 1"));
  BOOST_TEST(contains(check_manifest("x.json", R"({"routes": [{"method": "GET", "path": "/x",
    "kind": "no-such-kind"}]})", {}), "routes[0].kind"));
  BOOST_TEST(contains(check_manifest("x.json", R"({"routes": [{"method": 7, "path": "/x",
    "kind": "static"}]})", {}), "routes[0].method"));
  // ${KEY} is rendered from the cluster's config as the nodes render it.
  BOOST_TEST(contains(check_manifest("greeter.json", kGreeter, {}), "GREETING"));
  BOOST_TEST(check_manifest("greeter.json", kGreeter,
                            {{"GREETING", {"hi", "etcd /aitools/default/config/GREETING"}}}) == "");
}

BOOST_AUTO_TEST_CASE(put_service_refuses_an_invalid_manifest_and_writes_nothing) {
  Cluster cluster;
  TempFile bad("broken.json", R"({"routes": [{"method": "GET", "path": "/x", "kind": "nope"}]})");
  auto result = cluster.run({"put-service", bad.path});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, bad.path + ": routes[0].kind"));
  BOOST_TEST(contains(result.err, "nothing was written"));
  BOOST_TEST(cluster.store.writes == 0);

  // Needs GREETING: refused until the cluster's config has it.
  TempFile greeter("greeter.json", kGreeter);
  result = cluster.run({"put-service", greeter.path});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(cluster.store.writes == 0);
  result = cluster.run({"set-config", "GREETING=hello"});
  BOOST_TEST(result.code == 0, result.err);
  result = cluster.run({"put-service", greeter.path, "--name", "hello.json"});
  BOOST_TEST(result.code == 0, result.err);
  BOOST_TEST(result.out == "stored /aitools/default/services/hello.json at revision 3\n");
  BOOST_TEST(cluster.store.value_at("/aitools/default/services/hello.json", 3).value_or("<none>") == kGreeter);

  result = cluster.run({"put-service", greeter.path, "--name", ".hidden.json"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "is not a service name"));
  result = cluster.run({"put-service", "/no/such/file.json"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "cannot read /no/such/file.json"));
}

BOOST_AUTO_TEST_CASE(set_and_unset_config_write_one_transaction) {
  Cluster cluster;
  auto result = cluster.run({"set-config", "LOG_LEVEL=loud", "A=1"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "LOG_LEVEL=\"loud\": expected"));
  BOOST_TEST(cluster.store.writes == 0);
  result = cluster.run({"set-config", "SERVICE_PORT=9000"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "--force"));
  BOOST_TEST(cluster.store.writes == 0);
  result = cluster.run({"set-config", "A=1", "A=2"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "A is given twice"));

  result = cluster.run({"--json", "set-config", "LOG_LEVEL=debug", "GREETING=hi there"});
  BOOST_TEST(result.code == 0, result.err);
  BOOST_TEST(result.out == R"({"keys":["LOG_LEVEL","GREETING"],"revision":2})" "\n");
  BOOST_TEST(cluster.store.value_at("/aitools/default/config/GREETING", 2).value_or("<none>") == "hi there");
  BOOST_TEST(cluster.store.value_at("/aitools/default/config/LOG_LEVEL", 2).value_or("<none>") == "debug");
  result = cluster.run({"set-config", "--force", "SERVICE_PORT=9000"});
  BOOST_TEST(result.code == 0);
  BOOST_TEST(contains(result.err, "warning: SERVICE_PORT takes effect only when each node restarts"));

  result = cluster.run({"unset-config", "GREETING", "NEVER_SET"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(result.out == "unset GREETING at revision 4\n");
  BOOST_TEST(contains(result.err, "NEVER_SET is not set under /aitools/default/config/"));
  BOOST_TEST(!cluster.store.exists("/aitools/default/config/GREETING"));

  result = cluster.run({"delete-service", "nothing"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "there is no /aitools/default/services/nothing.json"));
  cluster.store.put("/aitools/default/services/x.json", "{}");
  result = cluster.run({"delete-service", "x"});
  BOOST_TEST(result.code == 0, result.err);
  BOOST_TEST(result.out == "deleted /aitools/default/services/x.json at revision 6\n");
}

BOOST_AUTO_TEST_CASE(cluster_status_flags_lagging_nodes) {
  Cluster cluster;
  const auto& layout = cluster.layout;
  cluster.store.put(layout.config_prefix() + "A", "1");  // 2
  cluster.ack("node-a", 2, 3);                              // 3
  cluster.store.put(layout.services_prefix() + "b.json", "{");  // 4
  cluster.ack("node-b", 4, 5, {{"b", "etcd:b.json", "line 1: bad"}});  // 5
  cluster.store.put(layout.acks_prefix() + "junk", "not json");  // 6
  auto result = cluster.run({"cluster", "status"});
  BOOST_TEST(result.code == 0, result.err);
  BOOST_TEST(contains(result.out, "revision  6\n"));
  BOOST_TEST(contains(result.out, "3 live, 2 lagging"));
  std::istringstream lines(result.out);
  std::map<std::string, std::string> rows;
  for (std::string line; std::getline(lines, line);) rows[line.substr(0, line.find(' '))] = line;
  BOOST_TEST(contains(rows["node-a"], "LAG"));
  BOOST_TEST(contains(rows["node-b"], "yes"));
  BOOST_TEST(contains(rows["node-b"], "1: b"));
  BOOST_TEST(contains(rows["junk"], "unreadable ack"));

  result = cluster.run({"cluster", "status", "--json"});
  rapidjson::Document json;
  json.Parse(result.out.c_str());
  BOOST_REQUIRE(json.IsObject());
  BOOST_TEST(json["revision"].GetInt64() == 6);
  BOOST_TEST(json["nodes"].Size() == 3u);
  BOOST_TEST(json["nodes"][2]["node"].GetString() == std::string("node-b"));
  BOOST_TEST(json["nodes"][2]["applied"].GetBool());
  BOOST_TEST(json["nodes"][2]["quarantined"][0]["file"].GetString() == std::string("etcd:b.json"));

  // The wait names who lags; --revision 2 is applied by both readable nodes.
  result = cluster.run({"cluster", "wait", "--timeout", "0.2"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "revision 6 was not applied within 0.2 s by "));
  BOOST_TEST(contains(result.err, "node-a (at revision 2, generation 3)"));
  BOOST_TEST(!contains(result.err, "node-b"));
  BOOST_TEST(contains(result.err, "junk (unreadable ack"));
  cluster.store.history.erase(layout.acks_prefix() + "junk");
  result = cluster.run({"cluster", "wait", "--revision", "2", "--timeout", "1"});
  BOOST_TEST(result.code == 0, result.err);
  BOOST_TEST(result.out == "revision 2 is applied by 2 nodes: node-a, node-b\n");
  result = cluster.run({"cluster", "wait", "--revision", "2", "--nodes", "3", "--timeout", "0.1"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "only 2 of the 3 nodes asked for (--nodes) are live"));
  result = cluster.run({"cluster", "wait", "--revision", "0"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "--revision: expected a revision number"));
  result = cluster.run({"cluster", "restart"});
  BOOST_TEST(result.code == 1);
  BOOST_TEST(contains(result.err, "expected cluster status or cluster wait"));
}

BOOST_AUTO_TEST_CASE(unreachable_etcd_exits_2) {
  Cluster cluster;
  cluster.gateway->down = true;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"cluster", "status"}, {"cluster", "wait"}, {"set-config", "A=1"}, {"unset-config", "A"},
           {"delete-service", "x"}}) {
    const auto result = cluster.run(args);
    BOOST_TEST(result.code == 2, args[0]);
    BOOST_TEST(contains(result.err, "aitools-ctl: cannot connect to etcd http://127.0.0.1:1"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
