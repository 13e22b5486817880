#include "actors/service_set.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace aitools {

namespace fs = std::filesystem;

// How the config source's manifests are named among the services directory's files; only
// etcd holds manifests (docs/cluster.md).
constexpr std::string_view kRemotePrefix = "etcd:";

const char* to_string(Trigger trigger) {
  switch (trigger) {
    case Trigger::startup: return "startup";
    case Trigger::file: return "file";
    case Trigger::signal: return "signal";
    case Trigger::admin: return "admin";
    case Trigger::message: return "message";
    case Trigger::rescan: return "rescan";
    case Trigger::rollback: return "rollback";
    case Trigger::remote: return "remote";
  }
  return "unknown";
}

const char* to_string(ServiceStatus::State state) {
  switch (state) {
    case ServiceStatus::State::active: return "active";
    case ServiceStatus::State::quarantined: return "quarantined";
    case ServiceStatus::State::disabled: return "disabled";
  }
  return "unknown";
}

ManifestFile read_manifest_file(const std::string& path) {
  // Bounds the memory one file can take during a pass.
  constexpr uintmax_t kMaxManifestBytes = uintmax_t{64} << 20;
  ManifestFile file{fs::path(path).filename().string(), std::nullopt, {}};
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    file.read_error = ec ? "cannot read file: " + ec.message() : "not a regular file";
    return file;
  }
  if (fs::file_size(path, ec) > kMaxManifestBytes) {
    file.read_error = "file is larger than " + std::to_string(kMaxManifestBytes >> 20) +
                      " MiB; expected a smaller manifest (split it into several files)";
    return file;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (in && (content << in.rdbuf(), !in.bad())) {
    file.content = content.str();
  } else {
    file.read_error = "cannot read file";
  }
  return file;
}

bool read_services_dir(const std::string& dir, std::vector<ManifestFile>& files,
                       std::string& error) {
  files.clear();
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    error = dir + ": cannot read services directory: " + ec.message();
    return false;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      error = dir + ": cannot read services directory: " + ec.message();
      return false;
    }
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (config::is_ignored_manifest_name(name) || !it->is_regular_file(type_ec)) continue;
    files.push_back(read_manifest_file(it->path().string()));
  }
  std::sort(files.begin(), files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.name < b.name; });
  return true;
}

void add_remote_manifests(std::vector<ManifestFile>& files, const ConfigLoad& load) {
  if (!load.remote || load.remote->manifests.empty()) return;
  const std::string prefix(kRemotePrefix);
  for (const auto& manifest : load.remote->manifests) {
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const ManifestFile& f) { return f.name == manifest.name; }),
                files.end());
    files.push_back({prefix + manifest.name, manifest.content,
                     manifest.content ? std::string() : manifest.origin + ": " + manifest.error});
  }
  std::sort(files.begin(), files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.name < b.name; });
}

namespace {

bool same_source(const config::SourceStatusPtr& a, const config::SourceStatusPtr& b) {
  return a == b || (a && b && *a == *b);
}

}  // namespace

// One compiled version of a manifest file. Shared between generations while unchanged, so
// pointer identity is version identity.
struct ServiceSet::Version {
  std::string file;
  config::CompiledService service;
  std::string fingerprint;  // canonical manifest + rendered variables

  // What this version occupies exclusively: its name and each (method, path shape).
  // Computed once per version: resolving conflicts looks them up on every pass.
  struct Claim {
    std::string key;        // "name greeter", "GET /v1/{}"
    int route = -1;         // index into service.routes; -1 for the name
    http::Method method{};  // the route's method claimed
  };
  std::vector<Claim> claims;

  void compute_claims() {
    claims.clear();
    claims.push_back({"name " + service.name});
    for (size_t i = 0; i < service.routes.size(); ++i) {
      const auto& route = service.routes[i];
      const std::string& shape = route.pattern.shape();
      for (int m = 0; m < http::kMethodCount; ++m) {
        const auto method = static_cast<http::Method>(m);
        if (route.methods.has(method))
          claims.push_back({std::string(http::to_string(method)) + " " + shape, int(i), method});
      }
    }
  }

