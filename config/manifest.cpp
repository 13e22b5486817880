#include "config/manifest.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "services/request_schema.hpp"

namespace aitools::config {

namespace {

using rapidjson::Value;

std::string_view as_view(const Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

bool is_ascii_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_ascii_alnum(char c) { return is_ascii_alpha(c) || (c >= '0' && c <= '9'); }
bool is_key_start(char c) { return is_ascii_alpha(c) || c == '_'; }
bool is_key_char(char c) { return is_ascii_alnum(c) || c == '_' || c == '.'; }

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

template <typename Strings>
std::string join(const Strings& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string compact_json(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

// What a message says was found instead: `7`, `"abc"`, `an object`.
std::string describe(const Value& value) {
  if (value.IsObject()) return "an object";
  if (value.IsArray()) return "an array";
  std::string text = compact_json(value);
  constexpr size_t kMaxShown = 60;
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown - 3) + "...";
  return text;
}

// "expected <what>, got <found>", or "missing; expected <what>" when there is nothing.
std::string expected(const std::string& what, const Value* found) {
  return found ? "expected " + what + ", got " + describe(*found) : "missing; expected " + what;
}

// "<path>: <message>", or the message alone for the top-level object.
std::string at(const std::string& path, const std::string& message) {
  return path.empty() ? message : path + ": " + message;
}

std::string field_path(const std::string& path, std::string_view field) {
  return path.empty() ? std::string(field) : path + "." + std::string(field);
}

std::string index_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

const Value* find_member(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// Rejects fields not in `allowed`, and repeated fields (rapidjson keeps both, but lookups
// would silently see only the first).
bool check_fields(const Value& object, const std::string& path,
                  std::initializer_list<std::string_view> allowed, std::string& error) {
  for (auto member = object.MemberBegin(); member != object.MemberEnd(); ++member) {
    const std::string_view name = as_view(member->name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      error = at(path, "unknown field \"" + std::string(name) + "\"; expected one of " + join(allowed));
      return false;
    }
  }
  return true;  // repeated fields were refused after parsing (find_repeated_key)
}

std::string syntax_error(std::string_view text, const rapidjson::Document& document) {
  size_t offset = std::min(document.GetErrorOffset(), text.size());
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
         rapidjson::GetParseError_En(document.GetParseError());
}

// Deeper documents are refused: they are never a sensible manifest, and code that walks a
// document recursively (serializers, kinds) must not be able to exhaust a thread's stack.
constexpr int kMaxNesting = 64;

// Whether `value` nests deeper than `limit` arrays/objects; recursion is bounded by `limit`.
bool nests_deeper_than(const Value& value, int limit) {
  if (!value.IsArray() && !value.IsObject()) return false;
  if (limit == 0) return true;
  if (value.IsArray()) {
    for (const auto& item : value.GetArray())
      if (nests_deeper_than(item, limit - 1)) return true;
    return false;
  }
  for (const auto& member : value.GetObject())
    if (nests_deeper_than(member.value, limit - 1)) return true;
  return false;
}

// Finds an object that repeats a key: `key`, and in `where` the object's path. RapidJSON keeps
// every copy and lookups take the first, while other JSON tools take the last: a repeated key
// is refused rather than read one way silently. Call after nests_deeper_than (bounded depth).
// The path is built only on the way out of a find, so the common case allocates nothing.
bool find_repeated_key(const Value& value, std::string& where, std::string& key) {
  const auto prepend = [&where](std::string segment) {
    if (!where.empty() && where.front() != '[') segment += '.';
    where = segment + where;
  };
  if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      if (!find_repeated_key(value[i], where, key)) continue;
      prepend("[" + std::to_string(i) + "]");
      return true;
    }
    return false;
  }
  if (!value.IsObject()) return false;
  // Small objects (nearly all) compare pairwise; large ones use a set, so no input is quadratic.
  constexpr rapidjson::SizeType kPairwise = 16;
  std::unordered_set<std::string_view> seen;
  for (auto member = value.MemberBegin(); member != value.MemberEnd(); ++member) {
    const std::string_view name = as_view(member->name);
    bool repeated = false;
    if (value.MemberCount() <= kPairwise) {
      for (auto earlier = value.MemberBegin(); earlier != member && !repeated; ++earlier)
        repeated = as_view(earlier->name) == name;
    } else {
      repeated = !seen.insert(name).second;
    }
    if (repeated) {
      where.clear();
      key = name;
      return true;
    }
    if (!find_repeated_key(member->value, where, key)) continue;
    prepend(std::string(name));
    return true;
  }
  return false;
}

bool is_valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return is_ascii_alnum(c) || c == '_' || c == '.' || c == '-';
  });
}

