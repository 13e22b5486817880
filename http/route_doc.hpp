#pragma once
// What a route says about itself for the OpenAPI document: the manifest's summary,
// description and tags, and the JSON Schemas its requests are validated against (from the
// manifest's `request` block, or the kind's own contract, e.g. dial_test's).
#include <memory>
#include <string>
#include <vector>

namespace aitools::http {

struct RouteDoc {
  std::string summary;
  std::string description;
  std::vector<std::string> tags;
  // Each a JSON Schema as compact JSON text; empty when the route declares none.
  std::string body_schema;
  std::string query_schema;
  std::string headers_schema;
};
using RouteDocPtr = std::shared_ptr<const RouteDoc>;

}  // namespace aitools::http
