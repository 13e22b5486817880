#include "ctl/cluster.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "ctl/applied.hpp"
#include "ctl/checks.hpp"
#include "ctl/command.hpp"
#include "ctl/table.hpp"

namespace aitools::ctl {

namespace {

using Clock = std::chrono::steady_clock;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
using namespace std::chrono_literals;

constexpr auto kPollInterval = 100ms;
constexpr std::chrono::milliseconds kDefaultWait = 30s;

struct Context {
  const Invocation& invocation;
  EtcdClient& etcd;
  etcd::Layout layout;
  std::ostream& out;
  std::ostream& err;
};

std::string joined(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : ", ") + part;
  return text;
}

void string_field(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

// ---- the nodes, from their acks ----

struct Node {
  std::string key;  // under acks/
  etcd::Ack ack;
  std::string unreadable;  // why the ack does not parse; "" when it does
  bool applied = false;    // the target revision (AppliedRule)
  const std::string& name() const { return unreadable.empty() ? ack.node : key; }
};

struct ClusterView {
  int64_t revision = 0;  // the store's revision when the acks were read
  int64_t target = 0;    // what `applied` is about
  std::vector<Node> nodes;

  std::vector<const Node*> lagging() const {
    std::vector<const Node*> out;
    for (const auto& node : nodes)
      if (!node.applied) out.push_back(&node);
    return out;
  }
};

// The live nodes and whether each has applied `target` (0: the current revision).
ClusterView read_cluster(Context& ctx, AppliedRule& rule, int64_t target) {
  const std::string acks = ctx.layout.acks_prefix();
  const auto range = ctx.etcd.range(acks, etcd::prefix_end(acks));
  ClusterView view;
  view.revision = range.revision;
  view.target = target ? target : range.revision;
  for (const auto& kv : range.kvs) {
    Node node;
    node.key = kv.key.substr(acks.size());
    std::string error;
    if (etcd::parse_ack(kv.value, node.ack, error))
      node.applied = rule.applied(node.ack.revision, view.target);
    else
      node.unreadable = "unreadable ack: " + error;
    view.nodes.push_back(std::move(node));
  }
  return view;
}

// Seconds since an ack's RFC 3339 UTC time; nullopt when it does not read as one.
std::optional<int64_t> age_seconds(const std::string& time) {
  std::tm utc{};
  if (std::sscanf(time.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec) != 6)
    return std::nullopt;
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  const std::time_t at = timegm(&utc);
  if (at == -1) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr) - at));
}

std::string quarantined_text(const etcd::Ack& ack) {
  if (ack.quarantined.empty()) return "-";
  std::vector<std::string> names;
  for (const auto& service : ack.quarantined) names.push_back(service.name);
  return std::to_string(names.size()) + ": " + joined(names);
}

// "b (at revision 40, generation 3)"
std::string lagging_text(const Node& node) {
  if (!node.unreadable.empty()) return node.key + " (" + node.unreadable + ")";
  return node.ack.node + " (at revision " + std::to_string(node.ack.revision) + ", generation " +
         std::to_string(node.ack.generation) + ")";
}

void write_node(JsonWriter& w, const Node& node) {
  w.StartObject();
  string_field(w, "key", node.key);
  if (!node.unreadable.empty()) {
    string_field(w, "error", node.unreadable);
  } else {
    const auto& ack = node.ack;
    string_field(w, "node", ack.node);
    string_field(w, "address", ack.address);
    w.Key("generation");
    w.Uint64(ack.generation);
    w.Key("revision");
    w.Int64(ack.revision);
    string_field(w, "time", ack.time);
    w.Key("age_s");
    if (const auto age = age_seconds(ack.time))
      w.Int64(*age);
    else
      w.Null();
    w.Key("quarantined");
    w.StartArray();
    for (const auto& service : ack.quarantined) {
      w.StartObject();
      string_field(w, "name", service.name);
      string_field(w, "file", service.file);
      string_field(w, "error", service.error);
      w.EndObject();
    }
    w.EndArray();
    string_field(w, "config_error", ack.config_error);
  }
  w.Key("applied");
  w.Bool(node.applied);
  w.EndObject();
}

void print_json(std::ostream& out, const std::function<void(JsonWriter&)>& fields) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  fields(w);
  w.EndObject();
  out << buffer.GetString() << '\n';
}

// ---- cluster status ----