std::string known_methods() {
  http::MethodSet all;
  for (int i = 0; i < http::kMethodCount; ++i) all.add(static_cast<http::Method>(i));
  return all.to_string();
}

// The method `value` names, or nothing and what is wrong with it in `problem`.
std::optional<http::Method> method_named(const Value& value, std::string& problem) {
  if (!value.IsString()) {
    problem = expected("a method name", &value);
    return std::nullopt;
  }
  auto method = http::parse_method(as_view(value));
  if (!method)
    problem = "unknown method " + describe(value) + "; expected one of " + known_methods();
  return method;
}

// `route_path`: the route's own path; the field's is built only for an error.
bool parse_methods(const Value& value, const std::string& route_path, http::MethodSet& out,
                   std::string& error) {
  std::string problem;
  if (value.IsString()) {
    const auto method = method_named(value, problem);
    if (!method) {
      error = at(field_path(route_path, "method"), problem);
      return false;
    }
    out.add(*method);
    return true;
  }
  const std::string path = field_path(route_path, "method");
  if (!value.IsArray() || value.Empty()) {
    error = at(path, expected("a method name or a non-empty array of them", &value));
    return false;
  }
  for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
    const auto method = method_named(value[i], problem);
    if (method && out.has(*method)) problem = "duplicate method " + describe(value[i]);
    if (!problem.empty()) {
      error = at(index_path(path, i), problem);
      return false;
    }
    out.add(*method);
  }
  return true;
}

// `request`: an object of JSON Schemas; compile_manifest checks the schemas themselves.
bool parse_request(const Value& route, const std::string& path, RouteSpec& out,
                   std::string& error) {
  const Value* request = find_member(route, "request");
  if (!request) return true;
  const std::string request_path = field_path(path, "request");
  if (!request->IsObject()) {
    error = at(request_path, expected("an object of JSON Schemas", request));
    return false;
  }
  if (!check_fields(*request, request_path, {"query", "headers", "body"}, error)) return false;
  for (const auto& part : request->GetObject()) {
    if (!part.value.IsObject()) {
      error = at(field_path(request_path, as_view(part.name)),
                 expected("a JSON Schema object", &part.value));
      return false;
    }
  }
  out.request = request;
  return true;
}

bool parse_text(const Value& route, const std::string& path, const char* field, std::string& out,
                std::string& error) {
  const Value* text = find_member(route, field);
  if (!text) return true;
  if (!text->IsString()) {
    error = at(field_path(path, field), expected("a string", text));
    return false;
  }
  out = as_view(*text);
  return true;
}

// `summary`, `description` and `tags`: what the OpenAPI document says about the route.
bool parse_doc(const Value& route, const std::string& path, RouteSpec& out, std::string& error) {
  if (!parse_text(route, path, "summary", out.summary, error) ||
      !parse_text(route, path, "description", out.description, error))
    return false;
  const Value* tags = find_member(route, "tags");
  if (!tags) return true;
  const std::string tags_path = field_path(path, "tags");
  if (!tags->IsArray()) {
    error = at(tags_path, expected("an array of strings", tags));
    return false;
  }
  for (rapidjson::SizeType i = 0; i < tags->Size(); ++i) {
    if (!(*tags)[i].IsString()) {
      error = at(index_path(tags_path, i), expected("a string", &(*tags)[i]));
      return false;
    }
    out.tags.emplace_back(as_view((*tags)[i]));
  }
  return true;
}

