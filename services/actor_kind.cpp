#include "services/actor_kind.hpp"

#include <rapidjson/document.h>

namespace aitools::services {

namespace {

constexpr uint32_t kDefaultTimeoutMs = 30000;
constexpr uint32_t kMaxTimeoutMs = 600000;

class ActorHandler final : public RouteHandler {
 public:
  ActorHandler(service_actor service, ServiceCaller caller, uint32_t timeout_ms)
      : service_(std::move(service)), caller_(std::move(caller)), timeout_ms_(timeout_ms) {}

  std::optional<http::Response> handle(const http::Request& request, const http::Params& params,
                                       http::Deferral& deferral) const override {
    auto value = std::make_shared<const http::RequestValue>(request, params);
    caller_.call(service_, std::move(value), timeout_ms_, deferral.defer());
    return std::nullopt;
  }

 private:
  service_actor service_;
  ServiceCaller caller_;
  uint32_t timeout_ms_;
};

class ActorKind final : public ServiceKind {
 public:
  ActorKind(std::string name, service_actor service, ServiceCaller caller)
      : name_(std::move(name)), service_(std::move(service)), caller_(std::move(caller)) {}

  std::string_view name() const override { return name_; }

  RouteHandlerPtr compile(const rapidjson::Value* options, const RouteInfo&,
                          std::string& error) const override {
    uint32_t timeout_ms = kDefaultTimeoutMs;
    if (options) {
      for (auto member = options->MemberBegin(); member != options->MemberEnd(); ++member) {
        const std::string field(member->name.GetString(), member->name.GetStringLength());
        if (field != "timeout_ms") {
          error = field + ": unknown option; " + name_ + " takes only timeout_ms";
          return nullptr;
        }
        const rapidjson::Value& value = member->value;
        if (!value.IsUint() || value.GetUint() < 1 || value.GetUint() > kMaxTimeoutMs) {
          error = "timeout_ms: expected an integer 1-" + std::to_string(kMaxTimeoutMs);
          return nullptr;
        }
        timeout_ms = value.GetUint();
      }
    }
    return std::make_shared<ActorHandler>(service_, caller_, timeout_ms);
  }

 private:
  std::string name_;
  service_actor service_;
  ServiceCaller caller_;
};

}  // namespace

std::shared_ptr<const ServiceKind> make_actor_kind(std::string name, service_actor service,
                                                   ServiceCaller caller) {
  return std::make_shared<ActorKind>(std::move(name), std::move(service), std::move(caller));
}

}  // namespace aitools::services