int cluster_status(Context& ctx) {
  AppliedRule rule(ctx.etcd, ctx.layout);
  const ClusterView view = read_cluster(ctx, rule, 0);
  if (ctx.invocation.json) {
    print_json(ctx.out, [&](JsonWriter& w) {
      w.Key("revision");
      w.Int64(view.revision);
      string_field(w, "etcd", ctx.etcd.endpoint());
      string_field(w, "prefix", ctx.layout.prefix);
      w.Key("nodes");
      w.StartArray();
      for (const auto& node : view.nodes) write_node(w, node);
      w.EndArray();
    });
    return kOk;
  }
  Table summary;
  summary.add({"revision", std::to_string(view.revision)});
  summary.add({"etcd", ctx.etcd.endpoint() + ", prefix " + ctx.layout.prefix});
  summary.add({"nodes", std::to_string(view.nodes.size()) + " live, " +
                            std::to_string(view.lagging().size()) + " lagging"});
  summary.print(ctx.out);
  ctx.out << '\n';
  if (view.nodes.empty()) {
    ctx.out << "no live node (is any aitools-server running with CONFIG_SOURCE=etcd and "
               "ETCD_PREFIX="
            << ctx.layout.prefix << "?)\n";
    return kOk;
  }
  Table nodes({"NODE", "ADDRESS", "GENERATION", "REVISION", "APPLIED", "AGE", "QUARANTINED",
               "CONFIG ERROR"});
  for (const auto& node : view.nodes) {
    const std::string applied = node.applied ? "yes" : "LAG";
    if (!node.unreadable.empty()) {
      nodes.add({node.key, "-", "-", "-", applied, "-", "-", node.unreadable});
      continue;
    }
    const auto& ack = node.ack;
    const auto age = age_seconds(ack.time);
    nodes.add({ack.node, ack.address.empty() ? "-" : ack.address,
               std::to_string(ack.generation), std::to_string(ack.revision), applied,
               age ? duration_text(static_cast<uint64_t>(*age)) : "-", quarantined_text(ack),
               ack.config_error.empty() ? "-" : ack.config_error});
  }
  nodes.print(ctx.out);
  return kOk;
}

// ---- waiting for the nodes ----

struct WaitResult {
  bool done = false;
  ClusterView view;
  std::chrono::milliseconds timeout{0};
  uint64_t wanted = 0;  // --nodes
};

// Polls the acks until every live node, and at least `wanted` nodes, applied `target`
// (0: the revision current at the start), or `timeout` passes.
WaitResult wait_for(Context& ctx, int64_t target, uint64_t wanted,
                    std::chrono::milliseconds timeout) {
  AppliedRule rule(ctx.etcd, ctx.layout);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    ClusterView view = read_cluster(ctx, rule, target);
    target = view.target;
    const bool done = view.lagging().empty() && view.nodes.size() >= wanted;
    if (done || Clock::now() >= deadline) return {done, std::move(view), timeout, wanted};
    std::this_thread::sleep_for(
        std::min<Clock::duration>(kPollInterval, deadline - Clock::now()));
  }
}

void write_wait(JsonWriter& w, const WaitResult& result) {
  w.StartObject();
  w.Key("revision");
  w.Int64(result.view.target);
  w.Key("applied");
  w.Bool(result.done);
  for (const bool lagging : {false, true}) {
    w.Key(lagging ? "lagging" : "nodes");
    w.StartArray();
    for (const auto& node : result.view.nodes)
      if (!lagging || !node.applied) w.String(node.name().c_str());
    w.EndArray();
  }
  w.EndObject();
}

// The outcome in words (stdout unless --json; the failure on stderr); the exit status.
int report_wait(Context& ctx, const WaitResult& result) {
  const std::string revision = "revision " + std::to_string(result.view.target);
  if (result.done) {
    if (ctx.invocation.json) return kOk;
    std::vector<std::string> names;
    for (const auto& node : result.view.nodes) names.push_back(node.name());
    if (names.empty())
      ctx.out << revision << ": no live node to wait for (--nodes N waits for N nodes)\n";
    else
      ctx.out << revision << " is applied by " << names.size()
              << (names.size() == 1 ? " node: " : " nodes: ") << joined(names) << '\n';
    return kOk;
  }
  std::vector<std::string> lagging;
  for (const Node* node : result.view.lagging()) lagging.push_back(lagging_text(*node));
  ctx.err << "aitools-ctl: " << revision << " was not applied within "
          << seconds_text(result.timeout);
  if (!lagging.empty()) ctx.err << " by " << joined(lagging);
  if (result.view.nodes.size() < result.wanted)
    ctx.err << (lagging.empty() ? "" : ";") << " only " << result.view.nodes.size() << " of the "
            << result.wanted << " nodes asked for (--nodes) are live";
  ctx.err << '\n';
  return kFailed;
}