bool parse_route(const Value& route, const std::string& path, const std::string& prefix,
                 RouteSpec& out, std::string& error) {
  if (!route.IsObject()) {
    error = at(path, expected("a route object", &route));
    return false;
  }
  if (!check_fields(route, path,
                    {"method", "path", "kind", "options", "request", "summary", "description",
                     "tags"},
                    error))
    return false;

  const Value* method = find_member(route, "method");
  if (!method) {
    error = at(field_path(path, "method"), expected("a method name or an array of them", nullptr));
    return false;
  }
  if (!parse_methods(*method, path, out.methods, error)) return false;

  const Value* text = find_member(route, "path");
  std::string_view relative = text && text->IsString() ? as_view(*text) : std::string_view();
  // Checked before prefixing: "/v1" + "hello" would otherwise pass as "/v1hello".
  if (relative.empty() || relative.front() != '/') {
    error = at(field_path(path, "path"), expected("a path starting with '/'", text));
    return false;
  }
  // "/" under a prefix is the prefix itself ("/v1", not "/v1/").
  std::string full = relative == "/" && !prefix.empty() ? prefix : prefix + std::string(relative);
  std::string pattern_error;
  if (!http::PathPattern::parse(full, out.pattern, pattern_error)) {
    error = at(field_path(path, "path"),
               prefix.empty() ? pattern_error : "\"" + full + "\": " + pattern_error);
    return false;
  }

  const Value* kind = find_member(route, "kind");
  if (!kind || !kind->IsString() || kind->GetStringLength() == 0) {
    error = at(field_path(path, "kind"), expected("the name of a service kind", kind));
    return false;
  }
  out.kind = as_view(*kind);

  out.options = find_member(route, "options");
  if (out.options && !out.options->IsObject()) {
    error = at(field_path(path, "options"), expected("an object", out.options));
    return false;
  }
  return parse_request(route, path, out, error) && parse_doc(route, path, out, error);
}

// Two routes of the same shape answer the same paths, so they must not share a method.
// One lookup per route (a file may hold very many): per shape, which route declared each
// method; the first declaring route that overlaps is the one named.
bool check_conflicts(const std::vector<RouteSpec>& routes, std::string& error) {
  // Keys view the patterns' own shapes.
  std::unordered_map<std::string_view, std::array<std::optional<size_t>, http::kMethodCount>>
      declared;
  declared.reserve(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    const std::string& shape = routes[i].pattern.shape();
    auto& owners = declared[shape];
    std::optional<size_t> earlier;
    for (int m = 0; m < http::kMethodCount; ++m) {
      const std::optional<size_t>& owner = owners[m];
      if (routes[i].methods.has(static_cast<http::Method>(m)) && owner &&
          (!earlier || *owner < *earlier))
        earlier = owner;
    }
    if (earlier) {
      http::MethodSet overlap = routes[i].methods & routes[*earlier].methods;
      error = at(index_path("routes", i), overlap.to_string() + " " + shape +
                                              " is already declared by " +
                                              index_path("routes", *earlier));
      return false;
    }
    for (int m = 0; m < http::kMethodCount; ++m)
      if (routes[i].methods.has(static_cast<http::Method>(m))) owners[m] = i;
  }
  return true;
}

using UsedVars = std::map<std::string, std::optional<std::string>>;

