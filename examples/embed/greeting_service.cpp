#include "greeting_service.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/all.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace embed {

namespace {

struct GreetingState {
  uint64_t count = 0;  // greetings given so far
};

aitools::service_actor::behavior_type greeting(
    aitools::service_actor::stateful_pointer<GreetingState> self) {
  return {
      // Runs on a CAF worker with the request copied out of the HTTP thread; the returned
      // response is written by aitools. Path parameter values are percent-decoded and may hold
      // any text: the JSON writer escapes them.
      [self](const aitools::http::RequestValuePtr& request) -> aitools::http::Response {
        std::string_view name = "world";
        for (const auto& [key, value] : request->params())
          if (key == "name") name = value;
        const uint64_t count = ++self->state.count;
        const std::string greeting = "Hello, " + std::string(name) + "!";

        rapidjson::StringBuffer body;
        rapidjson::Writer<rapidjson::StringBuffer> json(body);
        json.StartObject();
        json.Key("greeting");
        json.String(greeting.data(), static_cast<rapidjson::SizeType>(greeting.size()));
        json.Key("name");
        json.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        json.Key("count");
        json.Uint64(count);
        json.EndObject();

        aitools::http::Response response;
        response.content_type = "application/json";
        response.body.assign(body.GetString(), body.GetSize());
        return response;
      },
  };
}

}  // namespace

aitools::service_actor spawn_greeting_service(caf::actor_system& system) {
  return system.spawn(greeting);
}

}  // namespace embed
