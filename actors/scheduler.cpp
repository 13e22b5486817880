#include "actors/scheduler.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_system_config.hpp>

namespace aitools {

void configure_scheduler(caf::actor_system_config& config) {
  config.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  config.set("work-stealing.aggressive-poll-attempts", size_t{1000});
  config.set("work-stealing.moderate-poll-attempts", size_t{0});
}

}  // namespace aitools
