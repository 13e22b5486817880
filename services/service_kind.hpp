#pragma once
// A service kind turns a route's `options` into a handler that answers requests.
// One kind per file in services/; each registers itself in the catalog with
// AITOOLS_REGISTER_KIND, so adding a kind means adding one file.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/fwd.h>

#include "http/request.hpp"

namespace aitools::services {

// Answers requests for one route. Immutable and shared by every request thread.
class RouteHandler {
 public:
  virtual ~RouteHandler() = default;
  // Runs on an HTTP thread; must not block. Returns the response, or std::nullopt after
  // taking the request's Completion from `deferral` to answer later from elsewhere.
  virtual std::optional<http::Response> handle(const http::Request& request,
                                               const http::Params& params,
                                               http::Deferral& deferral) const = 0;
};
using RouteHandlerPtr = std::shared_ptr<const RouteHandler>;

// What a kind may know about the route it compiles for.
struct RouteInfo {
  std::string path;                      // full pattern, e.g. "/v1/hello/{name}"
  std::vector<std::string> param_names;  // placeholders available: "name", "rest" for {rest*}
  // The env file's directory: relative paths in options are taken from here, as SERVICES_DIR
  // is, so a config works wherever the server is started.
  std::string base_dir{};
};

class ServiceKind {
 public:
  virtual ~ServiceKind() = default;
  virtual std::string_view name() const = 0;
  // Validates `options` (already ${KEY}-rendered; null when the route has none) and builds the
  // handler. On failure returns null and sets `error` to "<json path>: <what was expected>",
  // the path relative to the options object, e.g. "status: expected an integer 100-599".
  virtual RouteHandlerPtr compile(const rapidjson::Value* options, const RouteInfo& route,
                                  std::string& error) const = 0;
  // The kind's own request contract, as JSON text {"query": <JSON Schema>, "headers": ...,
  // "body": ...} (each part optional; empty: none). A route's `request` block replaces it
  // part by part. Requests that fail it are answered 422 before the handler runs
  // (services/request_schema.hpp).
  virtual std::string_view default_request() const { return {}; }
};

}  // namespace aitools::services