// Whether a string value of `value` (keys aside) holds "${".
bool mentions_vars(const Value& value) {
  if (value.IsString()) return as_view(value).find("${") != std::string_view::npos;
  if (value.IsObject()) {
    for (const auto& member : value.GetObject())
      if (mentions_vars(member.value)) return true;
  } else if (value.IsArray()) {
    for (const auto& item : value.GetArray())
      if (mentions_vars(item)) return true;
  }
  return false;
}

// Renders ${KEY} in every string value of `value`; object keys stay as written. On failure,
// `missing` is the key and `where` the failing value's path below `value` (".a[2]"), built
// on the way out so that success allocates no path.
bool render_value(Value& value, rapidjson::Document::AllocatorType& allocator,
                  const ConfigSnapshot& config, UsedVars& used, std::string& missing,
                  std::string& where) {
  if (value.IsString()) {
    if (as_view(value).find("${") == std::string_view::npos) return true;
    std::string rendered;
    if (!render_vars(as_view(value), config, rendered, used, missing)) return false;
    value.SetString(rendered.data(), static_cast<rapidjson::SizeType>(rendered.size()), allocator);
  } else if (value.IsObject()) {
    for (auto member = value.MemberBegin(); member != value.MemberEnd(); ++member) {
      if (render_value(member->value, allocator, config, used, missing, where)) continue;
      where = "." + std::string(as_view(member->name)) + where;
      return false;
    }
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      if (render_value(value[i], allocator, config, used, missing, where)) continue;
      where = "[" + std::to_string(i) + "]" + where;
      return false;
    }
  }
  return true;
}

// Kinds name errors relative to the options object: "status: ..." or "[0]: ...".
std::string options_error(const std::string& options_path, const std::string& kind_error) {
  bool joins_directly = !kind_error.empty() && (kind_error[0] == '.' || kind_error[0] == '[');
  return options_path + (joins_directly ? "" : ".") + kind_error;
}

// `buffer`: scratch space, reused from route to route.
uint64_t route_fingerprint(const RouteSpec& route, const Value* options,
                           rapidjson::StringBuffer& buffer) {
  buffer.Clear();
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  const auto string = [&writer](std::string_view text) {
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  writer.StartArray();
  string(route.kind);
  options ? options->Accept(writer) : writer.Null();
  route.request ? route.request->Accept(writer) : writer.Null();
  string(route.summary);
  string(route.description);
  writer.StartArray();
  for (const std::string& tag : route.tags) string(tag);
  writer.EndArray();
  writer.EndArray();
  return std::hash<std::string_view>{}(std::string_view(buffer.GetString(), buffer.GetSize()));
}

// The route's request schemas, part by part from its `request` block, else from the kind's
// own contract; each schema's text goes into `doc`.
bool compile_request(const RouteSpec& route, const services::ServiceKind& kind,
                     const std::string& path, services::RequestSchemas& schemas,
                     http::RouteDoc& doc, std::string& error) {
  std::optional<rapidjson::Document> defaults;  // most kinds have no contract
  if (const std::string_view text = kind.default_request(); !text.empty()) {
    defaults.emplace().Parse(text.data(), text.size());
    if (defaults->HasParseError() || !defaults->IsObject()) {  // a bug in the kind
      error = path + ".kind: the request contract of kind \"" + route.kind +
              "\" is not a JSON object";
      return false;
    }
  }
  struct Part {
    const char* name;
    services::RequestPart part;
    services::RequestSchemaPtr& compiled;
    std::string& text;
  };
  const Part parts[] = {{"query", services::RequestPart::query, schemas.query, doc.query_schema},
                        {"headers", services::RequestPart::headers, schemas.headers,
                         doc.headers_schema},
                        {"body", services::RequestPart::body, schemas.body, doc.body_schema}};
  for (const Part& part : parts) {
    const Value* schema = route.request ? find_member(*route.request, part.name) : nullptr;
    const bool from_kind = !schema && defaults;
    if (from_kind) schema = find_member(*defaults, part.name);
    if (!schema) continue;
    std::string schema_error;
    part.compiled = services::compile_request_schema(part.part, *schema, schema_error);
    if (!part.compiled) {
      error = from_kind ? path + ".kind: the request contract of kind \"" + route.kind +
                              "\": " + part.name + ": " + schema_error
                        : path + ".request." + part.name + ": " + schema_error;
      return false;
    }
    part.text = compact_json(*schema);
  }
  return true;
}

bool documents_anything(const http::RouteDoc& doc) {
  return !doc.summary.empty() || !doc.description.empty() || !doc.tags.empty() ||
         !doc.query_schema.empty() || !doc.headers_schema.empty() || !doc.body_schema.empty();
}

}  // namespace