int cluster(Context& ctx) {
  const auto parsed =
      command_args(ctx.invocation, {"--revision", "--nodes", "--timeout"}, {}, true);
  const std::string what = parsed.paths.empty() ? "" : parsed.paths.front();
  if (parsed.paths.size() != 1 || (what != "status" && what != "wait"))
    throw UsageError("expected cluster status or cluster wait");
  if (what == "status") {
    if (!parsed.values.empty())
      throw UsageError(parsed.values.begin()->first + " is for cluster wait, not cluster status");
    return cluster_status(ctx);
  }
  const auto revision =
      number_arg(parsed, "--revision", 1, 999999999999999999, "a revision number (1, 2, ...)");
  const auto nodes = number_arg(parsed, "--nodes", 0, 100000, "a number of nodes");
  const WaitResult result = wait_for(ctx, static_cast<int64_t>(revision.value_or(0)),
                                     nodes.value_or(0), wait_timeout_arg(parsed, kDefaultWait));
  if (ctx.invocation.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    write_wait(w, result);
    ctx.out << buffer.GetString() << '\n';
  }
  return report_wait(ctx, result);
}

// ---- writes ----

// After a write at `revision`: prints it (`text`, or --json: `fields` and "revision"), and
// with --wait waits for every live node to apply it; `nodes_ok` then looks at what the nodes
// report about the change (false: it printed why on stderr, exit 1).
int finish_write(Context& ctx, const CommandArgs& parsed, int64_t revision,
                 const std::function<void(JsonWriter&)>& fields, const std::string& text,
                 const std::function<bool(const ClusterView&)>& nodes_ok = {}) {
  if (!ctx.invocation.json) ctx.out << text << " at revision " << revision << std::endl;
  std::optional<WaitResult> waited;
  if (parsed.switches.count("--wait"))
    waited = wait_for(ctx, revision, 0, wait_timeout_arg(parsed, kDefaultWait));
  if (ctx.invocation.json) {
    print_json(ctx.out, [&](JsonWriter& w) {
      fields(w);
      w.Key("revision");
      w.Int64(revision);
      if (waited) {
        w.Key("wait");
        write_wait(w, *waited);
      }
    });
  }
  if (!waited) return kOk;
  const int code = report_wait(ctx, *waited);
  if (code != kOk || !nodes_ok) return code;
  return nodes_ok(waited->view) ? kOk : kFailed;
}

std::string service_name_error(const std::string& name) {
  return "\"" + name + "\" is not a service name: expected [A-Za-z0-9._-]+.json, not starting "
                       "with '.'";
}

int put_service(Context& ctx) {
  const auto parsed = command_args(ctx.invocation, {"--name", "--timeout"}, {"--wait"}, true);
  if (parsed.paths.size() != 1) throw UsageError("put-service needs one FILE");
  const std::string& file = parsed.paths.front();
  const auto given = parsed.values.find("--name");
  const bool named = given != parsed.values.end();
  const std::string name = named ? given->second : std::filesystem::path(file).filename().string();
  if (!valid_service_name(name))
    throw Failure(service_name_error(name) + (named ? "" : " (give one with --name)"));
  const std::string content = read_text_file(file);
  const std::string config = ctx.layout.config_prefix();
  const auto values = ctx.etcd.range(config, etcd::prefix_end(config));
  const std::string error =
      check_manifest(name, content, remote_config(ctx.layout, values.kvs, values.revision));
  if (!error.empty()) throw Failure(file + ": " + error + " (nothing was written)");
  const std::string key = ctx.layout.services_prefix() + name;
  const int64_t revision = ctx.etcd.put(key, content);
  return finish_write(
      ctx, parsed, revision, [&](JsonWriter& w) { string_field(w, "key", key); }, "stored " + key,
      [&](const ClusterView& view) {
        bool ok = true;
        for (const auto& node : view.nodes)
          for (const auto& service : node.ack.quarantined)
            if (service.file == "etcd:" + name) {
              ctx.err << "aitools-ctl: " << node.ack.node << " quarantined " << service.file
                      << ": " << service.error << '\n';
              ok = false;
            }
        return ok;
      });
}

int delete_service(Context& ctx) {
  const auto parsed = command_args(ctx.invocation, {"--timeout"}, {"--wait"}, true);
  if (parsed.paths.size() != 1) throw UsageError("delete-service needs one NAME");
  std::string name = parsed.paths.front();
  if (name.size() < 5 || name.compare(name.size() - 5, 5, ".json") != 0) name += ".json";
  if (!valid_service_name(name)) throw Failure(service_name_error(name));
  const std::string key = ctx.layout.services_prefix() + name;
  const auto removed = ctx.etcd.remove(key);
  if (removed.deleted == 0) throw Failure("there is no " + key + " (nothing was deleted)");
  return finish_write(
      ctx, parsed, removed.revision, [&](JsonWriter& w) { string_field(w, "key", key); },
      "deleted " + key);
}

void keys_field(JsonWriter& w, const std::vector<std::string>& keys) {
  w.Key("keys");
  w.StartArray();
  for (const auto& key : keys) w.String(key.c_str());
  w.EndArray();
}

