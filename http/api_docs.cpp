#include "http/api_docs.hpp"

#include "actors/served_state.hpp"
#include "actors/service_set.hpp"
#include "http/openapi.hpp"
#include "http/pistache_adapter.hpp"
#include "util/log.hpp"

namespace aitools::http {

namespace {

constexpr std::string_view kOpenApiPath = "/openapi.json";
constexpr std::string_view kDocsPrefix = "/docs/";
const char* const kPagePaths[] = {"/docs", "/docs/", "/docs/index.html"};

struct Asset {
  const char* name;
  const char* content_type;
  bool required;
};
// The few files of the swagger-ui-dist package the page loads.
constexpr Asset kAssets[] = {
    {"swagger-ui.css", "text/css", true},
    {"swagger-ui-bundle.js", "application/javascript", true},
    {"swagger-ui-standalone-preset.js", "application/javascript", true},
    {"favicon-32x32.png", "image/png", false},
};

std::string html_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Our own page: Swagger UI from /docs/, reading the live document. Absolute URLs, so that it
// works at /docs as well as at /docs/.
std::string index_page(std::string_view title) {
  return R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)" + html_escaped(title) +
         R"( - Swagger UI</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "BaseLayout"
});
</script>
</body>
</html>
)";
}

Response ok(std::string content_type, std::string cache_control, std::string body) {
  return Response{200, std::move(content_type), {{"Cache-Control", std::move(cache_control)}},
                  std::move(body), {}};
}

bool is_docs_path(std::string_view path) {
  for (const char* page : kPagePaths)
    if (path == page) return true;
  if (path.substr(0, kDocsPrefix.size()) != kDocsPrefix) return false;
  for (const Asset& asset : kAssets)
    if (path.substr(kDocsPrefix.size()) == asset.name) return true;
  return false;
}

}  // namespace

DocsAssetsPtr load_docs_assets(const std::vector<std::string>& dirs, const std::string& title) {
  auto assets = std::make_shared<DocsAssets>();
  assets->dirs = dirs;
  assets->title = title;
  std::string missing;  // the first directory's problem, the one the error names
  for (const std::string& dir : dirs) {
    std::vector<DocsAssets::File> files;
    std::string problem;
    for (const Asset& asset : kAssets) {
      const ManifestFile file = read_manifest_file(dir + "/" + asset.name);
      if (file.content) {
        files.push_back({std::string(kDocsPrefix) + asset.name,
                         ok(asset.content_type, "public, max-age=3600", *file.content)});
      } else if (asset.required && problem.empty()) {
        problem = dir + "/" + asset.name + ": " + file.read_error;
      }
    }
    if (problem.empty()) {
      assets->dir = dir;
      assets->files = std::move(files);
      break;
    }
    if (missing.empty()) missing = std::move(problem);
  }
  if (assets->dir.empty()) {
    assets->error = "Swagger UI's files are missing (" + missing + "; looked in " +
                    log::join(dirs, ", ") +
                    "): install them with scripts/install-deps.sh, or set DOCS_UI_DIR to a "
                    "swagger-ui-dist directory";
    return assets;
  }
  const std::string page = index_page(title);
  for (const char* path : kPagePaths)
    assets->files.push_back({path, ok("text/html; charset=utf-8", "no-cache", page)});
  return assets;
}

void fill_openapi(const ServedState& state) {
  state.openapi->fill(
      build_openapi(*state.routes, state.generation, state.config->settings.openapi_title));
}

bool describe_api(ServedState& next, const ServedState* previous) {
  const config::Settings& settings = next.config->settings;
  if (!settings.docs_enable) return false;
  const bool same_title =
      previous && previous->config->settings.openapi_title == settings.openapi_title;
  if (previous && previous->openapi && same_title && previous->routes == next.routes) {
    next.openapi = previous->openapi;
  } else {
    next.openapi = std::make_shared<OpenApiDocument>();
    if (next.routes->routes().size() <= OpenApiDocument::kInlineRoutes && next.openapi->claim())
      fill_openapi(next);
  }

  const DocsAssetsPtr& before = previous ? previous->docs : nullptr;
  const auto dirs = config::resolve_docs_ui_dirs(*next.config);
  if (before && before->error.empty() && before->dirs == dirs && same_title) {
    next.docs = before;
    return false;
  }
  // Looked for again on every pass until found, so installing them needs no restart.
  next.docs = load_docs_assets(dirs, settings.openapi_title);
  const bool same_error = before && before->error == next.docs->error;
  if (!next.docs->error.empty()) {
    if (!same_error) log::warn("docs_unavailable", {{"error", next.docs->error}});
  } else {
    log::info("docs_ui", {{"dir", next.docs->dir}});
  }
  return !same_error;
}

std::optional<Response> api_docs_response(const ServedState& state, Method method,
                                          std::string_view path) {
  if (!state.config->settings.docs_enable) return std::nullopt;
  const bool openapi = path == kOpenApiPath;
  if (!openapi && !is_docs_path(path)) return std::nullopt;
  if (method != Method::GET && method != Method::HEAD) {
    auto response = detail_response(405, "Method Not Allowed");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  if (openapi) {
    if (!state.openapi) return std::nullopt;
    if (const std::string* text = state.openapi->text()) return ok("application/json", "no-cache", *text);
    auto response = detail_response(
        503, "Service Unavailable: the OpenAPI document of generation " +
                 std::to_string(state.generation) + " is being built");
    response.headers.emplace_back("Retry-After", "1");
    return response;
  }
  if (!state.docs) return std::nullopt;
  // The directories searched are in the server's log, not shown to every client.
  if (!state.docs->error.empty())
    return detail_response(503, "Swagger UI's files were not found in DOCS_UI_DIR: install them "
                                "with scripts/install-deps.sh (the server log names the "
                                "directories searched)");
  for (const auto& file : state.docs->files)
    if (file.path == path) return file.response;
  return std::nullopt;  // an optional asset that is not there
}

}  // namespace aitools::http
