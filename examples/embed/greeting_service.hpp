#pragma once
// The actor behind the `greeting` kind. For a route such as GET /v1/greet/{name} it answers
//   {"greeting":"Hello, Ada!","name":"Ada","count":3}
// where `count` numbers the greetings this actor has given. The count lives in the actor's
// state, so it carries on across manifest reloads: the routes change, the actor stays.
// A route without a {name} parameter greets "world".
#include <caf/fwd.hpp>

#include "actors/service_actor.hpp"

namespace embed {

aitools::service_actor spawn_greeting_service(caf::actor_system& system);

}  // namespace embed