bool parse_manifest(std::string_view text, std::string_view default_name, Manifest& out,
                    std::string& error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    error = "the file is empty; expected a JSON object with a \"routes\" array";
    return false;
  }
  auto document = std::make_shared<rapidjson::Document>();
  // Iterative parsing: no input can recurse the parser into a stack overflow.
  document->Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (document->HasParseError()) {
    error = syntax_error(text, *document);
    return false;
  }
  if (nests_deeper_than(*document, kMaxNesting)) {
    error = "the document nests arrays/objects deeper than " + std::to_string(kMaxNesting) +
            " levels; expected a flatter manifest";
    return false;
  }
  std::string repeated_at, repeated_key;
  if (find_repeated_key(*document, repeated_at, repeated_key)) {
    error = at(repeated_at, "field \"" + repeated_key + "\" appears more than once");
    return false;
  }
  const Value& root = *document;
  if (!root.IsObject()) {
    error = expected("a JSON object with a \"routes\" array", &root);
    return false;
  }
  if (!check_fields(root, "", {"name", "enabled", "prefix", "routes"}, error)) return false;

  Manifest manifest;
  const Value* name = find_member(root, "name");
  if (name) {
    if (!name->IsString() || !is_valid_name(as_view(*name))) {
      error = "name: " + expected("a non-empty name of letters, digits, '_', '.' and '-'", name);
      return false;
    }
    manifest.name = as_view(*name);
  } else {
    if (!is_valid_name(default_name)) {
      error = "name: missing, and the file name \"" + std::string(default_name) +
              "\" is not a valid name (letters, digits, '_', '.' and '-'); add a \"name\" field";
      return false;
    }
    manifest.name = default_name;
  }

  if (const Value* enabled = find_member(root, "enabled")) {
    if (!enabled->IsBool()) {
      error = "enabled: " + expected("true or false", enabled);
      return false;
    }
    manifest.enabled = enabled->GetBool();
  }

  if (const Value* prefix = find_member(root, "prefix")) {
    std::string_view value = prefix->IsString() ? as_view(*prefix) : std::string_view();
    bool valid =
        prefix->IsString() && (value.empty() || (value.front() == '/' && value.back() != '/'));
    if (!valid) {
      error =
          "prefix: " + expected("\"\" or a path starting with '/' and not ending with '/'", prefix);
      return false;
    }
    manifest.prefix = value;
  }

  const Value* routes = find_member(root, "routes");
  if (!routes || !routes->IsArray()) {
    error = "routes: " + expected("an array of routes", routes);
    return false;
  }
  manifest.routes.resize(routes->Size());
  for (rapidjson::SizeType i = 0; i < routes->Size(); ++i) {
    if (!parse_route((*routes)[i], index_path("routes", i), manifest.prefix, manifest.routes[i],
                     error))
      return false;
  }
  if (!check_conflicts(manifest.routes, error)) return false;

  manifest.document = std::move(document);
  out = std::move(manifest);
  return true;
}

