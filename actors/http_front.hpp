#pragma once
// The HTTP front actor owns the main listener (a Pistache endpoint). It follows the served
// state published by the registry and hands each snapshot to the request handlers; it sends
// delayed responses; and on shutdown it drains: new requests get 503, requests in flight
// finish (up to SHUTDOWN_GRACE_MS).
#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "http/front_handler.hpp"
#include "http/pistache_adapter.hpp"

namespace aitools {

// The answer to start_atom: the bound port, or why binding failed.
struct ListenResult {
  uint16_t port = 0;
  std::string error;
};

using http_front_actor = state_subscriber::extend<
    // The state requests are served from right now. Status answered from it changes in the
    // same step as the swap: content and status never disagree about the generation.
    caf::replies_to<caf::get_atom>::with<ServedStatePtr>,
    // Bind and serve.
    caf::replies_to<start_atom>::with<ListenResult>,
    // Refuse new requests with 503 and wait for those in flight, at most SHUTDOWN_GRACE_MS;
    // answers how many were still in flight when it gave up (0 when all finished).
    caf::replies_to<drain_atom>::with<int64_t>,
    // A snapshot a request thread no longer serves from, freed here rather than there.
    caf::reacts_to<retire_atom, ServedStatePtr>,
    // A delayed response that is due.
    caf::reacts_to<respond_atom, http::DeferredResponsePtr>,
    // A reactor was written to from another thread (FrontShared::sightings): watch it.
    caf::reacts_to<nudge_atom>,
    // Internal: drain progress check; the nudge tick.
    caf::reacts_to<tick_atom>, caf::reacts_to<tick_atom, nudge_atom>>;

// Requests count towards `metrics` (which also holds the in-flight count the drain waits for).
http_front_actor spawn_http_front(caf::actor_system& system, registry_actor registry,
                                  http::ListenerOptions options, ServedStatePtr initial,
                                  std::shared_ptr<http::Metrics> metrics);

}  // namespace aitools

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::ListenResult)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::ListenerOptions)
