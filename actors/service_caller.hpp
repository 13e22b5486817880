#pragma once
// The service caller asks service actors on behalf of HTTP threads (which are not actors and
// must not wait): it sends the request value, and completes the HTTP request with the reply,
// 504 when the actor does not answer in time, or 502 when it fails or is gone.
#include <cstdint>

#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "actors/service_actor.hpp"

namespace aitools {

using service_caller_actor = caf::typed_actor<
    // Ask `service` (timeout in milliseconds) and complete the request with its answer.
    caf::reacts_to<call_atom, service_actor, http::RequestValuePtr, uint32_t, http::CompletionPtr>,
    // Internal: the timeout sweep.
    caf::reacts_to<tick_atom>>;

service_caller_actor spawn_service_caller(caf::actor_system& system);

}  // namespace aitools
