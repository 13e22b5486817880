#pragma once
// Service manifests: one JSON file per service in the services directory.
//
//   parse_manifest   JSON syntax (line, column) and the manifest schema (unknown fields are
//                    errors), method names, path patterns, conflicts inside the file.
//   compile_manifest ${KEY} rendering of options from a config snapshot, then each route's
//                    kind validates its options and builds its handler; the route's request
//                    schemas (its `request` block, else the kind's own) are compiled and put
//                    in front of the handler (services/request_schema.hpp).
// Both report the first error as "<json path>: <what was expected>", e.g.
// "routes[1].method: expected a method name or an array of them, got 7".
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/fwd.h>

#include "config/settings.hpp"
#include "http/method.hpp"
#include "http/route_doc.hpp"
#include "http/router.hpp"
#include "services/catalog.hpp"

namespace aitools::config {

struct RouteSpec {
  http::MethodSet methods;
  http::PathPattern pattern;  // prefix + path
  std::string kind;
  const rapidjson::Value* options = nullptr;  // into Manifest::document; null when absent
  // {"query", "headers", "body"}: JSON Schemas, each optional and never ${KEY}-rendered; into
  // Manifest::document; null when absent.
  const rapidjson::Value* request = nullptr;
  // For the OpenAPI document.
  std::string summary;
  std::string description;
  std::vector<std::string> tags;
};

struct Manifest {
  std::string name;  // defaults to the file name without ".json"
  bool enabled = true;
  std::string prefix;
  std::vector<RouteSpec> routes;
  std::shared_ptr<const rapidjson::Document> document;  // owns every RouteSpec::options
};

// `default_name`: the file name without ".json".
bool parse_manifest(std::string_view text, std::string_view default_name, Manifest& out,
                    std::string& error);

struct CompiledRoute {
  http::MethodSet methods;
  http::PathPattern pattern;
  std::string kind;
  services::RouteHandlerPtr handler;
  http::RouteDocPtr doc;  // null when the route documents nothing
  // Hash of the kind, its rendered options, the request block and the documentation: what a
  // diff compares.
  uint64_t fingerprint = 0;
};

struct CompiledService {
  std::string name;
  bool enabled = true;
  std::vector<CompiledRoute> routes;  // empty when disabled
  // Every ${KEY} the options used, with the value it had (nullopt never appears in a
  // successful compile; kept optional so callers can compare against a new lookup).
  std::map<std::string, std::optional<std::string>> used_vars;
};

// Renders ${KEY} (from config.lookup) in every string value of each route's options and
// compiles the routes with their kinds and request schemas. A disabled manifest compiles to
// no routes and needs no kind lookups.
bool compile_manifest(const Manifest& manifest, const ConfigSnapshot& config,
                      const services::Catalog& catalog, CompiledService& out, std::string& error);

// Replaces every ${KEY} in `text` (KEY = [A-Za-z_][A-Za-z0-9_.]*) using `lookup`; records the
// keys in `used`. Returns false and names the first missing key in `missing`.
// "${" without a closing "}" or with an invalid name is left as it is.
bool render_vars(std::string_view text, const ConfigSnapshot& config, std::string& out,
                 std::map<std::string, std::optional<std::string>>& used, std::string& missing);

// True for names the services directory ignores: leading '.', trailing '~', ".tmp", ".swp",
// and anything not ending in ".json".
bool is_ignored_manifest_name(std::string_view file_name);

}  // namespace aitools::config
