#pragma once
// JSON bodies of the admin API (docs/admin-api.md).
#include <string>

#include "actors/history.hpp"
#include "actors/served_state.hpp"
#include "actors/service_set.hpp"

namespace aitools::http {

// `detail`: why a wait_for answer is not the generation asked for.
std::string status_json(const ServedState& state, double uptime_seconds,
                        std::string_view detail = {});
std::string reload_json(const ReloadReport& report);
std::string history_json(const HistoryView& history, const ServedState& state);
std::string validation_json(const ValidationResult& result);
// The body of POST /admin/validate; false and `error` (what was expected, where) if invalid.
bool parse_validation_request(std::string_view body, ValidationRequest& request, std::string& error);
std::string routes_json(const RouteTable& routes);
std::string config_json(const ServedState& state);

}  // namespace aitools::http
