#pragma once
// The AITools response envelope, {"code": int, "message": str, "data": any, "sid": str}, with
// the predecessor's codes. Unlike the predecessor, a failure is not HTTP 200: each code has a
// fitting status (status_for; docs/aitools-api.md lists the mapping).
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "http/request.hpp"

namespace aitools::http {

namespace code {
constexpr int success = 0;
constexpr int internal = 45000;             // 500
constexpr int params = 45001;               // 400
constexpr int response = 45002;             // 502: the upstream answered something unusable
constexpr int local = 45010;                // 500
constexpr int upstream_http = 45100;        // 502 (504 when it timed out)
constexpr int upstream_connection = 45101;  // 502 (504 when it timed out)
constexpr int upstream_auth = 45102;        // 502: the upstream refused our credentials
// translation
constexpr int text_empty = 45250;           // 400
constexpr int text_too_long = 45251;        // 413
constexpr int language_pair = 45252;        // 400
constexpr int translation_api = 45253;      // 502
constexpr int translation_format = 45254;   // 502
constexpr int translation_auth = 45255;     // 502
constexpr int translation_network = 45256;  // 502 (504 when it timed out)
}  // namespace code

// The HTTP status a code is answered with (504 for the upstream codes when `timed_out`).
int status_for(int code, bool timed_out = false);

// A request id unique in this process and across restarts: "ait" + 8 hex digits fixed at start
// + a counter in hex. Thread-safe, lock-free.
std::string new_sid();

// The level a tool request's outcome is logged at: debug when it succeeded (no line per request
// at info), warn when it failed, so a failed request can be found by its X-Sid.
config::LogLevel answer_log_level(int status);

// The envelope response: status_for(code), Content-Type application/json, header X-Sid: sid.
// `data_json` is raw JSON text ("null" when empty). Logs one line (event tool_answer) with the
// sid, path, code and status at answer_log_level.
Response envelope(int code, std::string_view message, std::string_view data_json,
                  const std::string& sid, std::string_view path, bool timed_out = false);

}  // namespace aitools::http
