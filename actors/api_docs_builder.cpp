#include "actors/api_docs_builder.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "http/api_docs.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

api_docs_builder_actor::behavior_type api_docs_builder() {
  return {
      [](const ServedStatePtr& state) {
        const auto started = std::chrono::steady_clock::now();
        http::fill_openapi(*state);
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - started;
        log::info("openapi_built", {{"generation", std::to_string(state->generation)},
                                    {"routes", std::to_string(state->routes->routes().size())},
                                    {"duration_ms", std::to_string(took.count())}});
      },
  };
}

}  // namespace

api_docs_builder_actor spawn_api_docs_builder(caf::actor_system& system) {
  return system.spawn(api_docs_builder);
}

}  // namespace aitools
