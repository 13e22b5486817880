#pragma once
// Path patterns and the route trie.
//
// A pattern is a sequence of segments: literal text, `{name}` (exactly one non-empty
// segment, percent-decoded) or a last segment `{name*}` (the rest of the path without its
// leading '/', percent-decoded, possibly empty). Matching walks the trie segment by segment
// from the left, preferring literal > {param} > {param*} at every step and backtracking, so
// the cost depends on the path's depth, never on the number of routes.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/method.hpp"

namespace aitools::http {

struct PathSegment {
  enum class Kind : uint8_t { literal, param, rest };
  Kind kind;
  std::string text;  // literal text, or the parameter name (without braces and '*')
  bool operator==(const PathSegment& o) const { return kind == o.kind && text == o.text; }
};

class PathPattern {
 public:
  // Parses "/a/{id}/files/{path*}". Rules: starts with '/'; no empty segment except that
  // "/" alone is the root; a segment is either all literal or exactly one `{name}`/`{name*}`;
  // names match [A-Za-z_][A-Za-z0-9_]* and are unique within the pattern; `{name*}` only
  // last; at most kMaxSegments segments. Literal segments must not contain '{', '}', '?' or
  // '#'. On failure returns false and sets `error` to a message that says what was expected.
  static bool parse(std::string_view text, PathPattern& out, std::string& error);

  // Bounds the trie's depth, which the router walks and frees recursively, so that no
  // manifest can exhaust a thread's stack.
  static constexpr size_t kMaxSegments = 128;

  // Immutable once parsed: copies share one parse (a route's pattern is copied from the
  // manifest into the compiled route and into every table that serves it).
  const std::vector<PathSegment>& segments() const { return data().segments; }
  const std::string& text() const { return data().text; }
  // Names of the {param}/{param*} segments in order.
  const std::vector<std::string>& param_names() const { return data().param_names; }
  // The pattern with parameter names erased: "/a/{}/{*}". Two patterns with the same shape
  // match exactly the same paths, so the same method on both is a conflict.
  const std::string& shape() const { return data().shape; }

 private:
  struct Data {
    std::vector<PathSegment> segments;
    std::string text;
    std::vector<std::string> param_names;
    std::string shape;
  };
  const Data& data() const;  // a default-constructed pattern's is the root's, without text
  std::shared_ptr<const Data> data_;
};

// Parameter values captured by a match, in pattern order.
using ParamValues = std::vector<std::string>;

struct MatchResult {
  enum class Status : uint8_t { found, not_found, method_not_allowed };
  Status status = Status::not_found;
  uint32_t route = 0;   // the value given to Router::add, when found
  MethodSet allow;      // when method_not_allowed: methods of every matching pattern (HEAD where GET)
};

// Immutable once built; safe to share between threads for matching.
class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers `route` for `methods` on `pattern`. A GET also answers HEAD unless HEAD is
  // registered explicitly on the same pattern. Returns false if one of the methods is
  // already registered for a pattern of the same shape (the caller resolves conflicts
  // before building, so this is a safety net).
  bool add(const PathPattern& pattern, MethodSet methods, uint32_t route);

  // `path` is the raw request path without the query string. Captured values are
  // percent-decoded and appended to `params` (cleared first).
  MatchResult match(Method method, std::string_view path, ParamValues& params) const;

  size_t size() const { return count_; }  // number of (pattern, method) registrations

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  size_t count_ = 0;
};

// Percent-decoding of one path segment ("%2F" -> "/"). Invalid escapes are kept verbatim.
std::string percent_decode(std::string_view s);

}  // namespace aitools::http
