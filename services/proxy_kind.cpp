#include "services/proxy_kind.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>

#include <rapidjson/document.h>

#include <caf/send.hpp>

#include "http/envelope.hpp"
#include "http/method.hpp"
#include "services/kind_options.hpp"
#include "services/xfyun_auth.hpp"
#include "util/log.hpp"
#include "util/url.hpp"

namespace aitools::services {

namespace {

using rapidjson::Value;
using Error = UpstreamResult::Error;

constexpr uint32_t kDefaultTimeoutMs = 30000;
constexpr uint32_t kMaxTimeoutMs = 600000;
constexpr uint64_t kDefaultMaxBodyBytes = uint64_t{16} << 20;
constexpr uint64_t kMaxMaxBodyBytes = uint64_t{1} << 30;

std::string_view as_view(const Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

// Headers about one connection rather than the message (RFC 9110 7.6.1), and the framing
// each side sets itself: never forwarded in either direction.
bool is_hop_by_hop(std::string_view name) {
  for (std::string_view hop : {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                               "proxy-authorization", "te", "trailer", "transfer-encoding",
                               "upgrade", "content-length"})
    if (http::iequals(name, hop)) return true;
  return false;
}

// Request headers the proxy decides: the upstream's Host is the URL's (the signature covers
// it), and the framing is curl's.
bool is_proxy_owned(std::string_view name) {
  return is_hop_by_hop(name) || http::iequals(name, "host") || http::iequals(name, "expect");
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && http::iequals(text.substr(0, prefix.size()), prefix);
}

// The upstream URL split once into literal text and {param} slots; a request fills the slots
// with its percent-encoded path parameters.
class UrlTemplate {
 public:
  bool parse(std::string_view text, const RouteInfo& route, std::string& error) {
    size_t authority_start = 0;
    if (starts_with_nocase(text, "http://"))
      authority_start = 7;
    else if (starts_with_nocase(text, "https://"))
      authority_start = 8;
    const size_t authority_end = std::min(text.find_first_of("/?", authority_start), text.size());
    const std::string_view authority = text.substr(authority_start, authority_end - authority_start);
    if (authority_start == 0 || authority.empty() || authority.front() == ':') {
      error = "url: expected an http:// or https:// URL with a host";
      return false;
    }
    if (std::any_of(text.begin(), text.end(), [](char c) {
          const auto byte = static_cast<unsigned char>(c);
          return byte <= 0x20 || byte == 0x7f || c == '#';
        })) {
      error = "url: expected no spaces, control characters or #fragment";
      return false;
    }
    // A host taken from the request would let any client pick the upstream.
    if (authority.find_first_of("{}@") != std::string_view::npos) {
      error = "url: expected a literal host without user info; {param} may only fill the path "
              "and query";
      return false;
    }
    size_t literal_start = 0;
    for (size_t open = text.find('{'); open != std::string_view::npos;
         open = text.find('{', literal_start)) {
      const size_t close = text.find('}', open);
      const std::string_view name =
          text.substr(open + 1, close == std::string_view::npos ? close : close - open - 1);
      auto param = std::find(route.param_names.begin(), route.param_names.end(), name);
      if (close == std::string_view::npos || param == route.param_names.end()) {
        std::string known;
        for (const std::string& n : route.param_names) known.append(known.empty() ? "" : ", ").append(n);
        error = "url: {" + std::string(name) + "} is not a parameter of the route path; expected " +
                (known.empty() ? std::string("no placeholders") : "one of " + known);
        return false;
      }
      if (text.substr(literal_start, open - literal_start).find('}') != std::string_view::npos)
        break;  // a stray '}', refused below
      // A {rest*} value is a path of its own: its slashes stay.
      const bool rest = route.path.find("{" + std::string(name) + "*}") != std::string::npos;
      slots_.push_back({std::string(text.substr(literal_start, open - literal_start)),
                        static_cast<size_t>(param - route.param_names.begin()), rest});
      literal_start = close + 1;
    }
    if (text.find('}', literal_start) != std::string_view::npos) {
      error = "url: expected '}' only to close a {param}";
      return false;
    }
    tail_ = text.substr(literal_start);
    return true;
  }

  std::string render(const http::Params& params) const {
    std::string out;
    for (const Slot& slot : slots_) {
      out += slot.literal;
      // Params arrive in pattern order, which is the order of the route's param_names.
      if (slot.param < params.size())
        url::append_encoded(out, params[slot.param].second, slot.rest ? "/" : "");
    }
    out += tail_;
    return out;
  }

 private:
  struct Slot {
    std::string literal;  // text before the parameter
    size_t param;         // index into the request's Params
    bool rest;            // a {rest*} parameter
  };
  std::vector<Slot> slots_;
  std::string tail_;
};

struct ProxyOptions {
  UrlTemplate url;
  std::string method;  // empty: the request's
  http::HeaderList headers;
  std::vector<std::string> pass_headers{"content-type", "accept"};
  bool pass_query = true;
  std::chrono::milliseconds timeout{kDefaultTimeoutMs};
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  std::string ca_file;
  std::optional<XfyunCredentials> xfyun;
};

// The response to a finished upstream call: the upstream's answer, or the envelope for a
// failure.
http::Response relay(UpstreamResult result, const std::string& sid, const std::string& path,
                     std::chrono::milliseconds timeout) {
  switch (result.error) {
    case Error::none:
      break;
    case Error::timeout:
      return http::envelope(http::code::upstream_connection,
                            "upstream timed out: no answer within " +
                                std::to_string(timeout.count()) + " ms",
                            {}, sid, path, true);
    case Error::connect:
    case Error::tls:
      return http::envelope(http::code::upstream_connection,
                            "upstream connection failed (" + std::string(to_string(result.error)) +
                                "): " + result.error_text,
                            {}, sid, path);
    case Error::too_large:
    case Error::protocol:
      return http::envelope(http::code::upstream_http,
                            "upstream answer unusable (" + std::string(to_string(result.error)) +
                                "): " + result.error_text,
                            {}, sid, path);
  }
  if (result.status == 401 || result.status == 403)
    return http::envelope(http::code::upstream_auth,
                          "upstream refused the credentials: HTTP " + std::to_string(result.status),
                          "{\"status\":" + std::to_string(result.status) + "}", sid, path);

  http::Response response;
  response.status = result.status;
  response.body = std::move(result.body);
  // Names the upstream's Connection header lists are hop-by-hop too.
  std::vector<std::string> listed;
  for (const auto& [name, value] : result.headers) {
    if (!http::iequals(name, "connection")) continue;
    for (size_t start = 0; start < value.size();) {
      size_t end = std::min(value.find(',', start), value.size());
      std::string token = value.substr(start, end - start);
      token.erase(0, token.find_first_not_of(" \t"));
      token.erase(token.find_last_not_of(" \t") + 1);
      listed.push_back(std::move(token));
      start = end + 1;
    }
  }
  for (auto& [name, value] : result.headers) {
    if (http::iequals(name, "content-type")) {
      response.content_type = std::move(value);
    } else if (!is_hop_by_hop(name) && !http::iequals(name, "x-sid") &&
               !http::iequals(name, "x-route-generation") &&
               std::none_of(listed.begin(), listed.end(),
                            [&name = name](const std::string& l) { return http::iequals(l, name); })) {
      response.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  response.headers.emplace_back("X-Sid", sid);
  log::write(http::answer_log_level(result.status), "proxy_answer",
            {{"sid", sid}, {"path", path}, {"status", std::to_string(result.status)},
             {"upstream_ms", std::to_string(result.elapsed.count() / 1000)}});
  return response;
}

class ProxyHandler final : public RouteHandler {
 public:
  ProxyHandler(upstream_actor upstream, ProxyOptions options)
      : upstream_(std::move(upstream)), options_(std::move(options)) {}

  std::optional<http::Response> handle(const http::Request& request, const http::Params& params,
                                       http::Deferral& deferral) const override {
    const std::string sid = http::new_sid();
    std::string path(request.path());
    auto call = std::make_shared<UpstreamCall>();
    UpstreamRequest& out = call->request;
    out.method = options_.method.empty() ? std::string(request.method()) : options_.method;
    out.url = options_.url.render(params);
    if (options_.pass_query) {
      char separator = out.url.find('?') == std::string::npos ? '?' : '&';
      // The parameters arrive decoded: each is encoded again, so "a&b" stays one value.
      for (const auto& [name, value] : request.query()) {
        out.url += separator;
        url::append_encoded(out.url, name);
        out.url += '=';
        url::append_encoded(out.url, value);
        separator = '&';
      }
    }
    if (options_.xfyun) {
      // Signed per request: the date in the signature must be current.
      auto signed_url = xfyun_sign_url(out.url, out.method, *options_.xfyun,
                                       std::chrono::system_clock::now());
      if (!signed_url)
        return http::envelope(http::code::internal, "cannot sign the upstream URL", {}, sid, path);
      out.url = std::move(*signed_url);
    }
    for (const std::string& name : options_.pass_headers) {
      const bool replaced = std::any_of(options_.headers.begin(), options_.headers.end(),
                                        [&](const auto& added) { return http::iequals(added.first, name); });
      if (!replaced)
        if (auto value = request.header(name)) out.headers.emplace_back(name, std::move(*value));
    }
    out.headers.insert(out.headers.end(), options_.headers.begin(), options_.headers.end());
    out.body = request.body();
    out.timeout = options_.timeout;
    out.max_response_bytes = options_.max_body_bytes;
    out.ca_file = options_.ca_file;
    call->done = [completion = deferral.defer(), sid, path = std::move(path),
                  timeout = options_.timeout](UpstreamResult result) {
      completion->complete(relay(std::move(result), sid, path, timeout));
    };
    caf::anon_send(upstream_, fetch_atom::value, std::move(call));
    return std::nullopt;
  }

 private:
  upstream_actor upstream_;
  ProxyOptions options_;
};

// ---- options ----

bool read_header_name(const Value& name, const std::string& where, std::string& out,
                      std::string& error) {
  if (!name.IsString() || !http::is_token(as_view(name))) {
    error = where + ": expected a header name of letters, digits and !#$%&'*+-.^_`|~";
    return false;
  }
  out = as_view(name);
  if (is_proxy_owned(out)) {
    error = where + ": set by the proxy; expected any other header";
    return false;
  }
  return true;
}

bool read_pass_headers(const Value& names, std::vector<std::string>& out, std::string& error) {
  if (!names.IsArray()) {
    error = "pass_headers: expected an array of request header names";
    return false;
  }
  out.clear();
  for (rapidjson::SizeType i = 0; i < names.Size(); ++i) {
    std::string name;
    if (!read_header_name(names[i], "pass_headers[" + std::to_string(i) + "]", name, error))
      return false;
    out.push_back(std::move(name));
  }
  return true;
}

bool read_auth(const Value& auth, std::optional<XfyunCredentials>& out, std::string& error) {
  if (!auth.IsObject()) {
    error = R"(auth: expected {"type": "xfyun-hmac", "api_key": "...", "api_secret": "..."})";
    return false;
  }
  XfyunCredentials credentials;
  bool typed = false;
  for (auto member = auth.MemberBegin(); member != auth.MemberEnd(); ++member) {
    const std::string field(as_view(member->name));
    const Value& value = member->value;
    if (field == "type") {
      if (!value.IsString() || as_view(value) != "xfyun-hmac") {
        error = "auth.type: expected \"xfyun-hmac\"";
        return false;
      }
      typed = true;
    } else if (field == "api_key" || field == "api_secret") {
      if (!value.IsString() || value.GetStringLength() == 0) {
        error = "auth." + field + ": expected a non-empty string";
        return false;
      }
      (field == "api_key" ? credentials.api_key : credentials.api_secret) = as_view(value);
    } else {
      error = "auth." + field + ": unknown field; expected type, api_key, api_secret";
      return false;
    }
  }
  if (!typed) error = "auth.type: expected \"xfyun-hmac\" (required)";
  else if (credentials.api_key.empty()) error = "auth.api_key: expected a non-empty string (required)";
  else if (credentials.api_secret.empty()) error = "auth.api_secret: expected a non-empty string (required)";
  if (!error.empty()) return false;
  out = std::move(credentials);
  return true;
}

bool read_uint(const Value& value, const char* field, uint64_t min, uint64_t max, uint64_t& out,
               std::string& error) {
  if (!value.IsUint64() || value.GetUint64() < min || value.GetUint64() > max) {
    error = std::string(field) + ": expected an integer " + std::to_string(min) + "-" +
            std::to_string(max);
    return false;
  }
  out = value.GetUint64();
  return true;
}

bool read_option(const std::string& field, const Value& value, const RouteInfo& route,
                 ProxyOptions& options, std::string& error) {
  if (field == "url") {
    if (!value.IsString()) {
      error = "url: expected an http:// or https:// URL";
      return false;
    }
    return options.url.parse(as_view(value), route, error);
  }
  if (field == "method") {
    if (!value.IsString() || !http::parse_method(as_view(value))) {
      error = "method: expected one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS";
      return false;
    }
    options.method = as_view(value);
    return true;
  }
  if (field == "headers")
    return options::read_header_object(value, is_proxy_owned, "the proxy", options.headers, error);
  if (field == "pass_headers") return read_pass_headers(value, options.pass_headers, error);
  if (field == "pass_query") {
    if (!value.IsBool()) {
      error = "pass_query: expected true or false";
      return false;
    }
    options.pass_query = value.GetBool();
    return true;
  }
  uint64_t number = 0;
  if (field == "timeout_ms") {
    if (!read_uint(value, "timeout_ms", 1, kMaxTimeoutMs, number, error)) return false;
    options.timeout = std::chrono::milliseconds(number);
    return true;
  }
  if (field == "max_body_bytes") {
    if (!read_uint(value, "max_body_bytes", 1, kMaxMaxBodyBytes, number, error)) return false;
    options.max_body_bytes = number;
    return true;
  }
  if (field == "ca_file") {
    // Checked now so that a wrong path quarantines the file instead of failing every request.
    const std::string path =
        value.IsString() && value.GetStringLength() > 0
            ? options::resolve_path(std::string(as_view(value)), route.base_dir)
            : std::string();
    if (path.empty() || !std::ifstream(path).good()) {
      error = "ca_file: expected the path of a readable PEM file";
      return false;
    }
    options.ca_file = path;
    return true;
  }
  if (field == "auth") return read_auth(value, options.xfyun, error);
  error = field +
          ": unknown option; expected one of url, method, headers, pass_headers, pass_query, "
          "timeout_ms, max_body_bytes, ca_file, auth";
  return false;
}

class ProxyKind final : public ServiceKind {
 public:
  explicit ProxyKind(upstream_actor upstream) : upstream_(std::move(upstream)) {}

  std::string_view name() const override { return "proxy"; }

  RouteHandlerPtr compile(const Value* options, const RouteInfo& route,
                          std::string& error) const override {
    if (!options || !options->IsObject() || !options->HasMember("url")) {
      error = "url: expected an http:// or https:// URL (required)";
      return nullptr;
    }
    ProxyOptions compiled;
    for (auto member = options->MemberBegin(); member != options->MemberEnd(); ++member) {
      if (!read_option(std::string(as_view(member->name)), member->value, route, compiled, error))
        return nullptr;
    }
    return std::make_shared<ProxyHandler>(upstream_, std::move(compiled));
  }

 private:
  upstream_actor upstream_;
};

}  // namespace

std::shared_ptr<const ServiceKind> make_proxy_kind(upstream_actor upstream) {
  return std::make_shared<ProxyKind>(std::move(upstream));
}

}  // namespace aitools::services
