#pragma once
// Typed, validated settings and the immutable config snapshot built from an env file.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/remote.hpp"

namespace aitools::config {

enum class LogLevel { debug, info, warn, error };
const char* to_string(LogLevel level);

// Where config beyond the env file comes from (docs/cluster.md).
enum class ConfigSource { file, polaris, etcd };
const char* to_string(ConfigSource source);

// Every known key, typed. Defaults are the documented ones (docs/configuration.md).
struct Settings {
  std::string service_host = "0.0.0.0";
  uint16_t service_port = 18668;
  unsigned http_threads = 0;  // 0 in a default-constructed value; the loader sets it to the core count
  std::string admin_host = "127.0.0.1";
  uint16_t admin_port = 18669;  // 0 disables the admin listener
  std::string admin_token;
  std::string caf_admin_host = "127.0.0.1";
  uint16_t caf_admin_port = 0;  // the admin actor published over CAF; 0: not published
  bool hot_reload_enable = true;
  std::chrono::milliseconds reload_debounce{50};
  std::chrono::seconds rescan_interval{30};  // 0 disables the periodic rescan
  uint64_t max_request_bytes = 1048576;
  // Pistache's per-connection timeouts (docs/configuration.md says exactly what each covers).
  std::chrono::milliseconds header_timeout{60000};
  std::chrono::milliseconds body_timeout{60000};
  std::chrono::milliseconds keepalive_timeout{75000};
  std::chrono::milliseconds shutdown_grace{10000};
  size_t history_size = 20;  // applied states kept for /admin/history and rollback
  LogLevel log_level = LogLevel::info;
  std::string services_dir;  // absolute or relative to the env file's directory; "" = <env dir>/services
  // GET /openapi.json and /docs on the main listener (docs/openapi.md).
  bool docs_enable = true;
  std::string openapi_title = "aitools";
  std::string docs_ui_dir;  // swagger-ui-dist's files; like services_dir; "" = see resolve_docs_ui_dirs
  // A config source beyond the env file (docs/cluster.md). Restart-only but for the interval.
  ConfigSource config_source = ConfigSource::file;
  std::chrono::seconds config_watch_interval{60};        // Polaris poll period
  std::chrono::milliseconds config_source_timeout{5000};  // one request to the source
  std::string polaris_url;  // http(s)://host[:port][/base]
  std::string polaris_username;
  std::string polaris_password;
  std::string project_name = "hy-spark-agent-builder";  // Polaris download filter ...
  std::string polaris_cluster;
  std::string service_sub = "aitools";
  std::string version = "1.0.0";
  std::string config_file;  // ... and its configName; "" = the env file's name
  std::string etcd_endpoints = "http://127.0.0.1:2379";  // comma-separated http:// URLs
  std::string etcd_prefix = "/aitools/default";          // the cluster's keys
  std::string node_id;  // this node in the acks; "" = <hostname>:<SERVICE_PORT in use>
  std::chrono::seconds ack_ttl{10};  // lease of the node's ack: a dead node disappears after it

  bool operator==(const Settings& other) const;
  bool operator!=(const Settings& other) const { return !(*this == other); }
};

// The keys above, in documentation order.
const std::vector<std::string>& known_keys();
// Keys whose change needs a restart (listener addresses, thread count, timeouts, services dir,
// the config source's own settings).
const std::vector<std::string>& restart_keys();

// Where a lookup of the process environment goes; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& key)>;
EnvLookup process_environment();

// One immutable configuration. Shared between actors as shared_ptr<const ConfigSnapshot>.
struct ConfigSnapshot {
  std::string path;                           // the env file it came from
  Settings settings;                          // validated known keys (flags > environment > file)
  std::map<std::string, std::string> values;  // every key of the file, environment applied on top
  std::map<std::string, std::string> overrides;  // command-line flags (KEY -> value)
  EnvLookup environment;                      // for ${KEY} lookups of keys not in the file

  // ${KEY} lookup: a flag override, then the process environment, then the file.
  std::optional<std::string> lookup(const std::string& key) const;
  // Every value that is in force (known keys rendered from `settings`, plus user keys),
  // with secrets redacted when `redact` is set (keys containing SECRET, KEY, TOKEN, PASSWORD).
  std::map<std::string, std::string> effective_values(bool redact) const;
};
using ConfigSnapshotPtr = std::shared_ptr<const ConfigSnapshot>;

bool is_secret_key(const std::string& key);

// Decimal digits only (no sign, spaces, fraction or trailing junk) in [min, max]; nullopt
// otherwise. `max` must be below 2^64 / 10.
std::optional<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max);

struct ConfigLoadResult {
  ConfigSnapshotPtr snapshot;       // null when there are errors
  std::vector<std::string> errors;  // "FILE:LINE: KEY=VALUE: expected ..." (actionable)
  bool ok() const { return snapshot != nullptr; }
};

// Parses `text` (the content of `path`) and validates every known key.
// Precedence for a known key: overrides (flags) > environment > file > default.
// A flag replaces the key entirely, so an invalid file value of that key is not an error.
// `remote` (a config source's values, config/remote.hpp) sits between the environment and
// the file: overrides > environment > remote > file > default.
ConfigLoadResult build_config(const std::string& text, const std::string& path,
                              const std::map<std::string, std::string>& overrides,
                              const EnvLookup& environment, const RemoteValues& remote = {});

// Reads `path` and calls build_config; an unreadable file is an error naming the path.
ConfigLoadResult load_config(const std::string& path,
                             const std::map<std::string, std::string>& overrides,
                             const EnvLookup& environment, const RemoteValues& remote = {});

// ETCD_ENDPOINTS split into its URLs ("http://host:port", no trailing slash).
std::vector<std::string> etcd_endpoints(const Settings& settings);
// This node's name in the acks: NODE_ID, or <hostname>:<port>.
std::string node_name(const Settings& settings, uint16_t port);
// Where its HTTP listener is reached: SERVICE_HOST (the host name for 0.0.0.0) and `port`.
std::string node_address(const Settings& settings, uint16_t port);

// Restart-only keys whose value differs between the running and the candidate settings.
std::vector<std::string> restart_required(const Settings& running, const Settings& candidate);
// `candidate` with every restart-only key set back to the running value.
Settings pin_restart_keys(Settings candidate, const Settings& running);

// The services directory the settings point at, resolved against the env file's directory.
std::string resolve_services_dir(const ConfigSnapshot& config);

// Where to look for Swagger UI's files, in order: DOCS_UI_DIR resolved like SERVICES_DIR, or
// when it is empty <env dir>/swagger-ui (the installed layout: share/aitools/) and then
// <env dir>/../web/node_modules/swagger-ui-dist (the source tree's etc/, after install-deps.sh).
std::vector<std::string> resolve_docs_ui_dirs(const ConfigSnapshot& config);

}  // namespace aitools::config
