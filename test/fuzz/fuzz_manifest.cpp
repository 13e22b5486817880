// Fuzz target: parse_manifest, compile_manifest (${KEY} rendering and the builtin kinds'
// option validation) and the compiled handlers.
//
// Input: a manifest, optionally followed by a NUL byte and a request body; each compiled
// route then answers a request with that body, its path parameters cut from the body too.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "config/manifest.hpp"
#include "test/fuzz/fuzz_check.hpp"

using namespace aitools;

namespace {

const config::ConfigSnapshot& fuzz_config() {
  static const config::ConfigSnapshot config = [] {
    config::ConfigSnapshot snapshot;
    // A value that looks like a variable or a placeholder must be inserted as it is.
    snapshot.values = {{"GREETING", "hello"},
                       {"EMPTY", ""},
                       {"SELF", "${SELF}"},
                       {"TRICKY", "\"{name}\\\n"},
                       {"STATUS", "404"}};
    snapshot.overrides = {{"FLAG", "from the command line"}};
    snapshot.environment = [](const std::string& key) -> std::optional<std::string> {
      if (key == "FROM_ENV") return "from the environment";
      return std::nullopt;
    };
    return snapshot;
  }();
  return config;
}

struct FuzzRequest final : http::Request {
  std::string_view path_text;
  std::string_view content;

  std::string_view method() const override { return "POST"; }
  std::string_view path() const override { return path_text; }
  http::HeaderList query() const override { return {{"q", std::string(content)}}; }
  http::HeaderList headers() const override { return {{"Content-Type", "application/json"}}; }
  std::optional<std::string> header(std::string_view name) const override {
    if (http::iequals(name, "Content-Type")) return "application/json";
    return std::nullopt;
  }
  std::string_view body() const override { return content; }
};

// The builtin kinds answer at once; a kind that defers fails the has_value check below.
struct NoDeferral final : http::Deferral {
  http::CompletionPtr defer() override { return nullptr; }
};

bool parses_as_json(const std::string& text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return !document.HasParseError();
}

void check_parsed(const config::Manifest& manifest) {
  FUZZ_CHECK(!manifest.name.empty());
  FUZZ_CHECK(manifest.prefix.empty() ||
             (manifest.prefix.front() == '/' && manifest.prefix.back() != '/'));
  // parse_manifest refuses conflicts inside the file, so the router must take every route.
  http::Router router;
  for (size_t i = 0; i < manifest.routes.size(); ++i) {
    const config::RouteSpec& route = manifest.routes[i];
    FUZZ_CHECK(!route.methods.empty() && !route.kind.empty());
    FUZZ_CHECK(route.pattern.text().compare(0, manifest.prefix.size(), manifest.prefix) == 0);
    FUZZ_CHECK(!route.options || route.options->IsObject());
    FUZZ_CHECK(router.add(route.pattern, route.methods, static_cast<uint32_t>(i)));
  }
}

void check_answer(const http::Response& response) {
  FUZZ_CHECK(response.status >= 100 && response.status <= 599);
  FUZZ_CHECK(response.content_type.find_first_of("\r\n") == std::string::npos);
  for (const auto& [name, value] : response.headers) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
  }
  if (response.content_type == "application/json") FUZZ_CHECK(parses_as_json(response.body));
}

// Answers one request on every route; the parameter values are slices of `body`, so
// quotes, backslashes and control bytes land in the JSON templates.
void answer(const config::CompiledService& service, std::string_view body) {
  for (const config::CompiledRoute& route : service.routes) {
    const std::vector<std::string> names = route.pattern.param_names();
    http::Params params;
    for (size_t i = 0; i < names.size(); ++i)
      params.emplace_back(names[i], body.substr(std::min(i, body.size())));
    FuzzRequest request;
    request.path_text = route.pattern.text();
    request.content = body;
    NoDeferral deferral;
    const std::optional<http::Response> response = route.handler->handle(request, params, deferral);
    FUZZ_CHECK(response.has_value());
    check_answer(*response);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  const std::string_view body = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  config::Manifest manifest;
  std::string error;
  if (!config::parse_manifest(text, "fuzz", manifest, error)) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  check_parsed(manifest);

  config::CompiledService service;
  if (!config::compile_manifest(manifest, fuzz_config(), services::Catalog::builtin(), service,
                                error)) {
    FUZZ_CHECK(error.compare(0, 7, "routes[") == 0);
    return 0;
  }
  FUZZ_CHECK(service.name == manifest.name);
  FUZZ_CHECK(service.routes.size() == (manifest.enabled ? manifest.routes.size() : 0));
  for (const auto& [key, value] : service.used_vars)
    FUZZ_CHECK(value && fuzz_config().lookup(key) == *value);
  answer(service, body);
  return 0;
}
