#pragma once
// The request and response values service kinds work with, independent of Pistache.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aitools::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A read-only view of one HTTP request. The HTTP adapter implements it over a Pistache
// request; tests implement it directly. Only valid during RouteHandler::handle.
class Request {
 public:
  virtual ~Request() = default;
  virtual std::string_view method() const = 0;    // "GET"
  virtual std::string_view path() const = 0;      // raw path, without the query string
  virtual HeaderList query() const = 0;           // decoded query parameters
  virtual HeaderList headers() const = 0;         // header names as received
  virtual std::optional<std::string> header(std::string_view name) const = 0;  // case-insensitive
  virtual std::string_view body() const = 0;
};

// Path parameters of the matched route: (name, percent-decoded value), in pattern order.
using Params = std::vector<std::pair<std::string_view, std::string_view>>;

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type header
  HeaderList headers;        // extra headers
  std::string body;
  std::chrono::milliseconds delay{0};  // send after this delay, blocking no thread
};

// The answer to a request that is computed elsewhere (in an actor, after upstream I/O).
// Complete it once, from any thread; later calls are ignored. A Completion dropped without
// an answer answers 500, so no request is left hanging.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void complete(Response response) = 0;
};
using CompletionPtr = std::shared_ptr<Completion>;

// Offered to a handler with each request: defer() takes the request's Completion (once), and
// the handler then answers through it instead of returning a response.
class Deferral {
 public:
  virtual CompletionPtr defer() = 0;

 protected:
  ~Deferral() = default;
};

// ASCII case-insensitive equality (header names).
bool iequals(std::string_view a, std::string_view b);

// RFC 9110 token: what a header name may be made of (letters, digits, !#$%&'*+-.^_`|~).
bool is_token(std::string_view text);

// Appends `s` to `out` with JSON string escaping (no surrounding quotes).
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace aitools::http
