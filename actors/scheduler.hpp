#pragma once
// CAF scheduler settings for an actor system that serves HTTP: aitools-server uses them, and an
// embedder may apply them to its own configuration before creating its actor system.
#include <caf/fwd.hpp>

namespace aitools {

// One worker per core (at least two), and workers that poll briefly, then block on their
// condition variable. CAF's default keeps an idle worker in 50 us sleeps for 25 ms; on a
// loaded 2-core machine those wake-ups compete with the HTTP threads, and an actor-backed
// route served 25-31k req/s with them against 37-42k without (docs/performance.md).
void configure_scheduler(caf::actor_system_config& config);

}  // namespace aitools
