#include "actors/echo_service.hpp"

#include <caf/all.hpp>

#include "services/catalog.hpp"

namespace aitools {

namespace {

// The echo kind answers synchronously, so no Completion is ever taken.
class NoDeferral final : public http::Deferral {
 public:
  http::CompletionPtr defer() override { throw std::logic_error("echo does not defer"); }
};

service_actor::behavior_type echo_behavior() {
  std::string error;
  auto echo = services::Catalog::builtin().find("echo")->compile(nullptr, {}, error);
  return {
      [echo](const http::RequestValuePtr& request) -> http::Response {
        NoDeferral deferral;
        return *echo->handle(*request, request->params(), deferral);
      },
  };
}

}  // namespace

service_actor spawn_echo_service(caf::actor_system& system) {
  return system.spawn(echo_behavior);
}

}  // namespace aitools