  // For conflict messages.
  std::string describe(const Claim& claim) const {
    if (claim.route < 0) return "service name \"" + service.name + "\"";
    return "route " + std::string(http::to_string(claim.method)) + " " +
           service.routes[size_t(claim.route)].pattern.text();
  }
};

struct ServiceSet::Record {
  std::optional<std::string> content;  // as last read
  VersionPtr candidate;                // compiled from content + config; null on error
  std::string error;                   // why there is no candidate
  std::string conflict;                // why the candidate does not serve
  VersionPtr live;                     // what serves now
};

namespace {

// The default service name: the file name without ".json" (and without kRemotePrefix).
std::string stem(const std::string& file) {
  const bool remote = file.compare(0, kRemotePrefix.size(), kRemotePrefix) == 0;
  return fs::path(remote ? file.substr(kRemotePrefix.size()) : file).stem().string();
}

std::string canonical_json(const rapidjson::Document& document) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  return buffer.GetString();
}

std::chrono::microseconds micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

bool vars_unchanged(const config::CompiledService& service, const config::ConfigSnapshot& config) {
  for (const auto& [key, value] : service.used_vars)
    if (config.lookup(key) != value) return false;
  return true;
}

}  // namespace

bool same_config(const config::ConfigSnapshotPtr& a, const config::ConfigSnapshotPtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  return a->settings == b->settings && a->values == b->values && a->overrides == b->overrides;
}

ServiceSet::ServiceSet(const services::Catalog& catalog, std::string services_dir)
    : catalog_(catalog), services_dir_(std::move(services_dir)) {}

ServiceSet::~ServiceSet() = default;

void ServiceSet::refresh_candidate(Record& record, const ManifestFile& file,
                                   const config::ConfigSnapshot& config, bool config_changed,
                                   ReloadPhases& phases) {
  if (!file.content) {
    record.content.reset();  // so the next successful read is compiled whatever it holds
    record.candidate = nullptr;
    record.error = file.read_error;
    return;
  }
  const bool content_changed = record.content != file.content;
  if (!content_changed) {
    if (!config_changed) return;
    // Only a config change: redo the file if a variable it used changed, or if it failed
    // before (a missing variable may now be set).
    if (record.candidate && vars_unchanged(record.candidate->service, config)) return;
  }
  record.content = file.content;
  record.candidate = nullptr;

  config::Manifest manifest;
  config::CompiledService compiled;
  const auto parse_start = std::chrono::steady_clock::now();
  const bool parsed = config::parse_manifest(*file.content, stem(file.name), manifest, record.error);
  const auto compile_start = std::chrono::steady_clock::now();
  phases.parse += micros(compile_start - parse_start);
  const bool compiled_ok =
      parsed && config::compile_manifest(manifest, config, catalog_, compiled, record.error);
  phases.validate += micros(std::chrono::steady_clock::now() - compile_start);
  if (!compiled_ok) return;
  record.error.clear();

  std::string fingerprint = canonical_json(*manifest.document);
  for (const auto& [key, value] : compiled.used_vars) {
    fingerprint += '\0' + key + '=' + value.value_or("");
  }
  if (record.live && record.live->fingerprint == fingerprint && !uses_changed_kind(record.live)) {
    record.candidate = record.live;  // same content in another form: keep its identity
    return;
  }
  auto version = std::make_shared<Version>();
  version->file = file.name;
  version->service = std::move(compiled);
  version->fingerprint = std::move(fingerprint);
  version->compute_claims();
  record.candidate = std::move(version);
}

