#pragma once
// JSON bodies of the admin API (docs/admin-api.md).
#include <string>

#include "actors/served_state.hpp"

namespace aitools::http {

std::string status_json(const ServedState& state, double uptime_seconds);
std::string reload_json(const ReloadReport& report);
std::string routes_json(const RouteTable& routes);
std::string config_json(const ServedState& state);

}  // namespace aitools::http
