#pragma once
// Calls of actor-backed routes, made by HTTP threads (which are not actors and must not wait).
//
// A call sends the request value straight to the service actor as a request whose sender is a
// one-shot reply sink: the actor's reply completes the HTTP request on the thread that sends
// it, with no actor hop in between. The sink answers 502 when the actor fails, is gone or drops
// the request unanswered. The service caller actor enforces the timeouts (504): calls queue
// their deadlines without a lock, and it sweeps them on a timer while any may be pending.
#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "actors/service_actor.hpp"

namespace aitools {

using service_caller_actor = caf::typed_actor<
    // Deadlines were queued while none were: sweep them soon.
    caf::reacts_to<call_atom>,
    // Internal: the sweep.
    caf::reacts_to<tick_atom>>;

class ServiceCaller {
 public:
  ServiceCaller() = default;  // calls nothing: for kinds that are only compiled
  // Spawns the service caller actor in `system`.
  explicit ServiceCaller(caf::actor_system& system);

  // Any thread: asks `service` to answer `request` within `timeout_ms` and completes `done`
  // with its answer, 504 or 502. Never blocks.
  void call(const service_actor& service, http::RequestValuePtr request, uint32_t timeout_ms,
            http::CompletionPtr done) const;

  const service_caller_actor& actor() const { return actor_; }

  struct Deadlines;  // shared by the calling threads and the actor

 private:
  std::shared_ptr<Deadlines> deadlines_;
  service_caller_actor actor_;
};

}  // namespace aitools