// Decides what serves per file. Each version claims its name and its (method, shape) keys.
// A key already live stays with its owner as long as the owner's next version still claims
// it; other keys go to the lexicographically first file. A file whose candidate loses a key
// falls back to its last good version (which only claims keys it already owned), or to
// nothing. Repeats until stable: each round only removes claims, so it terminates.
void ServiceSet::resolve_conflicts() {
  // Keys view the claims of versions that `records_` and `desired` keep alive meanwhile.
  using Owners = std::unordered_map<std::string_view, const std::string*>;  // key -> file
  Owners live_owner;
  std::map<std::string, VersionPtr> desired;  // file -> version to serve
  size_t claims = 0;                          // sizes the maps: no rehash at 100k routes
  for (auto& [file, record] : records_) {
    if (record.live) claims += record.live->claims.size();
    if (record.candidate) claims += record.candidate->claims.size();
  }
  live_owner.reserve(claims);
  for (auto& [file, record] : records_) {
    if (record.live)
      for (const auto& claim : record.live->claims) live_owner.emplace(claim.key, &file);
    desired[file] = record.candidate ? record.candidate : fallback(record);
    record.conflict.clear();
  }
  for (size_t round = 0; round <= records_.size(); ++round) {
    Owners owner;
    owner.reserve(claims);
    for (const auto& [file, version] : desired) {
      if (!version) continue;
      for (const auto& claim : version->claims) {
        auto it = live_owner.find(claim.key);
        if (it != live_owner.end() && *it->second == file) owner.emplace(claim.key, &file);
      }
    }
    for (const auto& [file, version] : desired) {
      if (!version) continue;
      for (const auto& claim : version->claims) owner.emplace(claim.key, &file);
    }
    bool stable = true;
    for (auto& [file, version] : desired) {
      if (!version) continue;
      for (const auto& claim : version->claims) {
        const std::string& winner = *owner.at(claim.key);
        if (winner == file) continue;
        Record& record = records_.at(file);
        record.conflict = version->describe(claim) + " is already served by " + winner;
        version = version != record.live ? fallback(record) : nullptr;
        stable = false;
        break;
      }
    }
    if (stable) break;
  }
  for (auto& [file, record] : records_) record.live = desired[file];
}

http::RouteTablePtr ServiceSet::build_table() const {
  std::vector<http::RouteEntry> entries;
  size_t count = 0;
  for (const auto& [file, record] : records_)
    if (record.live) count += record.live->service.routes.size();
  entries.reserve(count);
  for (const auto& [file, record] : records_) {
    if (!record.live) continue;
    for (const auto& route : record.live->service.routes) {
      entries.push_back({record.live->service.name, route.kind, route.methods, route.pattern,
                         route.handler, route.doc});
    }
  }
  // Routes that stay keep their request counters (http/metrics.hpp).
  return http::RouteTable::build(std::move(entries), state_ ? state_->routes.get() : nullptr);
}

std::vector<ServiceStatus> ServiceSet::statuses() const {
  std::vector<ServiceStatus> out;
  std::set<std::string> taken;
  // Owners of a name first, so that a name-conflict loser is the one keyed by file name.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [file, record] : records_) {
      // A file owns the name it serves; a file that serves nothing only names its error.
      const bool owns_name = record.live || (record.error.empty() && record.conflict.empty());
      if ((pass == 0) != owns_name) continue;
      ServiceStatus status;
      status.file = file;
      status.name = record.live        ? record.live->service.name
                    : record.candidate ? record.candidate->service.name
                                       : stem(file);
      if (!taken.insert(status.name).second) {
        status.name = file;
        taken.insert(file);
      }
      status.error = !record.error.empty() ? record.error : record.conflict;
      if (!status.error.empty()) {
        status.state = ServiceStatus::State::quarantined;
      } else if (record.live && !record.live->service.enabled) {
        status.state = ServiceStatus::State::disabled;
      }
      status.routes = record.live ? record.live->service.routes.size() : 0;
      out.push_back(std::move(status));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ServiceStatus& a, const ServiceStatus& b) { return a.name < b.name; });
  return out;
}

bool ServiceSet::uses_changed_kind(const VersionPtr& version) const {
  if (!version || changed_kinds_.empty()) return false;
  for (const auto& route : version->service.routes)
    if (changed_kinds_.count(route.kind)) return true;
  return false;
}

ServiceSet::VersionPtr ServiceSet::fallback(const Record& record) const {
  return uses_changed_kind(record.live) ? nullptr : record.live;
}

void ServiceSet::kind_changed(const std::string& kind) { changed_kinds_.insert(kind); }