// The KEY... of set-config and unset-config: each once.
void refuse_repeats(const std::vector<std::string>& keys) {
  std::set<std::string> seen;
  for (const auto& key : keys)
    if (!seen.insert(key).second) throw UsageError(key + " is given twice");
}

int set_config(Context& ctx) {
  const auto parsed = command_args(ctx.invocation, {"--timeout"}, {"--wait", "--force"}, true);
  if (parsed.paths.empty()) throw UsageError("set-config needs KEY=VALUE...");
  std::vector<Assignment> assignments;
  std::vector<std::string> keys, invalid, restart;
  for (const auto& text : parsed.paths) {
    const auto assignment = parse_assignment(text);
    if (!assignment)
      throw UsageError("\"" + text + "\": expected KEY=VALUE with KEY like [A-Za-z_][A-Za-z0-9_.]*");
    assignments.push_back(*assignment);
    keys.push_back(assignment->key);
    if (const auto error = check_config_value(ctx.layout, *assignment); !error.empty())
      invalid.push_back(error);
    if (restart_only(assignment->key)) restart.push_back(assignment->key);
  }
  refuse_repeats(keys);
  if (!invalid.empty()) {
    for (size_t i = 0; i + 1 < invalid.size(); ++i) ctx.err << "aitools-ctl: " << invalid[i] << '\n';
    throw Failure(invalid.back() + " (nothing was written)");
  }
  const std::string restart_text =
      joined(restart) + (restart.size() == 1 ? " takes" : " take") +
      " effect only when each node restarts (until then the nodes keep their running value";
  if (!restart.empty() && !parsed.switches.count("--force"))
    throw Failure(restart_text + "); --force writes it anyway (nothing was written)");
  if (!restart.empty()) ctx.err << "aitools-ctl: warning: " << restart_text << ")\n";
  std::vector<TxnOperation> operations;
  for (const auto& assignment : assignments)
    operations.push_back({ctx.layout.config_prefix() + assignment.key, assignment.value});
  const auto committed = ctx.etcd.commit(operations);
  return finish_write(
      ctx, parsed, committed.revision, [&](JsonWriter& w) { keys_field(w, keys); },
      "set " + joined(keys), [&](const ClusterView& view) {
        bool ok = true;
        for (const auto& node : view.nodes)
          if (!node.ack.config_error.empty()) {
            ctx.err << "aitools-ctl: " << node.ack.node
                    << " reports a config error: " << node.ack.config_error << '\n';
            ok = false;
          }
        return ok;
      });
}

int unset_config(Context& ctx) {
  const auto parsed = command_args(ctx.invocation, {"--timeout"}, {"--wait"}, true);
  if (parsed.paths.empty()) throw UsageError("unset-config needs KEY...");
  for (const auto& key : parsed.paths)
    if (!valid_config_key(key))
      throw UsageError("\"" + key + "\": expected a KEY like [A-Za-z_][A-Za-z0-9_.]*");
  refuse_repeats(parsed.paths);
  std::vector<TxnOperation> operations;
  for (const auto& key : parsed.paths) operations.push_back({ctx.layout.config_prefix() + key, {}});
  const auto committed = ctx.etcd.commit(operations);
  std::vector<std::string> removed, missing;
  for (size_t i = 0; i < parsed.paths.size(); ++i)
    (i < committed.deleted.size() && committed.deleted[i] > 0 ? removed : missing)
        .push_back(parsed.paths[i]);
  for (const auto& key : missing)
    ctx.err << "aitools-ctl: " << key << " is not set under " << ctx.layout.config_prefix()
            << '\n';
  const int code = finish_write(
      ctx, parsed, committed.revision, [&](JsonWriter& w) { keys_field(w, removed); },
      removed.empty() ? "nothing unset" : "unset " + joined(removed));
  return missing.empty() ? code : kFailed;
}

}  // namespace

int run_etcd_command(const Invocation& invocation, EtcdClient& etcd, std::ostream& out,
                     std::ostream& err) {
  static const std::map<std::string, int (*)(Context&)> commands = {
      {"cluster", cluster},           {"put-service", put_service},
      {"delete-service", delete_service}, {"set-config", set_config},
      {"unset-config", unset_config}};
  return run_guarded(err, [&] {
    const auto command = commands.find(invocation.command);
    if (command == commands.end())
      throw UsageError("unknown command \"" + invocation.command + "\"");
    Context ctx{invocation, etcd, etcd_layout(invocation.etcd_prefix), out, err};
    return command->second(ctx);
  });
}

int run_etcd_command(const Invocation& invocation, std::ostream& out, std::ostream& err) {
  std::optional<EtcdClient> etcd;
  const int code = run_guarded(err, [&] {
    etcd.emplace(etcd_endpoints(invocation.etcd, invocation.timeout));
    return kOk;
  });
  return etcd ? run_etcd_command(invocation, *etcd, out, err) : code;
}

}  // namespace aitools::ctl
