#pragma once
// The registry's reload logic, free of CAF so it can be tested directly: given the config to
// apply and the manifest files read from disk, decide per file what serves (new version,
// last good version, or nothing), resolve conflicts, build the route table and number the
// generation. The registry actor owns one ServiceSet and calls apply() once per pass.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/served_state.hpp"
#include "config/manifest.hpp"
#include "config/settings.hpp"
#include "services/catalog.hpp"

namespace aitools {

// One file of the services directory as read for a pass.
struct ManifestFile {
  std::string name;                    // file name, e.g. "greeter.json"
  std::optional<std::string> content;  // nullopt when it could not be read
  std::string read_error;
};

// One manifest file, named by its file name; `read_error` set (and no content) when it is not
// a regular file, is larger than 64 MiB, or cannot be read.
ManifestFile read_manifest_file(const std::string& path);

// Regular, non-ignored *.json files directly in `dir`, sorted by name. Returns false (and
// sets `error`) when the directory itself cannot be listed.
bool read_services_dir(const std::string& dir, std::vector<ManifestFile>& files,
                       std::string& error);

// Adds the config source's manifests (ConfigLoad::remote, from etcd) to the files read from
// the services directory, as "etcd:<name>", each replacing a file of the same <name>.
void add_remote_manifests(std::vector<ManifestFile>& files, const ConfigLoad& load);

// Whether two configs apply the same values (the same file read twice compares equal).
bool same_config(const config::ConfigSnapshotPtr& a, const config::ConfigSnapshotPtr& b);

// What to validate: manifest files given by content, and/or paths the registry reads (a
// directory contributes its manifest files). `replace`: they are the whole services directory.
struct ValidationRequest {
  std::vector<ManifestFile> files;
  std::vector<std::string> paths;
  bool replace = false;
};
using ValidationRequestPtr = std::shared_ptr<const ValidationRequest>;

// What POST /admin/validate answers: per-file results and the semantic diff of a dry-run pass
// against what is served.
struct RouteRef {
  std::string method, path, service, kind;
};
struct ValidationResult {
  struct File {
    std::string file;
    std::string service;  // "" when the file does not parse
    size_t routes = 0;
    std::string error;    // "" when valid
  };
  struct Overlap {
    RouteRef route, with;  // `route` (added or changed) and a route of another service
  };
  uint64_t generation = 0;  // the served generation the diff is against
  bool valid = true;        // every submitted file compiles and serves
  std::vector<File> files;
  std::vector<RouteRef> added, removed, changed;
  std::vector<FileError> conflicts;  // every file that would not serve (submitted or not)
  std::vector<Overlap> overlaps;     // different patterns that match some same path
  bool overlaps_truncated = false;
};
using ValidationResultPtr = std::shared_ptr<const ValidationResult>;

class ServiceSet {
 public:
  ServiceSet(const services::Catalog& catalog, std::string services_dir);
  ~ServiceSet();

  struct Outcome {
    ServedStatePtr state;  // the state after the pass
    bool published_change = false;  // generation, service states or config error changed
  };
  // One reload pass. `started` is when the pass began (for the reported duration), `read`
  // how long reading the files took. The new state carries `rollback` (nullopt ends one).
  // If it throws (out of memory), nothing served changes and the exception propagates.
  Outcome apply(const ConfigLoad& config, const std::vector<ManifestFile>& files,
                Trigger trigger, std::chrono::steady_clock::time_point started,
                std::chrono::microseconds read = {},
                std::optional<RollbackInfo> rollback = std::nullopt);

  // The catalog's kind `kind` was added, replaced or removed. The next pass recompiles the
  // files that use it or that failed, and a version bound to the kind's old actor no longer
  // serves, not even as a last good version.
  void kind_changed(const std::string& kind);

  // A pass over `files` that applies nothing: `replace` means they are the whole services
  // directory; otherwise they replace or join the files as last read.
  ValidationResultPtr validate(const std::vector<ManifestFile>& files, bool replace) const;

  const ServedStatePtr& state() const { return state_; }
  const std::string& services_dir() const { return services_dir_; }

 private:
  struct Version;
  struct Record;
  using VersionPtr = std::shared_ptr<const Version>;

  Outcome apply_files(const ConfigLoad& config, const std::vector<ManifestFile>& files,
                      Trigger trigger, std::chrono::steady_clock::time_point started,
                      const std::map<std::string, VersionPtr>& previous, ReloadPhases& phases,
                      std::optional<RollbackInfo> rollback);
  void refresh_candidate(Record& record, const ManifestFile& file,
                         const config::ConfigSnapshot& config, bool config_changed,
                         ReloadPhases& phases);
  bool uses_changed_kind(const VersionPtr& version) const;
  VersionPtr fallback(const Record& record) const;  // what serves when the candidate cannot
  void resolve_conflicts();
  http::RouteTablePtr build_table() const;
  std::vector<ServiceStatus> statuses() const;

  const services::Catalog& catalog_;
  std::string services_dir_;
  std::map<std::string, Record> records_;  // by file name
  std::set<std::string> changed_kinds_;     // since the last pass
  ServedStatePtr state_;
};

}  // namespace aitools