ServiceSet::Outcome ServiceSet::apply(const ConfigLoad& load, const std::vector<ManifestFile>& files,
                                      Trigger trigger, std::chrono::steady_clock::time_point started,
                                      std::chrono::microseconds read,
                                      std::optional<RollbackInfo> rollback) {
  std::map<std::string, VersionPtr> previous;  // file -> live version before the pass
  for (const auto& [file, record] : records_) previous[file] = record.live;
  ReloadPhases phases;
  phases.parse = read;
  try {
    return apply_files(load, files, trigger, started, previous, phases, std::move(rollback));
  } catch (...) {
    // Back to exactly what is served (state_ is untouched); every file is compiled afresh
    // by the next pass.
    records_.clear();
    for (const auto& [file, version] : previous) records_[file].live = version;
    throw;
  }
}

ServiceSet::Outcome ServiceSet::apply_files(const ConfigLoad& load,
                                            const std::vector<ManifestFile>& files,
                                            Trigger trigger,
                                            std::chrono::steady_clock::time_point started,
                                            const std::map<std::string, VersionPtr>& previous,
                                            ReloadPhases& phases,
                                            std::optional<RollbackInfo> rollback) {
  const bool config_changed = !state_ || !same_config(state_->config, load.config);
  // A kind came or went: recompile what used it, and what failed (it may have lacked it).
  if (!changed_kinds_.empty()) {
    for (auto& [file, record] : records_) {
      if (!record.error.empty() || uses_changed_kind(record.candidate) ||
          uses_changed_kind(record.live))
        record.content.reset();
    }
  }

  std::set<std::string> present;
  for (const auto& file : files) {
    present.insert(file.name);
    refresh_candidate(records_[file.name], file, *load.config, config_changed, phases);
  }
  for (auto it = records_.begin(); it != records_.end();) {
    it = present.count(it->first) ? std::next(it) : records_.erase(it);
  }
  const auto resolve_start = std::chrono::steady_clock::now();
  resolve_conflicts();
  phases.validate += micros(std::chrono::steady_clock::now() - resolve_start);
  changed_kinds_.clear();

  auto report = ReloadReport{};
  report.trigger = trigger;
  report.at = std::chrono::system_clock::now();
  report.restart_required = load.restart_required;
  report.config_error = load.error;
  for (const auto& [file, version] : previous) {
    auto it = records_.find(file);
    const VersionPtr now = it == records_.end() ? nullptr : it->second.live;
    if (version && !now) report.removed.push_back(version->service.name);
    else if (version && now != version) report.updated.push_back(now->service.name);
  }
  for (const auto& [file, record] : records_) {
    const auto before = previous.find(file);
    if (record.live && (before == previous.end() || !before->second))
      report.added.push_back(record.live->service.name);
    const std::string& error = !record.error.empty() ? record.error : record.conflict;
    if (!error.empty()) report.errors.push_back({file, error});
  }
  const bool routes_changed =
      !report.added.empty() || !report.removed.empty() || !report.updated.empty();
  report.changed = !state_ || routes_changed || config_changed;

  auto next = std::make_shared<ServedState>();
  next->generation = (state_ ? state_->generation : 0) + (report.changed ? 1 : 0);
  const auto build_start = std::chrono::steady_clock::now();
  next->routes = (state_ && !routes_changed) ? state_->routes : build_table();
  next->config = load.config;
  const bool docs_changed = http::describe_api(*next, state_.get());
  phases.build = micros(std::chrono::steady_clock::now() - build_start);
  next->services_dir = services_dir_;
  next->services = statuses();
  next->config_error = load.error;
  next->restart_required = load.restart_required;
  next->source = load.source;
  if (rollback) report.rollback_of = rollback->to;
  next->rollback = std::move(rollback);
  report.generation = next->generation;
  report.phases = phases;
  report.duration = micros(std::chrono::steady_clock::now() - started);
  next->last_reload = std::move(report);

  const bool published_change = !state_ || next->last_reload.changed || docs_changed ||
                                next->services != state_->services ||
                                next->config_error != state_->config_error ||
                                next->restart_required != state_->restart_required ||
                                next->rollback != state_->rollback ||
                                !same_source(next->source, state_->source);
  state_ = std::move(next);
  return {state_, published_change};
}

