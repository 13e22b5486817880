#pragma once
// Structured logging: one line per event on stderr, logfmt style:
//   2026-11-28T03:54:30.123Z level=info event=reload trigger=file generation=3 ...
// The level is process-wide and can change at any time (LOG_LEVEL applies live).
#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.hpp"

namespace aitools::log {

using Field = std::pair<std::string_view, std::string>;

void set_level(config::LogLevel level);
config::LogLevel level();
bool enabled(config::LogLevel level);

// Writes one line if `level` is enabled. Values with spaces, quotes or '=' are quoted.
void write(config::LogLevel level, std::string_view event, std::initializer_list<Field> fields = {});

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(config::LogLevel::debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(config::LogLevel::info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(config::LogLevel::warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(config::LogLevel::error, event, fields);
}

// UTC with milliseconds: "2026-11-28T03:54:30.123Z".
std::string iso8601(std::chrono::system_clock::time_point time);

// "a,b,c" for list-valued fields.
std::string join(const std::vector<std::string>& items, std::string_view separator = ",");

}  // namespace aitools::log
