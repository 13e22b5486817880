#pragma once
// What aitools-ctl checks before it writes to etcd, by the nodes' own rules, so that a bad
// manifest or value is refused here instead of being quarantined on every node.
#include <optional>
#include <string>
#include <vector>

#include "config/etcd.hpp"
#include "config/remote.hpp"

namespace aitools::ctl {

// A manifest's name under <prefix>/services/: [A-Za-z0-9._-]+.json, not starting with '.'.
bool valid_service_name(const std::string& name);
// A config key: [A-Za-z_][A-Za-z0-9_.]*.
bool valid_config_key(const std::string& key);

// "" when `content` parses and compiles as the nodes would serve it as `name` (parse_manifest,
// then compile_manifest with the server's catalog, as aitools-server --check does); else the
// first error, "<json path>: <what was expected>". ${KEY} lookups see `config`: the process
// environment, then the cluster's values in etcd (remote_config below).
std::string check_manifest(const std::string& name, const std::string& content,
                           const config::RemoteValues& config);

// The config values stored under layout.config_prefix() at the newest revision, as a node
// reads them (etcd::snapshot_from).
config::RemoteValues remote_config(const etcd::Layout& layout,
                                   const std::vector<etcd::KeyValue>& followed_kvs,
                                   int64_t revision);

struct Assignment {
  std::string key;
  std::string value;
};
// "KEY=VALUE"; nullopt when there is no '=' or KEY is not a valid key name.
std::optional<Assignment> parse_assignment(const std::string& text);
// "" when a node would accept `value` for `key` from etcd; else the node's own message,
// "etcd <key>: KEY=\"VALUE\": expected ...". Keys the server does not know take any value.
std::string check_config_value(const etcd::Layout& layout, const Assignment& assignment);
// Whether changing `key` takes a restart of each node (config::restart_keys).
bool restart_only(const std::string& key);

}  // namespace aitools::ctl
