#pragma once
// Request validation: JSON Schemas (draft-04, checked by RapidJSON's validator) for a route's
// query parameters, headers and body, from the manifest's `request` block or the kind's own
// contract (ServiceKind::default_request). A request that fails is answered 422 with
// FastAPI's body, {"detail": [{"type", "loc", "msg", "input"}, ...]}, before the kind's
// handler runs. docs/manifests.md describes the rules.
#include <rapidjson/fwd.h>

#include <memory>
#include <string>

#include "services/service_kind.hpp"

namespace aitools::services {

enum class RequestPart { query, headers, body };

// One part's schema, compiled; immutable and shared by request threads.
class RequestSchema;
using RequestSchemaPtr = std::shared_ptr<const RequestSchema>;

// Checks `schema` (the JSON Schema draft-04 meta-schema, local $ref only, regular
// expressions RapidJSON supports; for query and headers an object schema) and compiles it.
// On failure returns null and sets `error`, e.g. "invalid JSON Schema: anyOf at #/type".
RequestSchemaPtr compile_request_schema(RequestPart part, const rapidjson::Value& schema,
                                        std::string& error);

// The schemas of one route's request; null where the route has none.
struct RequestSchemas {
  RequestSchemaPtr query;
  RequestSchemaPtr headers;
  RequestSchemaPtr body;
  bool empty() const { return !query && !headers && !body; }
};

// `handler` behind the schemas: a request that fails any part is answered 422 with every
// part's errors (query, then headers, then body); the others reach `handler`.
RouteHandlerPtr validate_requests(RouteHandlerPtr handler, RequestSchemas schemas);

}  // namespace aitools::services
