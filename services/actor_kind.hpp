#pragma once
// A service kind served by an actor: its routes hand each request, as an immutable
// http::RequestValue, to a service actor (actors/service_actor.hpp) through the service caller,
// and answer with the actor's reply. The HTTP thread never waits for the actor.
//
// Route options: {"timeout_ms": 1-600000} (default 30000): no reply by then answers 504.
#include <memory>
#include <string>

#include "actors/service_actor.hpp"
#include "actors/service_caller.hpp"
#include "services/service_kind.hpp"

namespace aitools::services {

std::shared_ptr<const ServiceKind> make_actor_kind(std::string name, service_actor service,
                                                   ServiceCaller caller);

}  // namespace aitools::services
