#pragma once
// The admin actor owns the admin listener (ADMIN_HOST:ADMIN_PORT) and answers its API:
// probes (/healthz, /readyz), /admin/* (docs/admin-api.md) and /metrics (docs/metrics.md),
// for HTTP clients and, by reply, for the remote admin actor.
// Reloads go to the registry like every other trigger; status, routes and config come from
// the HTTP front's current snapshot, so what status reports is exactly what is served.
#include <memory>

#include <caf/fwd.hpp>

#include "actors/http_front.hpp"
#include "actors/nudge.hpp"
#include "actors/registry.hpp"
#include "http/admin_handler.hpp"

namespace aitools {

using admin_actor = caf::typed_actor<
    // Bind and serve the admin listener.
    caf::replies_to<start_atom, http::ListenerOptions>::with<ListenResult>,
    // Readiness for /readyz: true once serving, false while draining.
    caf::reacts_to<ready_atom, bool>,
    // One admin request from the listener.
    caf::reacts_to<http::AdminCallPtr>,
    // One admin request answered by reply instead of over HTTP (the remote admin's).
    caf::replies_to<answer_atom, http::AdminCallPtr>::with<http::Response>,
    // Internal: re-waking Pistache until an answer is written.
    nudge_handler>;

// Status, routes and config come from `front` (what is served); reloads go to `registry`;
// GET /metrics renders `metrics`.
admin_actor spawn_admin(caf::actor_system& system, registry_actor registry, http_front_actor front,
                        std::shared_ptr<const http::Metrics> metrics);

}  // namespace aitools
