#pragma once
// The echo service actor behind the built-in `actor_echo` kind: the `echo` kind's answer,
// computed in a CAF actor instead of on the HTTP thread. It is the reference for service
// actors and the benchmark of the actor path (bench/).
#include <caf/fwd.hpp>

#include "actors/service_actor.hpp"

namespace aitools {

service_actor spawn_echo_service(caf::actor_system& system);

}  // namespace aitools
