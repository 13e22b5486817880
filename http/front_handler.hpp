#pragma once
// The main listener's request handler. Pistache runs one clone per reactor thread; each
// clone serves from the served-state snapshot it holds and refreshes it only when the front
// actor has published a new one (one atomic version check per request, no lock).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <pistache/http.h>

#include "actors/served_state.hpp"
#include "http/metrics.hpp"
#include "http/pistache_adapter.hpp"
#include "http/request.hpp"
#include "http/router.hpp"
#include "util/push_list.hpp"

namespace aitools::http {

// The writes made to one reactor thread (one handler clone) from other threads: actors'
// answers and delayed responses. Pistache can strand such a write in the reactor's queue (see
// PendingWrite) until the next write to that reactor. The front actor therefore looks for a
// reactor with writes still queued and none pushed since its last look, and pushes an empty
// write to it; a reactor that keeps getting writes is never nudged.
struct ReactorWrites {
  // Counts, not positions: two threads may number writes in one order and push them in the
  // other, so a later number settling says nothing about an earlier one.
  std::atomic<uint64_t> pushed{0};   // writes pushed (or about to be) so far
  std::atomic<uint64_t> settled{0};  // of those, written, failed or dropped
  std::atomic<bool> sighted{false};  // a peer of this reactor waits in FrontShared::sightings

  // Counts the next write (before it is pushed); returns `pushed` with it.
  uint64_t next() { return pushed.fetch_add(1) + 1; }
  // Any thread, once per write: it was written, failed or was dropped.
  void settle() { settled.fetch_add(1); }
};
using ReactorWritesPtr = std::shared_ptr<ReactorWrites>;

// A reactor with writes from other threads, and a connection of it to nudge through.
struct Sighting {
  ReactorWritesPtr reactor;
  std::weak_ptr<Pistache::Tcp::Peer> peer;
};

// Shared by the front actor and every handler clone.
struct FrontShared {
  explicit FrontShared(std::shared_ptr<Metrics> server_metrics)
      : metrics(std::move(server_metrics)), in_flight(metrics->in_flight()) {}

  // Written by the front actor only. Readers load `state` only after seeing a new version.
  void publish(ServedStatePtr next);

  const std::shared_ptr<Metrics> metrics;  // what requests count towards
  std::atomic<uint64_t> version{0};
  ServedStatePtr state;  // accessed with std::atomic_load / std::atomic_store only
  std::atomic<bool> draining{false};
  // Fully received requests whose response is not handed off: the metrics' in-flight gauge.
  std::atomic<int64_t>& in_flight;
  std::atomic<int64_t> unwritten{0};  // responses handed to Pistache, not yet written
  caf::actor deferred;                // the front actor: sends delayed responses, nudges writes
  // Reactors written to from other threads since the front actor last looked (one entry per
  // reactor until then: the first write after a look adds it and wakes the front actor).
  PushList<Sighting> sightings;
};

// A response to send later (static delay_ms, or a deferred handler's answer) without holding
// a thread.
struct DeferredResponse {
  Pistache::Http::ResponseWriter writer;
  ReplyFrame frame;
  Response response;
  std::shared_ptr<FrontShared> shared;
  std::shared_ptr<StatusCounters> counters;        // the route's, for the request's method
  std::chrono::steady_clock::time_point started;  // when the front's handler started
  ReactorWritesPtr reactor;                       // of the request's connection
};
using DeferredResponsePtr = std::shared_ptr<DeferredResponse>;

// Sends a deferred response from an actor thread and has the front actor watch the write.
void send_deferred(DeferredResponse& deferred);

class FrontHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(FrontHandler)

  explicit FrontHandler(std::shared_ptr<FrontShared> shared) : shared_(std::move(shared)) {}
  // Pistache clones the handler for each reactor thread: a clone keeps the prototype's
  // Pistache settings (limits, timeouts) and starts with its own ReactorWrites and cache.
  FrontHandler(const FrontHandler& prototype)
      : Pistache::Http::Handler(prototype), shared_(prototype.shared_) {}
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) override;

 private:
  const ServedState& current();
  void answer(Pistache::Http::ResponseWriter& writer, const Response& response, bool close,
              StatusCounters& counters);

  std::shared_ptr<FrontShared> shared_;
  const ReactorWritesPtr reactor_ = std::make_shared<ReactorWrites>();
  uint64_t seen_version_ = 0;
  ServedStatePtr cached_;
  // "X-Route-Generation: N\r\n" of cached_, shared by its responses.
  std::shared_ptr<const std::string> generation_line_;
  // Reused between requests of this clone (it serves one request at a time).
  ParamValues param_values_;
  Params params_;
  // Of the request being served.
  std::chrono::steady_clock::time_point started_;
  ReplyFrame frame_;
};

}  // namespace aitools::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::DeferredResponsePtr)
