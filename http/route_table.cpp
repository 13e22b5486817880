#include "http/route_table.hpp"

#include <string_view>
#include <tuple>
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

  using Key = std::tuple<std::string_view, std::string_view, size_t>;  // service, pattern, method
  struct KeyHash {
    size_t operator()(const Key& key) const {
      const size_t a = std::hash<std::string_view>{}(std::get<0>(key));
      const size_t b = std::hash<std::string_view>{}(std::get<1>(key));
      return (a * 31 + b) * 31 + std::get<2>(key);
    }
  };
  // Hashed: a 100k-route table carries 200k counter blocks on every rebuild.
  std::unordered_map<Key, std::shared_ptr<StatusCounters>, KeyHash> carried;
  if (previous) {
    carried.reserve(previous->routes_.size() * 2);
    for (const auto& route : previous->routes_)
      for (size_t m = 0; m < size_t{kMethodCount}; ++m)
        if (route.counters[m])
          carried.emplace(Key{route.service, route.pattern.text(), m}, route.counters[m]);
  }
  for (auto& route : table->routes_) {
    const MethodSet served = served_methods(route, head_shapes);
    for (size_t m = 0; m < size_t{kMethodCount}; ++m) {
      if (!served.has(static_cast<Method>(m))) {
        route.counters[m] = nullptr;
        continue;
      }
      const auto it = carried.find(Key{route.service, route.pattern.text(), m});
      route.counters[m] = it != carried.end() ? it->second : std::make_shared<StatusCounters>();
    }
  }
  return table;
}

}  // namespace aitools::http
