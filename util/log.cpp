#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace aitools::log {

namespace {

std::atomic<config::LogLevel> current_level{config::LogLevel::info};

}  // namespace

std::string iso8601(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto secs = system_clock::to_time_t(time);
  const auto millis = duration_cast<milliseconds>(time.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(millis));
  return buf;
}

namespace {

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      return true;
  return false;
}

void append_value(std::string& line, std::string_view value) {
  if (!needs_quotes(value)) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') line += '\\';
    if (c == '\n') {
      line += "\\n";
      continue;
    }
    line += c;
  }
  line += '"';
}

}  // namespace

void set_level(config::LogLevel level) { current_level.store(level, std::memory_order_relaxed); }
config::LogLevel level() { return current_level.load(std::memory_order_relaxed); }
bool enabled(config::LogLevel level) {
  return static_cast<int>(level) >= static_cast<int>(current_level.load(std::memory_order_relaxed));
}

void write(config::LogLevel lvl, std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(lvl)) return;
  std::string line = iso8601(std::chrono::system_clock::now());
  line += " level=";
  line += config::to_string(lvl);
  line += " event=";
  line += event;
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    append_value(line, value);
  }
  line += '\n';
  // One fwrite per line: stdio locks the stream, so lines from threads never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace aitools::log
