#include "http/route_table.hpp"

namespace aitools::http {

std::shared_ptr<const RouteTable> RouteTable::build(std::vector<RouteEntry> routes,
                                                    std::vector<std::string>* skipped) {
  auto table = std::make_shared<RouteTable>();
  table->routes_.reserve(routes.size());
  for (auto& route : routes) {
    const auto index = static_cast<uint32_t>(table->routes_.size());
    if (!table->router_.add(route.pattern, route.methods, index)) {
      if (skipped) skipped->push_back(route.methods.to_string() + " " + route.pattern.text());
      continue;
    }
    table->routes_.push_back(std::move(route));
  }
  return table;
}

}  // namespace aitools::http