namespace {

struct ServedRoute {
  RouteRef ref;
  uint64_t fingerprint;
  const http::PathPattern* pattern;
};
using RouteMap = std::map<std::string, ServedRoute>;  // "METHOD /path" -> route

// Whether some path matches both patterns ({name*} matches any rest, even an empty one).
bool patterns_overlap(const http::PathPattern& a, const http::PathPattern& b) {
  using Kind = http::PathSegment::Kind;
  const auto& x = a.segments();
  const auto& y = b.segments();
  size_t i = 0;
  for (; i < x.size() && i < y.size(); ++i) {
    if (x[i].kind == Kind::rest || y[i].kind == Kind::rest) return true;
    if (x[i].kind == Kind::literal && y[i].kind == Kind::literal && x[i].text != y[i].text)
      return false;
  }
  const auto& longer = x.size() > y.size() ? x : y;
  return x.size() == y.size() || (longer.size() == i + 1 && longer[i].kind == Kind::rest);
}

}  // namespace

ValidationResultPtr ServiceSet::validate(const std::vector<ManifestFile>& files, bool replace) const {
  // Bounds the overlap search, which compares each added or changed route with every route.
  constexpr size_t kMaxOverlapChecks = 4'000'000;
  constexpr size_t kMaxOverlaps = 100;

  auto result = std::make_shared<ValidationResult>();
  std::set<std::string> submitted;
  for (const auto& file : files) submitted.insert(file.name);
  std::vector<ManifestFile> all = files;
  if (!replace) {
    for (const auto& [file, record] : records_)
      if (!submitted.count(file)) all.push_back({file, record.content, record.error});
  }
  std::sort(all.begin(), all.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.name < b.name; });

  ServiceSet dry(*this);
  ConfigLoad load;
  load.config = state_ ? state_->config : std::make_shared<const config::ConfigSnapshot>();
  dry.apply(load, all, Trigger::admin, std::chrono::steady_clock::now());
  result->generation = state_ ? state_->generation : 0;

  for (const auto& [file, record] : dry.records_) {
    const std::string& error = !record.error.empty() ? record.error : record.conflict;
    if (submitted.count(file)) {
      const VersionPtr& version = record.candidate;
      result->files.push_back({file, version ? version->service.name : std::string(),
                               version ? version->service.routes.size() : 0, error});
      if (!error.empty()) result->valid = false;
    }
    if (!record.conflict.empty()) result->conflicts.push_back({file, record.conflict});
  }

  const auto routes_of = [](const std::map<std::string, Record>& records) {
    RouteMap routes;
    for (const auto& [file, record] : records) {
      if (!record.live) continue;
      for (const auto& route : record.live->service.routes) {
        for (int m = 0; m < http::kMethodCount; ++m) {
          const auto method = static_cast<http::Method>(m);
          if (!route.methods.has(method)) continue;
          const std::string name(http::to_string(method));
          routes.emplace(name + " " + route.pattern.text(),
                         ServedRoute{{name, route.pattern.text(), record.live->service.name, route.kind},
                                     route.fingerprint, &route.pattern});
        }
      }
    }
    return routes;
  };
  const RouteMap before = routes_of(records_);
  const RouteMap after = routes_of(dry.records_);
  std::vector<const ServedRoute*> touched;  // added or changed
  for (const auto& [key, route] : after) {
    auto old = before.find(key);
    if (old == before.end()) {
      result->added.push_back(route.ref);
    } else if (old->second.fingerprint != route.fingerprint ||
               old->second.ref.service != route.ref.service) {
      result->changed.push_back(route.ref);
    } else {
      continue;
    }
    touched.push_back(&route);
  }
  for (const auto& [key, route] : before)
    if (!after.count(key)) result->removed.push_back(route.ref);

  size_t checks = 0;
  for (const ServedRoute* route : touched) {
    for (const auto& [key, other] : after) {
      if (++checks > kMaxOverlapChecks || result->overlaps.size() >= kMaxOverlaps) {
        result->overlaps_truncated = true;
        return result;
      }
      // The same shape on the same method is a conflict, reported as such.
      if (other.ref.service != route->ref.service && other.ref.method == route->ref.method &&
          patterns_overlap(*route->pattern, *other.pattern) &&
          other.pattern->shape() != route->pattern->shape())
        result->overlaps.push_back({route->ref, other.ref});
    }
  }
  return result;
}

}  // namespace aitools
