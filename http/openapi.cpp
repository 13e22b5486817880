#include "http/openapi.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/utf8.hpp"

namespace aitools::http {

namespace {

// FastAPI's error shapes, which a 422 answer of request validation follows.
constexpr std::string_view kValidationSchemas =
    R"({"HTTPValidationError":{"title":"HTTPValidationError","type":"object","properties":)"
    R"({"detail":{"title":"Detail","type":"array","items":{"$ref":"#/components/schemas/ValidationError"}}}},)"
    R"("ValidationError":{"title":"ValidationError","required":["loc","msg","type"],"type":"object",)"
    R"("properties":{"loc":{"title":"Location","type":"array","items":{"anyOf":[{"type":"string"},)"
    R"({"type":"integer"}]}},"msg":{"title":"Message","type":"string"},"type":{"title":"Error Type",)"
    R"("type":"string"}}}})";

// `s` with every byte that is not part of well-formed UTF-8 replaced: by U+FFFD in text, by
// its percent-escape in a path (what a client sends to reach it).
std::string repair_utf8(std::string_view s, bool percent) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (const size_t length = utf8::sequence(s, i)) {
      out.append(s, i, length);
      i += length;
      continue;
    }
    if (percent) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      const auto byte = static_cast<unsigned char>(s[i]);
      out += {'%', kHex[byte >> 4], kHex[byte & 15]};
    } else {
      out += "\xEF\xBF\xBD";
    }
    ++i;
  }
  return out;
}


// A RapidJSON writer whose strings and keys are always valid UTF-8, usable as the handler of
// Value::Accept (to embed a manifest's schema) and directly.
class JsonOut {
 public:
  explicit JsonOut(size_t capacity) : writer_(buffer_) { buffer_.Reserve(capacity); }

  bool Null() { return writer_.Null(); }
  bool Bool(bool b) { return writer_.Bool(b); }
  bool Int(int i) { return writer_.Int(i); }
  bool Uint(unsigned u) { return writer_.Uint(u); }
  bool Int64(int64_t i) { return writer_.Int64(i); }
  bool Uint64(uint64_t u) { return writer_.Uint64(u); }
  bool Double(double d) { return writer_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return writer_.RawNumber(s, n, copy); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return string({s, n}); }
  bool Key(const char* s, rapidjson::SizeType n, bool) { return key({s, n}); }
  bool StartObject() { return writer_.StartObject(); }
  bool EndObject(rapidjson::SizeType = 0) { return writer_.EndObject(); }
  bool StartArray() { return writer_.StartArray(); }
  bool EndArray(rapidjson::SizeType = 0) { return writer_.EndArray(); }

