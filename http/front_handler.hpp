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

namespace aitools::http {

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
  UnsettledWrites unsettled;          // off-reactor writes the front actor nudges until settled
  // Called after writing off-reactor: has the front actor watch `write` (see PendingWrite).
  void watch(PendingWritePtr write);
};

// A response to send later (static delay_ms, or a deferred handler's answer) without holding
// a thread.
struct DeferredResponse {
  Pistache::Http::ResponseWriter writer;
  Response response;
  bool head = false;
  std::shared_ptr<FrontShared> shared;
  std::shared_ptr<StatusCounters> counters;        // the route's, for the request's method
  std::chrono::steady_clock::time_point started;  // when the front's handler started
};
using DeferredResponsePtr = std::shared_ptr<DeferredResponse>;

// Sends a deferred response from an actor thread and has the front actor watch the write.
void send_deferred(DeferredResponse& deferred);

class FrontHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(FrontHandler)

  explicit FrontHandler(std::shared_ptr<FrontShared> shared) : shared_(std::move(shared)) {}
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) override;

 private:
  const ServedState& current();
  void answer(Pistache::Http::ResponseWriter& writer, const Response& response, bool head,
              bool close, StatusCounters& counters);

  std::shared_ptr<FrontShared> shared_;
  uint64_t seen_version_ = 0;
  ServedStatePtr cached_;
  HeaderPtr generation_header_;  // X-Route-Generation of cached_, shared by its responses
  // Reused between requests of this clone (it serves one request at a time).
  ParamValues param_values_;
  Params params_;
  std::chrono::steady_clock::time_point started_;  // of the request being served
};

}  // namespace aitools::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::DeferredResponsePtr)
