#pragma once
// What the iFlytek tool kinds (translation, image_generate) share: their endpoint options, a
// route handler that answers with the AITools envelope (http/envelope.hpp) after one signed
// POST through the upstream actor (actors/upstream.hpp), and the mapping of upstream failures
// to a tool's codes.
//
// The endpoint (URL and credentials, their ${KEY}s rendered) is compiled into the route's
// handler: a changed key recompiles the route, so the next request uses the new value while
// requests in flight finish with the old one.
#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "actors/upstream.hpp"
#include "http/envelope.hpp"
#include "services/service_kind.hpp"
#include "services/xfyun_auth.hpp"

namespace aitools::services {

struct XfyunEndpoint {
  std::string url;  // absolute http(s) URL, signed per request
  std::string app_id;
  XfyunCredentials credentials;  // may be empty: the upstream then refuses (an auth error)
  std::chrono::milliseconds timeout{30000};
  std::string ca_file;
};

// Reads the options every tool kind takes: url (required), app_id, api_key, api_secret,
// timeout_ms (1-600000, default 30000) and ca_file, and refuses members that are neither
// these nor one of `own_fields` (the kind reads those itself). `options` may be null. A
// relative ca_file is taken from `base_dir` (RouteInfo::base_dir).
bool read_endpoint(const rapidjson::Value* options, std::initializer_list<std::string_view> own_fields,
                   const std::string& base_dir, XfyunEndpoint& out, std::string& error);

// A tool's answer: the envelope's code, message and data.
struct ToolAnswer {
  int code = http::code::success;
  std::string message = "success";
  std::string data;        // JSON text; empty: null
  bool timed_out = false;  // the upstream did not answer in time: 504 instead of 502

  static ToolAnswer failure(int code, std::string message, bool timed_out = false) {
    return {code, std::move(message), {}, timed_out};
  }
};

// Which code each kind of upstream failure gets, and how the tool words it.
struct UpstreamCodes {
  int network;    // could not connect, TLS failure, or no answer in time
  int http;       // an HTTP error status, or an answer that is not HTTP or too large
  int auth;       // 401 or 403: the credentials were refused
  int malformed;  // a 2xx answer whose body is not what the API documents
  std::string (*message)(int code, std::string_view detail);
};

// The answer for a transport failure or a non-2xx status; nullopt for a 2xx answer.
std::optional<ToolAnswer> upstream_failure(const UpstreamResult& result, const UpstreamCodes& codes);

// Parses `text` as a JSON object (UTF-8 validated); false when it is not one.
bool parse_object(std::string_view text, rapidjson::Document& out);

// The member `name` of `object` (which may be any value), or null.
const rapidjson::Value* member(const rapidjson::Value& object, const char* name);

std::string_view as_view(const rapidjson::Value& string);

// Unicode code points in valid UTF-8 `text` (what the predecessor's Python len() counted).
size_t count_code_points(std::string_view text);
// The longest prefix of valid UTF-8 `text` with at most `limit` code points.
std::string_view first_code_points(std::string_view text, size_t limit);

// One request as a tool sees it: either answered at once (`answer`), or the JSON body of the
// upstream call and `finish`, which turns the upstream's result into the answer. `finish` runs
// on the upstream actor's thread: it must be short and must not wait.
struct ToolStep {
  std::optional<ToolAnswer> answer;
  std::string upstream_body;
  std::function<ToolAnswer(const UpstreamResult&)> finish;
};
using Tool = std::function<ToolStep(std::string_view request_body)>;

// The handler of a tool route: gives the request a sid, runs `tool` on its body (on the HTTP
// thread: parsing and checks only), POSTs the upstream body to the endpoint's URL signed with
// xfyun-hmac, and answers the envelope once the upstream actor reports the result. No thread
// waits for the upstream.
RouteHandlerPtr make_tool_handler(upstream_actor upstream, XfyunEndpoint endpoint, Tool tool);

}  // namespace aitools::services
