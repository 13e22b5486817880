// Fuzz target: PathPattern::parse, Router::add / Router::match and percent_decode.
//
// Input: lines. Up to the first empty line, route patterns "[METHOD[,METHOD...] ]PATTERN"
// (GET when the line starts with '/'); after it, requests "[METHOD ]PATH". Every match is
// compared with a brute-force model of docs/manifests.md ("Paths and precedence"): each
// registered shape is tried on its own and the most specific one wins, literal < {param} <
// {param*} segment by segment, a pattern that ends before a {rest*} one wins over it.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"
#include "test/fuzz/fuzz_check.hpp"

using namespace aitools::http;

namespace {

constexpr size_t kMaxPatterns = 32;
constexpr size_t kMaxRequests = 32;

// "a//b/" -> {"a", "", "b", ""}: every separator ends a part, and what follows the last one
// is a part too, so empty segments stay visible to the model.
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != separator) continue;
    parts.push_back(text.substr(start, i - start));
    start = i + 1;
  }
  parts.push_back(text.substr(start));
  return parts;
}

// "GET,POST /a" -> ({GET, POST}, "/a"); unknown method names are dropped. A line without a
// method part means GET.
std::pair<MethodSet, std::string_view> methods_and_text(std::string_view line) {
  MethodSet methods;
  if (line.empty() || line.front() == '/') {
    methods.add(Method::GET);
    return {methods, line};
  }
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return {methods, line};
  for (std::string_view name : split(line.substr(0, space), ','))
    if (auto method = parse_method(name)) methods.add(*method);
  return {methods, line.substr(space + 1)};
}

// One registered shape in the model: what its patterns look like and which route serves
// each method, with HEAD answered by GET unless HEAD was declared.
struct ModelShape {
  std::vector<PathSegment> segments;
  MethodSet declared;
  std::array<std::optional<uint32_t>, kMethodCount> routes;

  std::optional<uint32_t> route_for(Method method) const {
    const auto& route = routes[static_cast<size_t>(method)];
    if (route || method != Method::HEAD) return route;
    return routes[static_cast<size_t>(Method::GET)];
  }
  MethodSet served() const {
    MethodSet served;
    for (int i = 0; i < kMethodCount; ++i)
      if (route_for(static_cast<Method>(i))) served.add(static_cast<Method>(i));
    return served;
  }
};

// Specificity of a match: one rank per pattern segment, compared lexicographically.
using Rank = std::vector<int>;

struct ModelMatch {
  Rank rank;
  ParamValues params;
};

std::string join(const std::vector<std::string_view>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (i > from) out += '/';
    out += parts[i];
  }
  return out;
}

std::optional<ModelMatch> model_match(const std::vector<PathSegment>& segments,
                                      const std::vector<std::string_view>& raw) {
  ModelMatch match;
  for (size_t i = 0; i < segments.size(); ++i) {
    const PathSegment& segment = segments[i];
    if (segment.kind == PathSegment::Kind::rest) {
      match.rank.push_back(2);
      match.params.push_back(percent_decode(join(raw, i)));
      return match;
    }
    if (i >= raw.size()) return std::nullopt;
    if (segment.kind == PathSegment::Kind::literal) {
      if (percent_decode(raw[i]) != segment.text) return std::nullopt;
      match.rank.push_back(0);
    } else {
      if (raw[i].empty()) return std::nullopt;
      match.rank.push_back(1);
      match.params.push_back(percent_decode(raw[i]));
    }
  }
  if (segments.size() != raw.size()) return std::nullopt;
  return match;
}

void check_against_model(const Router& router, const std::map<std::string, ModelShape>& model,
                         Method method, std::string_view path) {
  ParamValues params{"stale"};
  const MatchResult result = router.match(method, path, params);

  std::vector<std::string_view> raw;  // the path's segments; "/" has none
  if (path.size() > 1) raw = split(path.substr(1), '/');
  MethodSet allow;
  std::optional<ModelMatch> best;
  std::optional<uint32_t> best_route;
  if (!path.empty() && path.front() == '/') {
    for (const auto& [shape, entry] : model) {
      std::optional<ModelMatch> match = model_match(entry.segments, raw);
      if (!match) continue;
      allow = allow | entry.served();
      const std::optional<uint32_t> route = entry.route_for(method);
      if (route && (!best || match->rank < best->rank)) {
        best = std::move(match);
        best_route = route;
      }
    }
  }

  if (best) {
    FUZZ_CHECK(result.status == MatchResult::Status::found);
    FUZZ_CHECK(result.route == *best_route);
    FUZZ_CHECK(params == best->params);
    return;
  }
  FUZZ_CHECK(params.empty());
  if (allow.empty()) {
    FUZZ_CHECK(result.status == MatchResult::Status::not_found);
  } else {
    FUZZ_CHECK(result.status == MatchResult::Status::method_not_allowed);
    FUZZ_CHECK(result.allow == allow);
    FUZZ_CHECK(!allow.has(method));
  }
}

void check_percent_decode(std::string_view text) {
  const std::string decoded = percent_decode(text);
  FUZZ_CHECK(decoded.size() <= text.size());
  if (text.find('%') == std::string_view::npos) FUZZ_CHECK(decoded == text);
  // Every byte escaped decodes back to the original.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : text) encoded += {'%', kHex[c >> 4], kHex[c & 0xf]};
  FUZZ_CHECK(percent_decode(encoded) == text);
}

// Returns the parsed pattern after checking what parse promises about it.
std::optional<PathPattern> parse_pattern(std::string_view text) {
  PathPattern pattern;
  std::string error;
  if (!PathPattern::parse(text, pattern, error)) {
    FUZZ_CHECK(!error.empty());
    return std::nullopt;
  }
  FUZZ_CHECK(pattern.text() == text);
  PathPattern again;
  FUZZ_CHECK(PathPattern::parse(pattern.text(), again, error));
  FUZZ_CHECK(again.segments() == pattern.segments());
  std::vector<std::string> names = pattern.param_names();
  std::sort(names.begin(), names.end());
  FUZZ_CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  return pattern;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> lines = split(input, '\n');
  const auto blank = std::find(lines.begin(), lines.end(), std::string_view());

  Router router;
  std::map<std::string, ModelShape> model;  // by shape: same shape, same paths
  size_t registrations = 0;
  uint32_t route = 0;
  for (auto line = lines.begin(); line != blank && route < kMaxPatterns; ++line, ++route) {
    const auto [methods, text] = methods_and_text(*line);
    std::optional<PathPattern> pattern = parse_pattern(text);
    if (!pattern) continue;
    ModelShape& entry = model[pattern->shape()];
    if (entry.segments.empty()) entry.segments = pattern->segments();
    const bool conflict = !(entry.declared & methods).empty();
    FUZZ_CHECK(router.add(*pattern, methods, route) == !conflict);
    if (conflict) continue;
    entry.declared = entry.declared | methods;
    for (int i = 0; i < kMethodCount; ++i) {
      if (!methods.has(static_cast<Method>(i))) continue;
      entry.routes[i] = route;
      ++registrations;
    }
  }
  FUZZ_CHECK(router.size() == registrations);

  size_t requests = 0;
  for (auto line = blank == lines.end() ? blank : blank + 1;
       line != lines.end() && requests < kMaxRequests; ++line, ++requests) {
    const auto [methods, path] = methods_and_text(*line);
    check_percent_decode(path);
    for (int i = 0; i < kMethodCount; ++i)
      if (methods.has(static_cast<Method>(i)))
        check_against_model(router, model, static_cast<Method>(i), path);
  }
  return 0;
}
