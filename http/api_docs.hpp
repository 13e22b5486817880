#pragma once
// GET /openapi.json and the Swagger UI page /docs on the main listener (docs/openapi.md).
// Everything they answer is made off the request path, once per generation or config change,
// and held in the served state; a request only picks a ready response.
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/method.hpp"
#include "http/request.hpp"

namespace aitools {
struct ServedState;
}

namespace aitools::http {

// GET /openapi.json's document of one route table. A large table's document is built after the
// state it describes is served, so that it never delays a swap: the served state holds it
// empty, one builder fills it once, and requests read it without a lock.
class OpenApiDocument {
 public:
  // Tables up to this many routes are described within the pass (about 1 ms per 1,000).
  static constexpr size_t kInlineRoutes = 2000;

  // The document; null until it was filled.
  const std::string* text() const {
    return ready_.load(std::memory_order_acquire) ? &text_ : nullptr;
  }
  // True for the first caller only: the one that builds and fills the document.
  bool claim() { return !claimed_.exchange(true); }
  // Once, by the claimant.
  void fill(std::string text) {
    text_ = std::move(text);
    ready_.store(true, std::memory_order_release);
  }

 private:
  std::string text_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> claimed_{false};
};
using OpenApiDocumentPtr = std::shared_ptr<OpenApiDocument>;

// Builds the document of `state`'s routes into its (claimed) OpenApiDocument.
void fill_openapi(const ServedState& state);

// The /docs page and Swagger UI's files, read from one directory.
struct DocsAssets {
  std::vector<std::string> dirs;  // where they were looked for (resolve_docs_ui_dirs)
  std::string title;              // OPENAPI_TITLE, in the page's <title>
  std::string dir;                // where they were found; "" when they were not
  std::string error;              // why /docs answers 503 (for the log); "" when the files are there
  struct File {
    std::string path;  // "/docs/swagger-ui.css"
    Response response;
  };
  std::vector<File> files;  // the page under "/docs", "/docs/" and "/docs/index.html", and the assets
};
using DocsAssetsPtr = std::shared_ptr<const DocsAssets>;

// Reads Swagger UI's files from the first of `dirs` that has them. Missing or unreadable
// files make an `error` naming the directories and how to install them, logged once.
DocsAssetsPtr load_docs_assets(const std::vector<std::string>& dirs, const std::string& title);

// Fills next.openapi and next.docs (null while DOCS_ENABLE is false), reusing those of
// `previous` when what they are made from did not change: the route table and the title for
// the document; the directories and the title for the files (and only once they were found:
// until then every pass looks again, so installing them needs no restart). A new document of
// up to OpenApiDocument::kInlineRoutes routes is built here; a larger one is left unclaimed,
// for the caller to have it built once the state is served (until then /openapi.json answers
// 503). Returns whether
// /docs now answers differently although no setting changed (its files were found): a state
// the front must get even if nothing else changed.
bool describe_api(ServedState& next, const ServedState* previous);

// The answer of the main listener to `method` on `path` when no route matched: the API docs
// when `path` is theirs and DOCS_ENABLE is true, else nothing (the caller answers 404).
std::optional<Response> api_docs_response(const ServedState& state, Method method,
                                          std::string_view path);

}  // namespace aitools::http
