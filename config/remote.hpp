#pragma once
// What a config source beyond the env file (a Polaris config centre, an etcd cluster) yields,
// and how it is doing. Immutable once built; shared between actors as shared_ptr<const T>.
// Precedence when merged (config/settings.hpp build_config): command-line flags > process
// environment > remote source > env file > defaults.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aitools::config {

// A remote value and where it came from, for error messages: "etcd /aitools/x/config/KEY",
// "polaris aitools.env:3".
struct RemoteValue {
  std::string text;
  std::string origin;
  bool operator==(const RemoteValue& o) const { return text == o.text && origin == o.origin; }
};
using RemoteValues = std::map<std::string, RemoteValue>;

// A service manifest held by the source (etcd's <prefix>/services/<name>.json). It joins the
// services directory's files for the reload pass as "etcd:<name>" and replaces a file of the
// same <name> on disk. No content and `error` set when the key is not a valid manifest name.
struct RemoteManifest {
  std::string name;  // "greeter.json"
  std::optional<std::string> content;
  std::string error;
  std::string origin;  // the etcd key
  bool operator==(const RemoteManifest& o) const {
    return name == o.name && content == o.content && error == o.error && origin == o.origin;
  }
};

// One full key/value set from the source. `manifests` are sorted by name.
struct RemoteSnapshot {
  RemoteValues values;
  std::vector<RemoteManifest> manifests;
  std::string version;    // what the source calls this state (Polaris: a content digest)
  int64_t revision = 0;   // etcd: the store revision this set reflects; 0 otherwise
  // Same content; `version` and `revision` are not compared (a no-op write is no change).
  bool same_content(const RemoteSnapshot& o) const {
    return values == o.values && manifests == o.manifests;
  }
};
using RemoteSnapshotPtr = std::shared_ptr<const RemoteSnapshot>;

// How the source is doing, shown in /admin/status (config_source) and the acks.
struct SourceStatus {
  std::string source;    // "polaris" or "etcd"
  std::string endpoint;  // the URL in use
  bool connected = false;  // the last exchange with the source succeeded
  bool loaded = false;     // a snapshot from the source is applied (else the env file alone)
  std::string error;       // the last failure, "" when connected
  std::string version;     // of the applied snapshot
  int64_t revision = 0;    // of the applied snapshot (etcd)
  // When any field above last changed. Not bumped by a poll that finds nothing new, so an
  // unchanged source causes no reload pass.
  std::chrono::system_clock::time_point since{};
  bool operator==(const SourceStatus& o) const {
    return source == o.source && endpoint == o.endpoint && connected == o.connected &&
           loaded == o.loaded && error == o.error && version == o.version &&
           revision == o.revision && since == o.since;
  }
  bool operator!=(const SourceStatus& o) const { return !(*this == o); }
  // Becomes `next`, with `since` moved to now only when another field differs. Returns whether
  // anything changed (the source then tells the config actor).
  bool update(SourceStatus next) {
    next.since = since;
    if (next == *this) return false;
    next.since = std::chrono::system_clock::now();
    *this = std::move(next);
    return true;
  }
};
using SourceStatusPtr = std::shared_ptr<const SourceStatus>;

}  // namespace aitools::config
