#include "services/xfyun_tool.hpp"

#include <vector>

#include <caf/send.hpp>

#include "services/kind_options.hpp"

namespace aitools::services {

namespace {

using Error = UpstreamResult::Error;

constexpr int64_t kMaxTimeoutMs = 600000;

class ToolHandler final : public RouteHandler {
 public:
  ToolHandler(upstream_actor upstream, XfyunEndpoint endpoint, Tool tool)
      : upstream_(std::move(upstream)), endpoint_(std::move(endpoint)), tool_(std::move(tool)) {}

  std::optional<http::Response> handle(const http::Request& request, const http::Params&,
                                       http::Deferral& deferral) const override {
    const std::string sid = http::new_sid();
    std::string path(request.path());
    ToolStep step = tool_(request.body());
    if (step.answer) return respond(*step.answer, sid, path);
    // Signed per request: the date in the signature must be current.
    auto url = xfyun_sign_url(endpoint_.url, "POST", endpoint_.credentials,
                              std::chrono::system_clock::now());
    if (!url || !upstream_)
      return respond(ToolAnswer::failure(http::code::internal, "the upstream is not available"),
                     sid, path);
    auto call = std::make_shared<UpstreamCall>();
    call->request.method = "POST";
    call->request.url = std::move(*url);
    call->request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    call->request.body = std::move(step.upstream_body);
    call->request.timeout = endpoint_.timeout;
    call->request.ca_file = endpoint_.ca_file;
    call->done = [completion = deferral.defer(), finish = std::move(step.finish), sid,
                  path = std::move(path)](UpstreamResult result) {
      completion->complete(respond(finish(result), sid, path));
    };
    caf::anon_send(upstream_, fetch_atom::value, std::move(call));
    return std::nullopt;
  }

 private:
  static http::Response respond(const ToolAnswer& answer, const std::string& sid,
                                const std::string& path) {
    return http::envelope(answer.code, answer.message, answer.data, sid, path, answer.timed_out);
  }

  upstream_actor upstream_;
  XfyunEndpoint endpoint_;
  Tool tool_;
};

}  // namespace

bool read_endpoint(const rapidjson::Value* options, std::initializer_list<std::string_view> own_fields,
                   const std::string& base_dir, XfyunEndpoint& out, std::string& error) {
  if (!options || !options->IsObject()) {
    error = "url: expected an http:// or https:// URL (required)";
    return false;
  }
  std::vector<std::string_view> known = {"url", "app_id", "api_key", "api_secret", "timeout_ms",
                                         "ca_file"};
  known.insert(known.end(), own_fields.begin(), own_fields.end());
  if (!options::only_known(*options, known, error)) return false;
  int64_t timeout_ms = out.timeout.count();
  if (!options::read_string(*options, "url", true, out.url, error) ||
      !options::read_string(*options, "app_id", false, out.app_id, error) ||
      !options::read_string(*options, "api_key", false, out.credentials.api_key, error) ||
      !options::read_string(*options, "api_secret", false, out.credentials.api_secret, error) ||
      !options::read_integer(*options, "timeout_ms", 1, kMaxTimeoutMs, timeout_ms, error) ||
      !options::read_readable_file(*options, "ca_file", base_dir, out.ca_file, error))
    return false;
  out.timeout = std::chrono::milliseconds(timeout_ms);
  // Signing checks the URL's shape; done once now so a bad URL quarantines the manifest.
  if (!xfyun_sign_url(out.url, "POST", out.credentials, std::chrono::system_clock::now())) {
    error = "url: expected an http:// or https:// URL with a host, without spaces or #fragment, "
            "got \"" + out.url + "\"";
    return false;
  }
  return true;
}

std::optional<ToolAnswer> upstream_failure(const UpstreamResult& result, const UpstreamCodes& codes) {
  auto fail = [&codes](int code, std::string detail, bool timed_out = false) {
    return ToolAnswer::failure(code, codes.message(code, detail), timed_out);
  };
  switch (result.error) {
    case Error::none: break;
    case Error::timeout:
      return fail(codes.network, "the upstream did not answer in time", true);
    case Error::connect:
    case Error::tls:
      return fail(codes.network, "cannot reach the upstream (" + std::string(to_string(result.error)) +
                                     "): " + result.error_text);
    case Error::too_large:
    case Error::protocol:
      return fail(codes.http, "unusable upstream answer (" + std::string(to_string(result.error)) +
                                  "): " + result.error_text);
  }
  if (result.status == 401 || result.status == 403)
    return fail(codes.auth, "the upstream refused the credentials (HTTP " +
                                std::to_string(result.status) + ")");
  if (result.status < 200 || result.status > 299)
    return fail(codes.http, "the upstream answered HTTP " + std::to_string(result.status));
  return std::nullopt;
}

bool parse_object(std::string_view text, rapidjson::Document& out) {
  out.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  return !out.HasParseError() && out.IsObject();
}

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto found = object.FindMember(name);
  return found == object.MemberEnd() ? nullptr : &found->value;
}

std::string_view as_view(const rapidjson::Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

size_t count_code_points(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation
  return count;
}

std::string_view first_code_points(std::string_view text, size_t limit) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (count++ == limit) return text.substr(0, i);
  }
  return text;
}

RouteHandlerPtr make_tool_handler(upstream_actor upstream, XfyunEndpoint endpoint, Tool tool) {
  return std::make_shared<ToolHandler>(std::move(upstream), std::move(endpoint), std::move(tool));
}

}  // namespace aitools::services
