#include "actors/history.hpp"

#include <algorithm>
#include <map>

namespace aitools {

std::vector<ManifestFile> HistoryEntry::manifest_files() const {
  std::vector<ManifestFile> out;
  out.reserve(files.size());
  for (const auto& file : files) {
    ManifestFile manifest{file.name, std::nullopt, file.read_error};
    if (file.content) manifest.content = *file.content;
    out.push_back(std::move(manifest));
  }
  return out;
}

bool HistoryEntry::same_files(const std::vector<ManifestFile>& other) const {
  if (other.size() != files.size()) return false;
  for (size_t i = 0; i < files.size(); ++i) {
    const bool readable = files[i].content != nullptr;
    if (files[i].name != other[i].name || readable != other[i].content.has_value()) return false;
    if (readable && *files[i].content != *other[i].content) return false;
  }
  return true;
}

void History::set_capacity(size_t capacity) {
  capacity_ = capacity;
  trim();
}

void History::trim() {
  while (entries_.size() > capacity_ || (entries_.size() > 2 && bytes_ > max_bytes_)) {
    bytes_ -= entries_.front()->own_bytes;
    entries_.pop_front();
    // The new oldest entry now owns the contents it shared with the one dropped.
    if (!entries_.empty()) {
      auto oldest = std::make_shared<HistoryEntry>(*entries_.front());
      bytes_ -= oldest->own_bytes;
      oldest->own_bytes = 0;
      for (const auto& file : oldest->files) oldest->own_bytes += file.content ? file.content->size() : 0;
      bytes_ += oldest->own_bytes;
      entries_.front() = std::move(oldest);
    }
  }
}

void History::record(const ReloadReport& report, const ConfigLoadPtr& config,
                     const std::vector<ManifestFile>& files) {
  std::map<std::string_view, const HistoryEntry::File*> previous;
  if (!entries_.empty())
    for (const auto& file : entries_.back()->files) previous.emplace(file.name, &file);

  auto entry = std::make_shared<HistoryEntry>();
  entry->generation = report.generation;
  entry->at = report.at;
  entry->trigger = report.trigger;
  entry->added = report.added;
  entry->removed = report.removed;
  entry->updated = report.updated;
  entry->config_error = report.config_error;
  entry->rollback_of = report.rollback_of;
  entry->config = config;
  for (const auto& file : files) {
    HistoryEntry::File kept{file.name, nullptr, file.read_error};
    if (file.content) {
      auto same = previous.find(file.name);
      if (same != previous.end() && same->second->content && *same->second->content == *file.content) {
        kept.content = same->second->content;
      } else {
        kept.content = std::make_shared<const std::string>(*file.content);
        entry->own_bytes += file.content->size();
      }
    }
    entry->files.push_back(std::move(kept));
  }
  bytes_ += entry->own_bytes;
  entries_.push_back(std::move(entry));
  trim();
}

HistoryEntryPtr History::find(uint64_t generation) const {
  for (const auto& entry : entries_)
    if (entry->generation == generation) return entry;
  return nullptr;
}

HistoryEntryPtr History::before(uint64_t generation) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if ((*it)->generation < generation) return *it;
  return nullptr;
}

HistoryViewPtr History::view() const {
  auto view = std::make_shared<HistoryView>();
  view->capacity = capacity_;
  view->entries.assign(entries_.rbegin(), entries_.rend());
  return view;
}

}  // namespace aitools