  bool string(std::string_view s) { return text(s, &Writer::String); }
  bool key(std::string_view s) { return text(s, &Writer::Key); }
  void member(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  // `json` must be valid JSON text that this code wrote itself.
  void raw(std::string_view json, rapidjson::Type type) { writer_.RawValue(json.data(), json.size(), type); }

  std::string take() { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
  bool text(std::string_view s, bool (Writer::*write)(const char*, rapidjson::SizeType, bool)) {
    if (utf8::is_valid(s)) return (writer_.*write)(s.data(), rapidjson::SizeType(s.size()), true);
    const std::string repaired = repair_utf8(s, false);
    return (writer_.*write)(repaired.data(), rapidjson::SizeType(repaired.size()), true);
  }

  rapidjson::StringBuffer buffer_;
  Writer writer_;
};

// The OpenAPI path template of a pattern: "{rest*}" becomes "{rest}".
std::string template_of(const PathPattern& pattern) {
  if (pattern.segments().empty()) return "/";
  std::string out;
  for (const PathSegment& segment : pattern.segments()) {
    out += '/';
    if (segment.kind == PathSegment::Kind::literal) out += repair_utf8(segment.text, true);
    else out += '{' + segment.text + '}';
  }
  return out;
}

bool has_rest(const PathPattern& pattern) {
  return !pattern.segments().empty() &&
         pattern.segments().back().kind == PathSegment::Kind::rest;
}

// A route under the key of its path item, in document order (by key, then as in the table).
struct PathRoute {
  std::string key;
  const RouteEntry* route;
};

// Two patterns may share a template ("/f/{p}" and "/f/{p*}" both read "/f/{p}"): the one
// without a wildcard keeps it, the other is listed under its own text.
std::vector<PathRoute> path_routes(const RouteTable& table) {
  std::vector<PathRoute> out;
  out.reserve(table.routes().size());
  std::vector<size_t> wildcards;
  for (const RouteEntry& route : table.routes()) {
    if (has_rest(route.pattern)) wildcards.push_back(out.size());
    out.push_back({template_of(route.pattern), &route});
  }
  if (!wildcards.empty()) {
    std::unordered_set<std::string_view> plain;
    for (const PathRoute& entry : out)
      if (!has_rest(entry.route->pattern)) plain.insert(entry.key);
    for (size_t i : wildcards)
      if (plain.count(out[i].key)) out[i].key = repair_utf8(out[i].route->pattern.text(), true);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const PathRoute& a, const PathRoute& b) { return a.key < b.key; });
  return out;
}

// "get": OpenAPI's name of an operation's method.
std::string lower_case(Method method) {
  std::string name(to_string(method));
  for (char& c : name) c = static_cast<char>(c - 'A' + 'a');  // method names are letters only
  return name;
}

// Hashes of the operation ids given so far: a hash taken by another id only costs a needless
// suffix, and a set of numbers is far cheaper than one of 100,000 strings.
using TakenIds = std::unordered_set<size_t>;

// "<service>_<method>_<path>" with every run of other characters than [A-Za-z0-9] as one
// '_', made unique with a "_2", "_3"... suffix.
std::string operation_id(const RouteEntry& route, Method method, TakenIds& taken) {
  std::string id;
  const auto append_slug = [&id](std::string_view text) {
    for (char c : text) {
      const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (word) id += c;
      else if (!id.empty() && id.back() != '_') id += '_';
    }
    if (!id.empty() && id.back() != '_') id += '_';
  };
  append_slug(route.service);
  id += lower_case(method) + '_';
  append_slug(route.pattern.text() == "/" ? "root" : route.pattern.text());
  while (!id.empty() && id.back() == '_') id.pop_back();
  const std::hash<std::string> hash;
  if (taken.insert(hash(id)).second) return id;
  for (int n = 2;; ++n)
    if (std::string unique = id + "_" + std::to_string(n); taken.insert(hash(unique)).second)
      return unique;
}

// One route's schemas, parsed once for all of its methods; each is null when the route
// declares none (or, which the manifest loader rules out, when it does not parse).
struct RouteSchemas {
  rapidjson::Document body, query, headers;

  // `pool` holds the parsed values (one allocator for the whole document, not one per route).
  RouteSchemas(const RouteDoc* doc, rapidjson::MemoryPoolAllocator<>& pool)
      : body(rapidjson::kNullType, &pool), query(rapidjson::kNullType, &pool),
        headers(rapidjson::kNullType, &pool) {
    if (!doc) return;
    parse(body, doc->body_schema);
    parse(query, doc->query_schema);
    parse(headers, doc->headers_schema);
  }
  // Some schema checks requests, so they may be answered 422.
  bool validates() const { return !body.IsNull() || !query.IsNull() || !headers.IsNull(); }

