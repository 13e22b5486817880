#pragma once
// The OpenAPI 3.0.3 document of a route table, served as GET /openapi.json (docs/openapi.md).
#include <cstdint>
#include <string>
#include <string_view>

#include "http/route_table.hpp"

namespace aitools::http {

// Compact JSON: one path item per pattern ({rest*} written {rest}), one operation per declared
// method, path parameters, the query/header parameters and request body of the route's
// schemas (RouteDoc), a 422 response in FastAPI's shape where a schema validates requests.
// `generation` is the one whose routes it describes (info.version, x-generation). Text that
// is not valid UTF-8 (a path, a summary) is repaired, so the output is always valid JSON.
std::string build_openapi(const RouteTable& table, uint64_t generation, std::string_view title);

}  // namespace aitools::http
