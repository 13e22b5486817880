#include "http/router.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>

namespace aitools::http {

namespace {

using Kind = PathSegment::Kind;

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// `s` in double quotes, control bytes as \xNN so that error messages stay printable.
std::string in_quotes(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (char c : s) {
    if (is_control(c)) {
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + '"';
}

bool is_name(std::string_view s) {
  auto head = [](char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  auto tail = [&](char c) { return head(c) || (c >= '0' && c <= '9'); };
  return !s.empty() && head(s[0]) && std::all_of(s.begin() + 1, s.end(), tail);
}

// Classifies one segment; on failure returns nullopt and says what was expected in `problem`.
std::optional<PathSegment> parse_segment(std::string_view seg, std::string& problem) {
  if (seg.empty()) {
    problem = "expected a literal or {name}; empty segments (\"//\" or a trailing '/') are not allowed";
    return std::nullopt;
  }
  if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
    std::string_view name = seg.substr(1, seg.size() - 2);
    bool rest = !name.empty() && name.back() == '*';
    if (rest) name.remove_suffix(1);
    if (!is_name(name)) {
      problem = "expected a parameter name matching [A-Za-z_][A-Za-z0-9_]* between the braces";
      return std::nullopt;
    }
    return PathSegment{rest ? Kind::rest : Kind::param, std::string(name)};
  }
  if (seg.find('{') != std::string_view::npos) {
    problem = "a parameter must be a whole segment like {name}";
    return std::nullopt;
  }
  for (char c : seg) {
    if (c == '}' || c == '?' || c == '#' || is_control(c)) {
      problem = in_quotes(std::string_view(&c, 1)) + " is not allowed in a literal segment";
      return std::nullopt;
    }
  }
  return PathSegment{Kind::literal, std::string(seg)};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Appends the percent-decoded `s` to `out`, copying the runs between escapes in one go.
void append_decoded(std::string& out, std::string_view s) {
  size_t run = 0;  // start of the text not yet copied
  for (size_t i = s.find('%'); i != std::string_view::npos; i = s.find('%', i + 1)) {
    if (i + 2 >= s.size()) break;  // truncated escape: kept verbatim
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) continue;  // invalid escape: kept verbatim
    out.append(s, run, i - run);
    out += static_cast<char>(hi * 16 + lo);
    run = i + 3;
    i += 2;
  }
  out.append(s, run);
}

void assign_decoded(std::string& out, std::string_view s) {
  out.clear();
  append_decoded(out, s);
}

size_t count(MethodSet methods) {
  size_t n = 0;
  for (int i = 0; i < kMethodCount; ++i) n += methods.has(static_cast<Method>(i));
  return n;
}

// The routes of the patterns of one shape, by method.
struct Routes {
  std::array<uint32_t, kMethodCount> ids{};  // valid where `served` has the method
  MethodSet declared;                        // registered explicitly
  MethodSet served;                          // declared, plus HEAD where GET

  // Registers `route` for `methods`; false, and no change, if one of them is declared already.
  bool add(MethodSet methods, uint32_t route) {
    if (!(declared & methods).empty()) return false;
    for (int i = 0; i < kMethodCount; ++i)
      if (methods.has(static_cast<Method>(i))) ids[i] = route;
    declared = declared | methods;
    served = served | methods;
    // The implicit HEAD follows GET, but never replaces an explicit HEAD.
    if (methods.has(Method::GET) && !declared.has(Method::HEAD)) {
      ids[static_cast<size_t>(Method::HEAD)] = route;
      served.add(Method::HEAD);
    }
    return true;
  }
};

// The state of one Router::match.
struct Search {
  Method method;
  ParamValues& params;
  MethodSet allow;  // methods of the matching patterns seen so far
  uint32_t route;   // when found

  // Whether `routes` (a matching pattern, if any) serves the method; if so, sizes `params`
  // for the pattern's `param_count` values, which the unwinding search then fills in.
  bool serve(const Routes& routes, size_t param_count) {
    allow = allow | routes.served;
    if (!routes.served.has(method)) return false;
    route = routes.ids[static_cast<size_t>(method)];
    params.resize(param_count);
    return true;
  }
};

}  // namespace

bool PathPattern::parse(std::string_view text, PathPattern& out, std::string& error) {
  if (text.empty() || text[0] != '/') {
    error = "expected the pattern to start with '/', got " + in_quotes(text);
    return false;
  }
  std::vector<PathSegment> segments;
  segments.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '/')));
  // "/" is the root: zero segments. Otherwise each '/' starts a segment.
  for (size_t start = 1, number = 1; text != "/" && start <= text.size(); ++number) {
    if (number > kMaxSegments) {
      error = "expected at most " + std::to_string(kMaxSegments) + " segments";
      return false;
    }
    size_t end = std::min(text.find('/', start), text.size());
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    std::string problem;
    std::optional<PathSegment> seg = parse_segment(raw, problem);
    if (seg && seg->kind == Kind::rest && end != text.size())
      problem = "{name*} must be the last segment";
    else if (seg && seg->kind != Kind::literal &&
             std::any_of(segments.begin(), segments.end(), [&](const PathSegment& s) {
               return s.kind != Kind::literal && s.text == seg->text;
             }))
      problem = "parameter name " + in_quotes(seg->text) + " is already used";
    if (!problem.empty()) {
      error = "segment " + std::to_string(number) + " " + in_quotes(raw) + ": " + problem;
      return false;
    }
    segments.push_back(std::move(*seg));
  }
  auto data = std::make_shared<Data>();
  data->text = std::string(text);
  data->shape = segments.empty() ? "/" : "";
  for (const PathSegment& s : segments) {
    if (s.kind != Kind::literal) data->param_names.push_back(s.text);
    data->shape += '/';
    data->shape += s.kind == Kind::literal ? std::string_view(s.text)
                   : s.kind == Kind::param ? std::string_view("{}")
                                           : std::string_view("{*}");
  }
  data->segments = std::move(segments);
  out.data_ = std::move(data);
  return true;
}