 private:
  static void parse(rapidjson::Document& schema, const std::string& text) {
    if (text.empty()) return;
    schema.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
    if (schema.HasParseError()) schema.SetNull();
  }
};

// A parameter per property of an object schema, required per its "required".
void write_schema_parameters(JsonOut& out, const rapidjson::Document& schema, std::string_view in) {
  if (!schema.IsObject()) return;
  const auto properties = schema.FindMember("properties");
  if (properties == schema.MemberEnd() || !properties->value.IsObject()) return;
  std::set<std::string_view> required;
  if (const auto list = schema.FindMember("required");
      list != schema.MemberEnd() && list->value.IsArray())
    for (const auto& name : list->value.GetArray())
      if (name.IsString()) required.emplace(name.GetString(), name.GetStringLength());
  for (const auto& property : properties->value.GetObject()) {
    const std::string_view name(property.name.GetString(), property.name.GetStringLength());
    out.StartObject();
    out.member("name", name);
    out.member("in", in);
    out.key("required");
    out.Bool(required.count(name) > 0);
    if (property.value.IsObject())
      if (const auto text = property.value.FindMember("description");
          text != property.value.MemberEnd() && text->value.IsString())
        out.member("description", {text->value.GetString(), text->value.GetStringLength()});
    out.key("schema");
    property.value.Accept(out);
    out.EndObject();
  }
}

void write_operation(JsonOut& out, const RouteEntry& route, Method method,
                     const RouteSchemas& schemas, TakenIds& ids) {
  const RouteDoc* doc = route.doc.get();
  out.StartObject();
  out.key("tags");
  out.StartArray();
  if (doc && !doc->tags.empty()) {
    for (const auto& tag : doc->tags) out.string(tag);
  } else {
    out.string(route.service);
  }
  out.EndArray();
  if (doc && !doc->summary.empty()) out.member("summary", doc->summary);
  if (doc && !doc->description.empty()) out.member("description", doc->description);
  out.member("operationId", operation_id(route, method, ids));

  out.key("parameters");
  out.StartArray();
  for (const PathSegment& segment : route.pattern.segments()) {
    if (segment.kind == PathSegment::Kind::literal) continue;
    out.StartObject();
    out.member("name", segment.text);
    out.member("in", "path");
    out.key("required");
    out.Bool(true);
    if (segment.kind == PathSegment::Kind::rest)
      out.member("description", "The rest of the path: may contain '/' and be empty.");
    out.key("schema");
    out.raw(R"({"type":"string"})", rapidjson::kObjectType);
    out.EndObject();
  }
  write_schema_parameters(out, schemas.query, "query");
  write_schema_parameters(out, schemas.headers, "header");
  out.EndArray();

  if (!schemas.body.IsNull()) {
    out.key("requestBody");
    out.StartObject();
    out.key("required");
    out.Bool(true);
    out.key("content");
    out.StartObject();
    out.key("application/json");
    out.StartObject();
    out.key("schema");
    schemas.body.Accept(out);
    out.EndObject();
    out.EndObject();
    out.EndObject();
  }

  out.key("responses");
  if (schemas.validates()) {
    out.raw(R"({"200":{"description":"Successful Response"},"422":{"description":"Validation Error",)"
            R"("content":{"application/json":{"schema":{"$ref":"#/components/schemas/HTTPValidationError"}}}}})",
            rapidjson::kObjectType);
  } else {
    out.raw(R"({"200":{"description":"Successful Response"}})", rapidjson::kObjectType);
  }
  out.EndObject();
}

}  // namespace

std::string build_openapi(const RouteTable& table, uint64_t generation, std::string_view title) {
  // About what a route takes without schemas: the buffer grows rarely.
  JsonOut out(table.routes().size() * 256);
  out.StartObject();
  out.member("openapi", "3.0.3");
  out.key("info");
  out.StartObject();
  out.member("title", title);
  out.member("version", "generation " + std::to_string(generation));
  out.EndObject();
  out.key("x-generation");
  out.Uint64(generation);

  bool validates = false;
  rapidjson::MemoryPoolAllocator<> pool;
  out.key("paths");
  out.StartObject();
  const std::vector<PathRoute> routes = path_routes(table);
  TakenIds ids(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    const bool first = i == 0 || routes[i].key != routes[i - 1].key;
    if (first && i > 0) out.EndObject();
    if (first) {
      out.key(routes[i].key);
      out.StartObject();
    }
    const RouteEntry& route = *routes[i].route;
    const RouteSchemas schemas(route.doc.get(), pool);
    validates = validates || schemas.validates();
    for (int m = 0; m < kMethodCount; ++m) {
      const auto method = static_cast<Method>(m);
      if (!route.methods.has(method)) continue;
      out.key(lower_case(method));
      write_operation(out, route, method, schemas, ids);
    }
  }
  if (!routes.empty()) out.EndObject();
  out.EndObject();

  if (validates) {
    out.key("components");
    out.StartObject();
    out.key("schemas");
    out.raw(kValidationSchemas, rapidjson::kObjectType);
    out.EndObject();
  }
  out.EndObject();
  return out.take();
}

}  // namespace aitools::http
