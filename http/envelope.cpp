#include "http/envelope.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

#include "util/log.hpp"

namespace aitools::http {

int status_for(int c, bool timed_out) {
  switch (c) {
    case code::success: return 200;
    case code::params:
    case code::text_empty:
    case code::language_pair: return 400;
    case code::text_too_long: return 413;
    case code::upstream_http:
    case code::upstream_connection:
    case code::translation_network: return timed_out ? 504 : 502;
    case code::response:
    case code::upstream_auth:
    case code::translation_api:
    case code::translation_format:
    case code::translation_auth: return 502;
    default: return 500;
  }
}

config::LogLevel answer_log_level(int status) {
  return status < 400 ? config::LogLevel::debug : config::LogLevel::warn;
}

std::string new_sid() {
  // Seeded once per process: sids of two runs differ even though the counter restarts.
  static const uint32_t boot = [] {
    std::random_device device;
    return static_cast<uint32_t>(device()) ^
           static_cast<uint32_t>(std::chrono::system_clock::now().time_since_epoch().count());
  }();
  static std::atomic<uint64_t> counter{0};
  char text[32];
  std::snprintf(text, sizeof text, "ait%08x%llx", boot,
                static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
  return text;
}

Response envelope(int c, std::string_view message, std::string_view data_json,
                  const std::string& sid, std::string_view path, bool timed_out) {
  Response response;
  response.status = status_for(c, timed_out);
  response.content_type = "application/json";
  response.headers.emplace_back("X-Sid", sid);
  std::string& body = response.body;
  body.reserve(64 + message.size() + data_json.size() + sid.size());
  body += "{\"code\":";
  body += std::to_string(c);
  body += ",\"message\":\"";
  append_json_escaped(body, message);
  body += "\",\"data\":";
  body += data_json.empty() ? std::string_view("null") : data_json;
  body += ",\"sid\":\"";
  append_json_escaped(body, sid);
  body += "\"}";
  log::write(answer_log_level(response.status), "tool_answer",
             {{"sid", sid}, {"path", std::string(path)}, {"code", std::to_string(c)},
              {"status", std::to_string(response.status)}, {"message", std::string(message)}});
  return response;
}

}  // namespace aitools::http