const PathPattern::Data& PathPattern::data() const {
  static const Data root{{}, "", {}, "/"};
  return data_ ? *data_ : root;
}

struct Router::Node {
  std::string literal;  // this node's segment text, when it is a literal child
  // Keys view the children's own `literal`, so lookups by string_view need no allocation.
  std::unordered_map<std::string_view, std::unique_ptr<Node>> literals;
  std::unique_ptr<Node> param;
  Routes here;  // patterns that end at this node
  Routes rest;  // patterns whose {name*} follows this node

  Node* add_literal(const std::string& text) {
    if (auto it = literals.find(text); it != literals.end()) return it->second.get();
    auto child = std::make_unique<Node>();
    child->literal = text;
    Node* raw = child.get();
    literals.emplace(raw->literal, std::move(child));
    return raw;
  }

  const Node* find_literal(std::string_view segment) const {
    if (literals.empty()) return nullptr;
    // Decoding allocates, so only segments with an escape pay for it.
    std::string decoded;
    if (segment.find('%') != std::string_view::npos) segment = decoded = percent_decode(segment);
    auto it = literals.find(segment);
    return it == literals.end() ? nullptr : it->second.get();
  }

  // Depth-first search for the most specific pattern below this node that serves the
  // method. `tail` is the unmatched rest of the path, every segment with its leading '/';
  // `captured` counts the parameters matched on the way here. On success the parameter
  // values are filled in while unwinding, so abandoned branches cost no copies.
  bool find(std::string_view tail, size_t captured, Search& s) const {
    if (tail.empty() && s.serve(here, captured)) return true;
    if (!tail.empty()) {
      size_t end = std::min(tail.find('/', 1), tail.size());
      std::string_view segment = tail.substr(1, end - 1), next = tail.substr(end);
      const Node* child = find_literal(segment);
      if (child && child->find(next, captured, s)) return true;
      if (param && !segment.empty() && param->find(next, captured + 1, s)) {
        assign_decoded(s.params[captured], segment);
        return true;
      }
    }
    if (s.serve(rest, captured + 1)) {
      assign_decoded(s.params[captured], tail.empty() ? tail : tail.substr(1));
      return true;
    }
    return false;
  }
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

bool Router::add(const PathPattern& pattern, MethodSet methods, uint32_t route) {
  Node* node = root_.get();
  Routes* routes = &node->here;
  for (const PathSegment& seg : pattern.segments()) {
    if (seg.kind == Kind::rest) {
      routes = &node->rest;
      break;
    }
    if (seg.kind == Kind::literal) {
      node = node->add_literal(seg.text);
    } else {
      if (!node->param) node->param = std::make_unique<Node>();
      node = node->param.get();
    }
    routes = &node->here;
  }
  if (!routes->add(methods, route)) return false;
  count_ += count(methods);
  return true;
}

MatchResult Router::match(Method method, std::string_view path, ParamValues& params) const {
  params.clear();
  MatchResult result;
  if (path.empty() || path[0] != '/') return result;
  Search search{method, params, {}, 0};
  // The root "/" has zero segments; any other path is its own tail.
  if (root_->find(path == "/" ? std::string_view() : path, 0, search)) {
    result.status = MatchResult::Status::found;
    result.route = search.route;
  } else if (!search.allow.empty()) {
    result.status = MatchResult::Status::method_not_allowed;
    result.allow = search.allow;
  }
  return result;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_decoded(out, s);
  return out;
}

}  // namespace aitools::http
