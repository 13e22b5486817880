#pragma once
// When a node has applied a revision. Nodes follow only the keys in [layout.watch_begin(),
// watch_end()) and acknowledge the revision of the last change they saw there, so a revision
// made by a write elsewhere in etcd (an ack, another cluster) is never acknowledged literally.
// A node whose ack says revision A has applied revision R when A >= R, or when the keys it
// follows hold the same values at A and at R: what it serves is then what R holds. Values,
// not mod_revisions, are compared, so a write that changes nothing (a node may not ack it)
// does not count as a change. A revision that was compacted (or is in the future) cannot be
// compared: then only A >= R counts.
#include <cstdint>
#include <map>
#include <string>

#include "config/etcd.hpp"
#include "ctl/etcd_client.hpp"

namespace aitools::ctl {

class AppliedRule {
 public:
  AppliedRule(EtcdClient& etcd, etcd::Layout layout);

  // Throws what EtcdClient throws, but for an unavailable revision.
  bool applied(int64_t ack_revision, int64_t target);

 private:
  using Keys = std::map<std::string, std::string>;  // key -> value
  // The followed keys at `revision`, read once (a past revision never changes); null when
  // etcd no longer (or not yet) has that revision.
  const Keys* keys_at(int64_t revision);

  EtcdClient& etcd_;
  etcd::Layout layout_;
  std::map<int64_t, Keys> cache_;
};

}  // namespace aitools::ctl
