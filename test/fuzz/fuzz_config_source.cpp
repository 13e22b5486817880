// Fuzz target: what a config source reads off the network - etcd's gateway answers, its watch
// stream, a node's ack, and a Polaris download.
//
// Input: the first byte picks a split point for the watch stream; the rest is the answer.
// Besides not crashing: the watch stream yields the same messages however the input is cut,
// an ack that parses writes back to JSON that parses to the same ack, and a download that
// parses yields a digest that only depends on its values.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/etcd.hpp"
#include "config/polaris.hpp"
#include "test/fuzz/fuzz_check.hpp"

using namespace aitools;

namespace {

// Every message the stream yields from `pieces`, and whether it ended in an error.
std::vector<std::string> watch_messages(const std::vector<std::string_view>& pieces, bool& failed) {
  etcd::WatchStream stream;
  std::vector<std::string> out;
  failed = false;
  for (std::string_view piece : pieces) {
    stream.feed(piece);
    etcd::WatchResponse response;
    std::string error;
    while (!failed && stream.next(response, error)) {
      std::string summary = std::to_string(response.revision) + "/" +
                            std::to_string(response.events.size()) + "/" +
                            std::to_string(response.compact_revision);
      for (const auto& event : response.events) summary += "|" + event.kv.key + "=" + event.kv.value;
      out.push_back(summary);
    }
    if (!error.empty()) failed = true;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = text.empty() ? 0 : data[0] % (text.size() + 1);

  bool whole_failed = false, split_failed = false;
  const auto whole = watch_messages({text}, whole_failed);
  const auto pieces = watch_messages({text.substr(0, split), text.substr(split)}, split_failed);
  if (!whole_failed && !split_failed) FUZZ_CHECK(whole == pieces);

  std::string error;
  etcd::RangeResponse range;
  if (etcd::parse_range(text, range, error)) {
    std::map<std::string, etcd::KeyValue> kvs;
    for (const auto& kv : range.kvs) kvs[kv.key] = kv;
    const auto snapshot = etcd::snapshot_from({"/f"}, kvs, range.revision);
    FUZZ_CHECK(snapshot.revision == range.revision);
  }
  int64_t revision = 0, deleted = 0, id = 0, ttl = 0;
  etcd::parse_write(text, revision, deleted, error);
  etcd::parse_lease_grant(text, id, ttl, error);
  etcd::parse_lease_keepalive(text, ttl, error);

  etcd::Ack ack;
  if (etcd::parse_ack(text, ack, error)) {
    etcd::Ack again;
    FUZZ_CHECK(etcd::parse_ack(etcd::ack_json(ack), again, error));
    FUZZ_CHECK(etcd::ack_json(again) == etcd::ack_json(ack));
  }

  config::RemoteSnapshot downloaded;
  if (polaris::parse_download(text, "fuzz.env", downloaded, error))
    FUZZ_CHECK(downloaded.version == polaris::content_digest(downloaded.values));
  return 0;
}
