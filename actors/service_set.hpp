#pragma once
// The registry's reload logic, free of CAF so it can be tested directly: given the config to
// apply and the manifest files read from disk, decide per file what serves (new version,
// last good version, or nothing), resolve conflicts, build the route table and number the
// generation. The registry actor owns one ServiceSet and calls apply() once per pass.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
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

// Regular, non-ignored *.json files directly in `dir`, sorted by name. Returns false (and
// sets `error`) when the directory itself cannot be listed.
bool read_services_dir(const std::string& dir, std::vector<ManifestFile>& files,
                       std::string& error);

class ServiceSet {
 public:
  ServiceSet(const services::Catalog& catalog, std::string services_dir);
  ~ServiceSet();

  struct Outcome {
    ServedStatePtr state;  // the state after the pass
    bool published_change = false;  // generation, service states or config error changed
  };
  // One reload pass. `started` is when the pass began (for the reported duration). If it
  // throws (out of memory), nothing served changes and the exception propagates.
  Outcome apply(const ConfigLoad& config, const std::vector<ManifestFile>& files,
                Trigger trigger, std::chrono::steady_clock::time_point started);

  const ServedStatePtr& state() const { return state_; }
  const std::string& services_dir() const { return services_dir_; }

 private:
  struct Version;
  struct Record;
  using VersionPtr = std::shared_ptr<const Version>;

  Outcome apply_files(const ConfigLoad& config, const std::vector<ManifestFile>& files,
                      Trigger trigger, std::chrono::steady_clock::time_point started,
                      const std::map<std::string, VersionPtr>& previous);
  void refresh_candidate(Record& record, const ManifestFile& file,
                         const config::ConfigSnapshot& config, bool config_changed);
  void resolve_conflicts();
  http::RouteTablePtr build_table() const;
  std::vector<ServiceStatus> statuses() const;

  const services::Catalog& catalog_;
  std::string services_dir_;
  std::map<std::string, Record> records_;  // by file name
  ServedStatePtr state_;
};

}  // namespace aitools
