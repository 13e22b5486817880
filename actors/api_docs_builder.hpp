#pragma once
// Builds the OpenAPI document of a served state whose route table is too large to describe
// within the reload pass (http::OpenApiDocument), on a CAF worker of its own: neither the swap
// nor the registry's next pass waits for it.
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/served_state.hpp"

namespace aitools {

using api_docs_builder_actor = caf::typed_actor<
    // Fill the state's claimed, empty document.
    caf::reacts_to<ServedStatePtr>>;

api_docs_builder_actor spawn_api_docs_builder(caf::actor_system& system);

}  // namespace aitools