bool compile_manifest(const Manifest& manifest, const ConfigSnapshot& config,
                      const services::Catalog& catalog, CompiledService& out, std::string& error) {
  CompiledService service;
  service.name = manifest.name;
  service.enabled = manifest.enabled;
  const std::string base_dir = std::filesystem::path(config.path).parent_path().string();
  // One allocator for every route's rendered options, emptied per route: a Document of its own
  // would take (and give back) a 64 KiB chunk per route, which at 100k routes cost the pass a
  // page fault storm.
  char render_buffer[4096];
  rapidjson::MemoryPoolAllocator<> render_pool(render_buffer, sizeof render_buffer);
  rapidjson::StringBuffer fingerprint_buffer;
  if (manifest.enabled) {
    service.routes.reserve(manifest.routes.size());
    for (size_t i = 0; i < manifest.routes.size(); ++i) {
      const RouteSpec& route = manifest.routes[i];
      const std::string path = index_path("routes", i);
      const auto options_path = [&path] { return path + ".options"; };

      // Kinds copy what they need while compiling, so the rendered copy may die with this loop.
      // Options without ${KEY} are used as they are.
      render_pool.Clear();
      rapidjson::Document rendered(&render_pool);
      const Value* options = route.options;
      if (options && mentions_vars(*options)) {
        rendered.CopyFrom(*route.options, rendered.GetAllocator());
        std::string missing, where;
        if (!render_value(rendered, rendered.GetAllocator(), config, service.used_vars, missing,
                          where)) {
          error = options_path() + where + ": ${" + missing +
                  "} is not set in the config file or the environment";
          return false;
        }
        options = &rendered;
      }

      const services::ServiceKind* kind = catalog.find(route.kind);
      if (!kind) {
        error = path + ".kind: unknown kind \"" + route.kind +
                "\"; known kinds: " + join(catalog.names());
        return false;
      }
      std::string kind_error;
      services::RouteHandlerPtr handler =
          kind->compile(options, {route.pattern.text(), route.pattern.param_names(), base_dir}, kind_error);
      if (!handler) {
        error = options_error(options_path(), kind_error);
        return false;
      }

      http::RouteDoc doc{route.summary, route.description, route.tags, {}, {}, {}};
      services::RequestSchemas schemas;
      if (!compile_request(route, *kind, path, schemas, doc, error)) return false;
      // Routes without schemas keep their handler as it is: nothing to pay per request.
      if (!schemas.empty()) handler = services::validate_requests(std::move(handler), schemas);
      http::RouteDocPtr documented;
      if (documents_anything(doc))
        documented = std::make_shared<const http::RouteDoc>(std::move(doc));
      service.routes.push_back({route.methods, route.pattern, route.kind, std::move(handler),
                                std::move(documented),
                                route_fingerprint(route, options, fingerprint_buffer)});
    }
  }
  out = std::move(service);
  return true;
}

bool render_vars(std::string_view text, const ConfigSnapshot& config, std::string& out,
                 std::map<std::string, std::optional<std::string>>& used, std::string& missing) {
  out.clear();
  size_t pos = 0;  // everything before it is in `out`
  for (size_t start = text.find("${"); start != std::string_view::npos;
       start = text.find("${", start + 2)) {
    size_t end = start + 2;
    if (end < text.size() && is_key_start(text[end])) {
      ++end;
      while (end < text.size() && is_key_char(text[end])) ++end;
    }
    if (end == start + 2 || end >= text.size() || text[end] != '}') continue;  // literal "${"

    std::string key(text.substr(start + 2, end - start - 2));
    std::optional<std::string> value = config.lookup(key);
    used[key] = value;
    if (!value) {
      missing = key;
      return false;
    }
    out.append(text.substr(pos, start - pos));
    out += *value;
    pos = end + 1;
  }
  out.append(text.substr(pos));
  return true;
}

bool is_ignored_manifest_name(std::string_view file_name) {
  // Editor and temporary files ("x.json~", "x.json.tmp", ".x.json.swp") fail the suffix test.
  return !ends_with(file_name, ".json") || file_name.front() == '.';
}

}  // namespace aitools::config
