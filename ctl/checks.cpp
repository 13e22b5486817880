#include "ctl/checks.hpp"

#include <algorithm>
#include <map>

#include "actors/server.hpp"
#include "config/manifest.hpp"
#include "config/settings.hpp"

namespace aitools::ctl {

namespace {

bool key_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool digit(char c) { return c >= '0' && c <= '9'; }

config::EnvLookup no_environment() {
  return [](const std::string&) { return std::nullopt; };
}

}  // namespace

bool valid_service_name(const std::string& name) {
  const std::string suffix = ".json";
  if (name.size() <= suffix.size() || name.front() == '.' ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return key_start(c) || digit(c) || c == '.' || c == '-';
  });
}

bool valid_config_key(const std::string& key) {
  return !key.empty() && key_start(key.front()) &&
         std::all_of(key.begin(), key.end(),
                     [](char c) { return key_start(c) || digit(c) || c == '.'; });
}

std::string check_manifest(const std::string& name, const std::string& content,
                           const config::RemoteValues& config) {
  const std::string default_name = name.substr(0, name.size() - 5);  // without ".json"
  config::Manifest manifest;
  std::string error;
  if (!config::parse_manifest(content, default_name, manifest, error)) return error;
  const auto loaded =
      config::build_config("", "aitools-ctl", {}, config::process_environment(), config);
  if (!loaded.ok())
    return "cannot render ${KEY} values: the config is invalid: " + loaded.errors.front();
  static const services::Catalog catalog = server_catalog({});
  config::CompiledService compiled;
  if (!config::compile_manifest(manifest, *loaded.snapshot, catalog, compiled, error))
    return error;
  return "";
}

config::RemoteValues remote_config(const etcd::Layout& layout,
                                   const std::vector<etcd::KeyValue>& followed_kvs,
                                   int64_t revision) {
  std::map<std::string, etcd::KeyValue> kvs;
  for (const auto& kv : followed_kvs) kvs[kv.key] = kv;
  return etcd::snapshot_from(layout, kvs, revision).values;
}

std::optional<Assignment> parse_assignment(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || !valid_config_key(text.substr(0, eq))) return std::nullopt;
  return Assignment{text.substr(0, eq), text.substr(eq + 1)};
}

std::string check_config_value(const etcd::Layout& layout, const Assignment& assignment) {
  const auto& known = config::known_keys();
  if (std::find(known.begin(), known.end(), assignment.key) == known.end()) return "";
  const config::RemoteValues remote = {
      {assignment.key,
       {assignment.value, "etcd " + layout.config_prefix() + assignment.key}}};
  const auto loaded = config::build_config("", "aitools-ctl", {}, no_environment(), remote);
  return loaded.ok() ? "" : loaded.errors.front();
}

bool restart_only(const std::string& key) {
  const auto& keys = config::restart_keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace aitools::ctl
