#pragma once
// etcd v3 through its HTTP/JSON gateway (POST /v3/...; keys and values base64, int64 as
// strings): request bodies, answer parsers, the watch stream's framing, the cluster's key
// layout and a node's acknowledgement. No I/O here: actors/etcd_source.cpp and aitools-ctl
// send what this builds. docs/cluster.md documents the layout and the ack.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/remote.hpp"

namespace aitools::etcd {

// The keys of one cluster under ETCD_PREFIX (e.g. "/aitools/prod"):
//   <prefix>/config/<KEY>           one config value each
//   <prefix>/services/<name>.json   one manifest each
//   <prefix>/acks/<node>            each live node's acknowledgement (leased)
// Nodes read and watch [watch_begin, watch_end): config/ and services/, not acks/.
struct Layout {
  std::string prefix;  // no trailing slash
  std::string config_prefix() const { return prefix + "/config/"; }
  std::string services_prefix() const { return prefix + "/services/"; }
  std::string acks_prefix() const { return prefix + "/acks/"; }
  std::string watch_begin() const { return config_prefix(); }
  std::string watch_end() const { return prefix + "/services0"; }  // '0' follows '/'
};

// The range_end that makes [prefix, range_end) every key starting with `prefix`.
std::string prefix_end(std::string_view prefix);

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

struct Event {
  enum class Type { put, remove } type = Type::put;
  KeyValue kv;  // for `remove` only the key and mod_revision are meaningful
};

// ---- request bodies (JSON) for POST <endpoint>/v3/... ----
// kv/range; revision 0 reads the newest; keys_only leaves values out.
std::string range_request(std::string_view key, std::string_view range_end, int64_t revision = 0,
                          bool keys_only = false);
std::string put_request(std::string_view key, std::string_view value, int64_t lease = 0);
// kv/deleterange of one key, or of [key, range_end) when range_end is not empty.
std::string delete_request(std::string_view key, std::string_view range_end = {});
// watch: [key, range_end) from start_revision (0: from now), with previous values off.
std::string watch_request(std::string_view key, std::string_view range_end, int64_t start_revision);
std::string lease_grant_request(int64_t ttl_seconds);
std::string lease_keepalive_request(int64_t id);
std::string lease_revoke_request(int64_t id);

// ---- answers ----
// Every parser returns false with `error` for a body that is not the expected JSON or is an
// error answer ({"error": "...", "code": N, "message": "..."}): the message etcd gave.
struct RangeResponse {
  int64_t revision = 0;  // the store revision the answer reflects (header.revision)
  std::vector<KeyValue> kvs;
};
bool parse_range(std::string_view body, RangeResponse& out, std::string& error);
// kv/put and kv/deleterange: header.revision (and, for deleterange, how many were deleted).
bool parse_write(std::string_view body, int64_t& revision, int64_t& deleted, std::string& error);
bool parse_lease_grant(std::string_view body, int64_t& id, int64_t& ttl, std::string& error);
// ttl <= 0 means the lease no longer exists.
bool parse_lease_keepalive(std::string_view body, int64_t& ttl, std::string& error);

struct WatchResponse {
  int64_t revision = 0;  // header.revision
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // set with canceled when start_revision was compacted
  std::string cancel_reason;
  std::vector<Event> events;
};

// The gateway streams one JSON object per line ({"result": {...}} or {"error": {...}}).
// Feed chunks as they arrive; next() yields each complete message in order.
class WatchStream {
 public:
  void feed(std::string_view chunk);
  // true: `out` holds the next message. false: none complete yet (error empty), or a message
  // was malformed or an error answer (error set; the stream is unusable after that).
  bool next(WatchResponse& out, std::string& error);
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
  size_t start_ = 0;
};

// ---- what nodes read ----
// The remote set at `revision` from the keys under layout.watch range: config/<KEY> values
// (origin "etcd <key>"), services/<name>.json manifests (origin the key). A key that is not
// a valid config key name ([A-Za-z_][A-Za-z0-9_.]*) or manifest name ([A-Za-z0-9._-]+.json,
// no leading dot) becomes a RemoteManifest with `error` set, so it shows as quarantined.
config::RemoteSnapshot snapshot_from(const Layout& layout,
                                     const std::map<std::string, KeyValue>& kvs, int64_t revision);

// ---- acknowledgements ----
struct Ack {
  struct Quarantined {
    std::string name;  // service name (or file name when it does not parse)
    std::string file;  // "greeter.json" or "etcd:greeter.json"
    std::string error;
  };
  std::string node;
  std::string address;     // host:port of the node's HTTP listener
  uint64_t generation = 0;
  int64_t revision = 0;    // the etcd revision the served state reflects
  std::string time;        // RFC 3339 UTC, when written
  std::vector<Quarantined> quarantined;
  std::string config_error;  // "" when the config applied
};
std::string ack_json(const Ack& ack);
bool parse_ack(std::string_view json, Ack& out, std::string& error);

}  // namespace aitools::etcd
