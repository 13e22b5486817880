#pragma once
// The immutable values the registry publishes: what one generation serves, and the report
// of one reload pass. Actors pass them as shared_ptr<const ...>; nobody mutates them.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/remote.hpp"
#include "config/settings.hpp"
#include "http/api_docs.hpp"
#include "http/route_table.hpp"

namespace aitools {

// What asked for a reload pass.
enum class Trigger : uint8_t { startup, file, signal, admin, message, rescan, rollback, remote };
const char* to_string(Trigger trigger);

// What a file event touched: the registry re-reads the env file only when it changed (or on
// an explicit reload or a rescan), so a pass started by a manifest edit never reads an env
// file that is being rewritten in place - a half-written env file is usually still valid.
enum class ChangedFile : uint8_t { manifest, env_file };

struct ServiceStatus {
  enum class State : uint8_t { active, quarantined, disabled };
  std::string name;  // key in /admin/status; a name-conflict loser is keyed by its file name
  std::string file;
  State state = State::active;
  size_t routes = 0;  // routes served for it now (its last good version while quarantined)
  std::string error;  // why it is quarantined
  bool operator==(const ServiceStatus& o) const {
    return name == o.name && file == o.file && state == o.state && routes == o.routes &&
           error == o.error;
  }
};
const char* to_string(ServiceStatus::State state);

struct FileError {
  std::string file;
  std::string error;
};

// Where a pass spent its time: reading and parsing files, compiling and resolving
// conflicts, building the route table, and handing the new state to its subscribers.
struct ReloadPhases {
  std::chrono::microseconds parse{0}, validate{0}, build{0}, swap{0};
};

struct ReloadReport {
  uint64_t generation = 0;  // generation in force after the pass
  bool changed = false;     // whether the pass produced a new generation
  bool failed = false;      // the pass could not run (unreadable directory, out of memory)
  Trigger trigger = Trigger::startup;
  std::chrono::system_clock::time_point at;
  std::chrono::microseconds duration{0};
  ReloadPhases phases;
  std::optional<uint64_t> rollback_of;               // the generation a rollback re-applied
  std::vector<std::string> added, removed, updated;  // service names
  std::vector<FileError> errors;                     // every file currently in error
  std::vector<std::string> restart_required;         // config keys changed but not applied
  std::optional<std::string> config_error;           // the env file's error, if any
};
using ReloadReportPtr = std::shared_ptr<const ReloadReport>;

// A rollback in force: the state of generation `to` was re-applied, and whether the files
// and env file on disk (which the next change or reload applies again) differed from it.
struct RollbackInfo {
  uint64_t to = 0;
  bool disk_differs = false;
  bool operator==(const RollbackInfo& o) const { return to == o.to && disk_differs == o.disk_differs; }
  bool operator!=(const RollbackInfo& o) const { return !(*this == o); }
};

struct ServedState {
  uint64_t generation = 0;
  http::RouteTablePtr routes;
  // GET /openapi.json's document of `routes`, and /docs's files; null while DOCS_ENABLE is false.
  http::OpenApiDocumentPtr openapi;
  http::DocsAssetsPtr docs;
  config::ConfigSnapshotPtr config;  // the config in force
  std::string services_dir;
  std::vector<ServiceStatus> services;  // sorted by name
  std::optional<std::string> config_error;
  std::vector<std::string> restart_required;
  std::optional<RollbackInfo> rollback;  // until the next file change or reload
  // The config source (Polaris, etcd) behind `config`; null when CONFIG_SOURCE=file. A change
  // of its status publishes a new state of the same generation.
  config::SourceStatusPtr source;
  ReloadReport last_reload;
};
using ServedStatePtr = std::shared_ptr<const ServedState>;

// The config actor's answer to a load: the config to apply (the last good one when the file
// is invalid, with restart-only keys pinned to their running values) and what went wrong.
// `remote` and `source` are the config source's set and status the load merged (null when
// CONFIG_SOURCE=file); the remote manifests join the services directory's files.
struct ConfigLoad {
  config::ConfigSnapshotPtr config;
  std::optional<std::string> error;
  std::vector<std::string> restart_required;
  config::RemoteSnapshotPtr remote;
  config::SourceStatusPtr source;
};
using ConfigLoadPtr = std::shared_ptr<const ConfigLoad>;

// What a config source hands the config actor: a new set (null: unchanged) and its status.
struct RemoteUpdate {
  config::RemoteSnapshotPtr snapshot;
  config::SourceStatus status;
};
using RemoteUpdatePtr = std::shared_ptr<const RemoteUpdate>;

}  // namespace aitools
