#pragma once
// The immutable route table a generation serves: the trie plus, per route, its service,
// kind and compiled handler. Built aside by the registry and shared as
// shared_ptr<const RouteTable>; never modified after build().
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/method.hpp"
#include "http/metrics.hpp"
#include "http/route_doc.hpp"
#include "http/router.hpp"
#include "services/service_kind.hpp"

namespace aitools::http {

struct RouteEntry {
  std::string service;
  std::string kind;
  MethodSet methods;  // as declared (HEAD is implied by GET in matching, not listed here)
  PathPattern pattern;
  services::RouteHandlerPtr handler;
  RouteDocPtr doc{};  // null when the route documents nothing
  // Requests answered, per method this route serves (as declared, plus HEAD where the router
  // serves HEAD from its GET); null for every other method. Set by RouteTable::build.
  std::array<std::shared_ptr<StatusCounters>, kMethodCount> counters{};
};

class RouteTable {
 public:
  // Routes must be conflict-free (the registry resolves conflicts first); a conflicting
  // route is skipped and named in `skipped` rather than silently shadowing another.
  // Each route gets request counters: those of `previous`'s route with the same service,
  // pattern text and method when there is one (shared, so counts keep adding up across
  // reloads, even from requests still served by `previous`), else new ones.
  static std::shared_ptr<const RouteTable> build(std::vector<RouteEntry> routes,
                                                 const RouteTable* previous = nullptr,
                                                 std::vector<std::string>* skipped = nullptr);

  const std::vector<RouteEntry>& routes() const { return routes_; }
  const RouteEntry& route(uint32_t index) const { return routes_[index]; }
  MatchResult match(Method method, std::string_view path, ParamValues& params) const {
    return router_.match(method, path, params);
  }

 private:
  std::vector<RouteEntry> routes_;
  Router router_;
};
using RouteTablePtr = std::shared_ptr<const RouteTable>;

}  // namespace aitools::http
