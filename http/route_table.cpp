#include "http/route_table.hpp"

#include <string_view>
#include <utility>
#include <unordered_map>
#include <unordered_set>

namespace aitools::http {

namespace {

// The methods the router serves from `route`: as declared, plus HEAD where it declares GET and
// no route of the same shape declares HEAD (see Router::add).
MethodSet served_methods(const RouteEntry& route,
                         const std::unordered_set<std::string>& head_shapes) {
  MethodSet served = route.methods;
  if (route.methods.has(Method::GET) && !route.methods.has(Method::HEAD) &&
      (head_shapes.empty() || !head_shapes.count(route.pattern.shape())))
    served.add(Method::HEAD);
  return served;
}

}  // namespace

std::shared_ptr<const RouteTable> RouteTable::build(std::vector<RouteEntry> routes,
                                                    const RouteTable* previous,
                                                    std::vector<std::string>* skipped) {
  auto table = std::make_shared<RouteTable>();
  table->routes_.reserve(routes.size());
  std::unordered_set<std::string> head_shapes;  // shapes with a route that declares HEAD
  for (auto& route : routes) {
    const auto index = static_cast<uint32_t>(table->routes_.size());
    if (!table->router_.add(route.pattern, route.methods, index)) {
      if (skipped) skipped->push_back(route.methods.to_string() + " " + route.pattern.text());
      continue;
    }
    if (route.methods.has(Method::HEAD)) head_shapes.insert(route.pattern.shape());
    table->routes_.push_back(std::move(route));
  }

  using Key = std::pair<std::string_view, std::string_view>;  // service, pattern text
  struct KeyHash {
    size_t operator()(const Key& key) const {
      return std::hash<std::string_view>{}(key.first) * 31 +
             std::hash<std::string_view>{}(key.second);
    }
  };
  // Per (service, pattern): the previous table's counters of each method. Two routes may
  // share a pattern with different methods, so their counters are merged. Hashed, and one
  // entry per pattern: a 100k-route table is rebuilt on every reload.
  using Counters = std::array<const std::shared_ptr<StatusCounters>*, kMethodCount>;
  std::unordered_map<Key, Counters, KeyHash> carried;
  if (previous) {
    carried.reserve(previous->routes_.size());
    for (const auto& route : previous->routes_) {
      Counters& counters = carried[Key{route.service, route.pattern.text()}];
      for (size_t m = 0; m < size_t{kMethodCount}; ++m)
        if (route.counters[m]) counters[m] = &route.counters[m];
    }
  }
  for (auto& route : table->routes_) {
    const MethodSet served = served_methods(route, head_shapes);
    const auto before = carried.find(Key{route.service, route.pattern.text()});
    for (size_t m = 0; m < size_t{kMethodCount}; ++m) {
      const std::shared_ptr<StatusCounters>* kept =
          before != carried.end() ? before->second[m] : nullptr;
      if (!served.has(static_cast<Method>(m)))
        route.counters[m] = nullptr;
      else
        route.counters[m] = kept ? *kept : std::make_shared<StatusCounters>();
    }
  }
  return table;
}

}  // namespace aitools::http
