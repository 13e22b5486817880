#include "ctl/applied.hpp"

namespace aitools::ctl {

AppliedRule::AppliedRule(EtcdClient& etcd, etcd::Layout layout)
    : etcd_(etcd), layout_(std::move(layout)) {}

bool AppliedRule::applied(int64_t ack_revision, int64_t target) {
  if (ack_revision >= target) return true;
  if (ack_revision <= 0) return false;  // revision 0 would read the newest state
  const Keys* acked = keys_at(ack_revision);
  const Keys* wanted = acked ? keys_at(target) : nullptr;
  return wanted && *acked == *wanted;
}

const AppliedRule::Keys* AppliedRule::keys_at(int64_t revision) {
  if (const auto cached = cache_.find(revision); cached != cache_.end()) return &cached->second;
  etcd::RangeResponse range;
  try {
    range = etcd_.range(layout_.watch_begin(), layout_.watch_end(), revision);
  } catch (const EtcdError& e) {
    if (e.revision_unavailable()) return nullptr;
    throw;
  }
  Keys keys;
  for (auto& kv : range.kvs) keys[kv.key] = std::move(kv.value);
  return &cache_.emplace(revision, std::move(keys)).first->second;
}

}  // namespace aitools::ctl
