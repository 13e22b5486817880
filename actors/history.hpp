#pragma once
// The registry's record of the last applied states (GET /admin/history), each complete enough
// to be applied again (POST /admin/rollback): the config and every manifest file as read.
// Free of CAF so it can be tested directly.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/served_state.hpp"
#include "actors/service_set.hpp"

namespace aitools {

struct HistoryEntry {
  // A manifest file as it was read. Contents are shared with the previous entry when equal,
  // so twenty entries of a large, mostly unchanged directory cost little more than one.
  struct File {
    std::string name;
    std::shared_ptr<const std::string> content;  // null when it could not be read
    std::string read_error;
  };
  uint64_t generation = 0;
  std::chrono::system_clock::time_point at;
  Trigger trigger = Trigger::startup;
  std::vector<std::string> added, removed, updated;
  std::optional<std::string> config_error;
  std::optional<uint64_t> rollback_of;  // the generation a rollback re-applied
  ConfigLoadPtr config;
  std::vector<File> files;  // sorted by name
  size_t own_bytes = 0;     // contents this entry does not share with the one before it

  std::vector<ManifestFile> manifest_files() const;
  // Whether `files` (as read from disk) are exactly these.
  bool same_files(const std::vector<ManifestFile>& files) const;
};
using HistoryEntryPtr = std::shared_ptr<const HistoryEntry>;

struct HistoryView {
  size_t capacity = 0;
  std::vector<HistoryEntryPtr> entries;  // newest first
};
using HistoryViewPtr = std::shared_ptr<const HistoryView>;

class History {
 public:
  // Besides `capacity` entries, the contents kept for older entries are bounded: a 100k-route
  // manifest is about 12 MB, and twenty changed copies of it would hold 240 MB. The newest two
  // entries are always kept, so a rollback by one is always possible.
  static constexpr size_t kMaxBytes = size_t{64} << 20;

  explicit History(size_t capacity, size_t max_bytes = kMaxBytes)
      : capacity_(capacity), max_bytes_(max_bytes) {}

  void set_capacity(size_t capacity);
  // Records the state a pass applied (call it for passes that made a new generation).
  void record(const ReloadReport& report, const ConfigLoadPtr& config,
              const std::vector<ManifestFile>& files);
  HistoryEntryPtr find(uint64_t generation) const;  // null when not kept
  HistoryEntryPtr before(uint64_t generation) const;  // the newest older one, or null
  HistoryViewPtr view() const;

 private:
  void trim();

  size_t capacity_;
  size_t max_bytes_;
  std::deque<HistoryEntryPtr> entries_;  // oldest first
  size_t bytes_ = 0;                     // the own_bytes of every entry
};

}  // namespace aitools
