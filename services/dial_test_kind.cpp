// The `dial_test` kind: the predecessor's POST /aitools/v1/dial_test, a liveness probe that
// takes a required query parameter `test`, a required header `test` and a body
// {"test": str}, and answers the raw list ["message","Dial test service"] (not the AITools
// envelope, as the predecessor did). The request contract is the kind's own, so a missing or
// mistyped part is answered 422 by the validating handler before this one runs.
#include <rapidjson/document.h>

#include "services/catalog.hpp"

namespace aitools::services {

namespace {

class DialTestHandler final : public RouteHandler {
 public:
  std::optional<http::Response> handle(const http::Request&, const http::Params&,
                                       http::Deferral&) const override {
    http::Response response;
    response.content_type = "application/json";
    response.body = R"(["message","Dial test service"])";
    return response;
  }
};

class DialTestKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "dial_test"; }

  std::string_view default_request() const override {
    return R"({
      "query": {"type": "object", "properties": {"test": {"type": "string"}},
                "required": ["test"]},
      "headers": {"type": "object", "properties": {"test": {"type": "string"}},
                  "required": ["test"]},
      "body": {"type": "object", "properties": {"test": {"type": "string"}},
               "required": ["test"]}
    })";
  }

  RouteHandlerPtr compile(const rapidjson::Value* options, const RouteInfo&,
                          std::string& error) const override {
    if (options && options->MemberCount() > 0) {
      const rapidjson::Value& field = options->MemberBegin()->name;
      error = std::string(field.GetString(), field.GetStringLength()) +
              ": unknown option; expected no options";
      return nullptr;
    }
    return std::make_shared<DialTestHandler>();
  }
};

}  // namespace

AITOOLS_REGISTER_KIND(DialTestKind)

}  // namespace aitools::services
