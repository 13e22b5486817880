#include "services/request_schema.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/pointer.h>
#include <rapidjson/reader.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "util/utf8.hpp"

namespace aitools::services {

namespace {

using rapidjson::Document;
using rapidjson::SchemaDocument;
using rapidjson::SizeType;
using rapidjson::Value;
using Allocator = Document::AllocatorType;

// The JSON Schema draft-04 meta-schema (http://json-schema.org/draft-04/schema#): every
// request schema must satisfy it.
constexpr char kDraft04MetaSchema[] = R"json({
  "id": "http://json-schema.org/draft-04/schema#",
  "$schema": "http://json-schema.org/draft-04/schema#",
  "description": "Core schema meta-schema",
  "definitions": {
    "schemaArray": {"type": "array", "minItems": 1, "items": {"$ref": "#"}},
    "positiveInteger": {"type": "integer", "minimum": 0},
    "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
    "simpleTypes": {"enum": ["array", "boolean", "integer", "null", "number", "object", "string"]},
    "stringArray": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true}
  },
  "type": "object",
  "properties": {
    "id": {"type": "string", "format": "uri"},
    "$schema": {"type": "string", "format": "uri"},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "default": {},
    "multipleOf": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
    "maximum": {"type": "number"},
    "exclusiveMaximum": {"type": "boolean", "default": false},
    "minimum": {"type": "number"},
    "exclusiveMinimum": {"type": "boolean", "default": false},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "additionalItems": {"anyOf": [{"type": "boolean"}, {"$ref": "#"}], "default": {}},
    "items": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/schemaArray"}], "default": {}},
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": false},
    "maxProperties": {"$ref": "#/definitions/positiveInteger"},
    "minProperties": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "required": {"$ref": "#/definitions/stringArray"},
    "additionalProperties": {"anyOf": [{"type": "boolean"}, {"$ref": "#"}], "default": {}},
    "definitions": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "properties": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "patternProperties": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "dependencies": {"type": "object", "additionalProperties": {
      "anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/stringArray"}]}},
    "enum": {"type": "array", "minItems": 1, "uniqueItems": true},
    "type": {"anyOf": [
      {"$ref": "#/definitions/simpleTypes"},
      {"type": "array", "items": {"$ref": "#/definitions/simpleTypes"}, "minItems": 1, "uniqueItems": true}]},
    "format": {"type": "string"},
    "allOf": {"$ref": "#/definitions/schemaArray"},
    "anyOf": {"$ref": "#/definitions/schemaArray"},
    "oneOf": {"$ref": "#/definitions/schemaArray"},
    "not": {"$ref": "#"}
  },
  "dependencies": {"exclusiveMaximum": ["maximum"], "exclusiveMinimum": ["minimum"]},
  "default": {}
})json";

// Bodies nested deeper are refused: the validator's document walk and the JSON writers
// recurse once per level, on an HTTP thread's stack.
constexpr int kMaxBodyNesting = 128;

// Schemas whose matching mutates state (see RequestSchema) get a compiled copy for each of
// this many threads; further threads compile one per request.
constexpr size_t kThreadSlots = 64;

std::string_view as_view(const Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

Value string_value(std::string_view text, Allocator& allocator) {
  return Value(text.data(), static_cast<SizeType>(text.size()), allocator);
}

const Value* find_member(const Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string to_json(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

// "#/properties/a": a JSON Pointer into the schema, "#" for the schema itself.
std::string pointer_text(const rapidjson::Pointer& pointer) {
  rapidjson::StringBuffer buffer;
  pointer.Stringify(buffer);
  return "#" + std::string(buffer.GetString(), buffer.GetSize());
}

void append_token(std::string& pointer, std::string_view token) {
  pointer += '/';
  for (char c : token) {
    if (c == '~')
      pointer += "~0";
    else if (c == '/')
      pointer += "~1";
    else
      pointer += c;
  }
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

const SchemaDocument& meta_schema() {
  static const Document source = [] {
    Document document;
    document.Parse(kDraft04MetaSchema);
    return document;
  }();
  static const SchemaDocument schema(source);
  return schema;
}

// ---- checks RapidJSON does not make ----
// RapidJSON compiles every object of a schema document as a schema, so these look at every
// object too.

bool check_ref(const Value& ref, const Value& root, const std::string& at, std::string& error) {
  const std::string_view text = as_view(ref);
  if (text.empty() || text.front() != '#') {
    // Resolving it would need a provider that fetches other documents; none is given.
    error = "remote $ref \"" + std::string(text) + "\" at #" + at +
            " is not supported; expected a local reference \"#/...\"";
    return false;
  }
  const rapidjson::Pointer target(text.data(), text.size());
  const Value* found = target.IsValid() ? target.Get(root) : nullptr;
  if (!found || !found->IsObject()) {
    // RapidJSON would silently accept anything there.
    error =
        "$ref \"" + std::string(text) + "\" at #" + at + " points to no schema in this document";
    return false;
  }
  return true;
}

// Whether RapidJSON 1.1's regular expression engine can take `pattern` safely. Its parser
// asserts (debug) or reads outside its stack (release) on empty groups or alternatives and on
// a '(' left open, and its matcher recurses without end on a quantified group that can match
// nothing, such as (a*)*. So a pattern reaches it only without those, which this checks
// conservatively: valid UTF-8 without NUL, no empty (), (|a), (^) or a||b, nothing to repeat
// before a quantifier, and no quantifier on a group that holds *, ?, {} or |. (6 M random
// patterns ran clean under ASan with this check; without it, "()a" and "(.?)*" crash.)
bool regex_safe(std::string_view pattern) {
  // The engine decodes UTF-8 and stops at a NUL or an invalid byte: what it would see of the
  // pattern is not what is checked below.
  if (pattern.find('\0') != std::string_view::npos || !utf8::is_valid(pattern)) return false;
  std::vector<size_t> open;  // positions of unclosed '('
  char previous = 0;         // the last significant character ('a' for any atom)
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
      previous = 'a';
    } else if (c == '[') {
      for (++i; i < pattern.size() && pattern[i] != ']'; ++i)
        if (pattern[i] == '\\') ++i;
      previous = 'a';
    } else if (c == '(') {
      open.push_back(i);
      previous = '(';
    } else if (c == ')') {
      if (open.empty() || (previous != 'a' && previous != 'q')) return false;  // (), (a|), (^), )
      const std::string_view group = pattern.substr(open.back(), i - open.back());
      open.pop_back();
      // A quantified group that can match nothing loops forever in the matcher (stack overflow).
      const char next = i + 1 < pattern.size() ? pattern[i + 1] : 0;
      if ((next == '*' || next == '+' || next == '?' || next == '{') &&
          group.find_first_of("*?{|") != std::string_view::npos)
        return false;
      previous = 'a';
    } else if (c == '|') {
      if (previous == '(' || previous == '|' || previous == 0) return false;  // empty alternative
      previous = '|';
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
      if (previous != 'a') return false;  // nothing to repeat
      if (c == '{') {
        const size_t close = pattern.find('}', i);
        if (close == std::string_view::npos) return false;
        i = close;
      }
      previous = 'q';
    } else if (c == '^' || c == '$') {
      previous = 0;  // an anchor is nothing to repeat (RapidJSON would repeat the atom before)
    } else {
      previous = 'a';
    }
  }
  return open.empty() && previous != '|';
}

// RapidJSON silently ignores a pattern its regular expression engine cannot compile.
bool check_regex(const Value& pattern, const std::string& at, std::string& error) {
  if (regex_safe(as_view(pattern))) {
    rapidjson::internal::GenericRegex<rapidjson::UTF8<>> regex(pattern.GetString());
    if (regex.IsValid()) return true;
  }
  error = "pattern \"" + std::string(as_view(pattern)) + "\" at #" + at +
          " is not a regular expression RapidJSON supports (no \\d, \\w, \\s, lookarounds or "
          "backreferences; use classes such as [0-9]; no empty groups or alternatives, and no "
          "quantifier on a group holding *, ?, {} or |)";
  return false;
}

// Refs must be local and resolve; patterns must compile. Sets `has_regex` when the schema
// holds any pattern. Recursion is bounded by the manifest's nesting limit.
bool scan_schema(const Value& value, const Value& root, std::string& pointer, bool& has_regex,
                 std::string& error) {
  const size_t length = pointer.size();
  if (value.IsArray()) {
    for (SizeType i = 0; i < value.Size(); ++i) {
      append_token(pointer, std::to_string(i));
      if (!scan_schema(value[i], root, pointer, has_regex, error)) return false;
      pointer.resize(length);
    }
    return true;
  }
  if (!value.IsObject()) return true;
  for (const auto& member : value.GetObject()) {
    const std::string_view key = as_view(member.name);
    if (key == "$ref" && member.value.IsString()) {
      if (!check_ref(member.value, root, pointer, error)) return false;
    } else if (key == "pattern" && member.value.IsString()) {
      has_regex = true;
      if (!check_regex(member.value, pointer, error)) return false;
    } else if (key == "patternProperties" && member.value.IsObject()) {
      has_regex = true;
      for (const auto& property : member.value.GetObject()) {
        if (!check_regex(property.name, pointer + "/patternProperties", error)) return false;
      }
    }
    append_token(pointer, key);
    if (!scan_schema(member.value, root, pointer, has_regex, error)) return false;
    pointer.resize(length);
  }
  return true;
}

// Query parameters and headers are named values: their schema describes an object.
bool is_object_schema(const Value& schema) {
  if (const Value* type = find_member(schema, "type"))
    return type->IsString() && as_view(*type) == "object";
  return find_member(schema, "properties") != nullptr;
}

// Header names are case-insensitive: the instance's are lowercased, so the schema's are too.
bool lowercase_header_names(Document& schema, std::string& error) {
  Allocator& allocator = schema.GetAllocator();
  auto properties = schema.FindMember("properties");
  if (properties != schema.MemberEnd() && properties->value.IsObject()) {
    std::vector<std::string> seen;
    for (auto& member : properties->value.GetObject()) {
      std::string name = lowercase(as_view(member.name));
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        error = "properties: \"" + name + "\" is named twice (header names are case-insensitive)";
        return false;
      }
      member.name = string_value(name, allocator);
      seen.push_back(std::move(name));
    }
  }
  auto required = schema.FindMember("required");
  if (required != schema.MemberEnd() && required->value.IsArray()) {
    for (auto& name : required->value.GetArray())
      if (name.IsString()) name = string_value(lowercase(as_view(name)), allocator);
  }
  return true;
}

// ---- query and header values ----

enum ScalarType : unsigned { kInteger = 1, kNumber = 2, kBoolean = 4 };

// The non-string scalar types a property's schema accepts; none when it also accepts a
// string (a string value then stays one, as FastAPI's unions keep it).
unsigned scalar_types(const Value& property) {
  const Value* type = find_member(property, "type");
  if (!type) return 0;
  unsigned types = 0;
  bool string = false;
  const auto add = [&](const Value& name) {
    if (!name.IsString()) return;
    const std::string_view text = as_view(name);
    if (text == "integer")
      types |= kInteger;
    else if (text == "number")
      types |= kNumber;
    else if (text == "boolean")
      types |= kBoolean;
    else if (text == "string")
      string = true;
  };
  if (type->IsArray()) {
    for (const auto& name : type->GetArray()) add(name);
  } else {
    add(*type);
  }
  return string ? 0 : types;
}

template <typename Number>
bool parse_decimal(std::string_view text, Number& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

bool parse_integer(std::string_view text, Value& out) {
  int64_t signed_value;
  uint64_t unsigned_value;
  if (parse_decimal(text, signed_value)) {
    out.SetInt64(signed_value);
  } else if (parse_decimal(text, unsigned_value)) {
    out.SetUint64(unsigned_value);
  } else {
    return false;
  }
  return true;
}

bool parse_number(std::string_view text, Value& out) {
  if (parse_integer(text, out)) return true;
  double value;
  if (!parse_decimal(text, value) || !std::isfinite(value)) return false;
  out.SetDouble(value);
  return true;
}

// The strings pydantic reads as booleans.
bool parse_boolean(std::string_view text, Value& out) {
  const std::string word = lowercase(text);
  for (const char* yes : {"1", "on", "t", "true", "y", "yes"}) {
    if (word == yes) {
      out.SetBool(true);
      return true;
    }
  }
  for (const char* no : {"0", "off", "f", "false", "n", "no"}) {
    if (word == no) {
      out.SetBool(false);
      return true;
    }
  }
  return false;
}

// Converts `value` (a string) to the first type in `types` its text parses as.
void coerce(Value& value, unsigned types) {
  const std::string_view text = as_view(value);
  Value converted;
  if (((types & kInteger) && parse_integer(text, converted)) ||
      ((types & kNumber) && parse_number(text, converted)) ||
      ((types & kBoolean) && parse_boolean(text, converted)))
    value = converted;
}

// ---- the body ----

// Forwards a parse into a document, stopping it past kMaxBodyNesting levels.
class NestingLimit {
 public:
  explicit NestingLimit(Document& target) : target_(target) {}
  bool Null() { return target_.Null(); }
  bool Bool(bool b) { return target_.Bool(b); }
  bool Int(int i) { return target_.Int(i); }
  bool Uint(unsigned u) { return target_.Uint(u); }
  bool Int64(int64_t i) { return target_.Int64(i); }
  bool Uint64(uint64_t u) { return target_.Uint64(u); }
  bool Double(double d) { return target_.Double(d); }
  bool RawNumber(const char* text, SizeType length, bool copy) {
    return target_.RawNumber(text, length, copy);
  }
  bool String(const char* text, SizeType length, bool copy) {
    return target_.String(text, length, copy);
  }
  bool Key(const char* text, SizeType length, bool copy) { return target_.Key(text, length, copy); }
  bool StartObject() { return enter() && target_.StartObject(); }
  bool EndObject(SizeType members) {
    --depth_;
    return target_.EndObject(members);
  }
  bool StartArray() { return enter() && target_.StartArray(); }
  bool EndArray(SizeType elements) {
    --depth_;
    return target_.EndArray(elements);
  }
  bool too_deep() const { return depth_ > kMaxBodyNesting; }

 private:
  bool enter() { return ++depth_ <= kMaxBodyNesting; }
  Document& target_;
  int depth_ = 0;
};

// For Document::Populate: parses the body, noting how a failure happened.
struct BodyParse {
  std::string_view text;
  rapidjson::ParseResult result;
  bool too_deep = false;

  bool operator()(Document& document) {
    NestingLimit limit(document);
    rapidjson::MemoryStream stream(text.data(), text.size());
    rapidjson::Reader reader;
    result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        stream, limit);
    too_deep = limit.too_deep();
    return !result.IsError();
  }
};

// ---- error details (pydantic v2's types and messages) ----

const char* part_name(RequestPart part) {
  switch (part) {
    case RequestPart::query:
      return "query";
    case RequestPart::headers:
      return "header";
    case RequestPart::body:
      return "body";
  }
  return "";
}

// The detail list of one 422 answer.
class Details {
 public:
  Allocator& allocator() { return items_.GetAllocator(); }
  bool empty() const { return items_.Empty(); }

  // ["<part>", tokens of `at` in `instance`...]: array indices as integers.
  Value loc(RequestPart part, const rapidjson::Pointer& at, const Value& instance) {
    Value loc(rapidjson::kArrayType);
    loc.PushBack(Value(rapidjson::StringRef(part_name(part))), allocator());
    const Value* current = &instance;
    for (size_t i = 0; i < at.GetTokenCount(); ++i) {
      const rapidjson::Pointer::Token& token = at.GetTokens()[i];
      if (current && current->IsArray() && token.index != rapidjson::kPointerInvalidIndex) {
        loc.PushBack(Value(static_cast<uint64_t>(token.index)), allocator());
        current = token.index < current->Size() ? &(*current)[token.index] : nullptr;
      } else {
        const std::string_view name(token.name, token.length);
        loc.PushBack(string_value(name, allocator()), allocator());
        current = current ? find_member(*current, name) : nullptr;
      }
    }
    return loc;
  }

  // One item; a null `input` is written as null, a null `ctx` left out.
  void add(std::string_view type, Value loc, std::string_view msg, const Value* input,
           Value ctx = Value()) {
    Value item(rapidjson::kObjectType);
    item.AddMember("type", string_value(type, allocator()), allocator());
    item.AddMember("loc", loc, allocator());
    item.AddMember("msg", string_value(msg, allocator()), allocator());
    item.AddMember("input", input ? Value(*input, allocator()) : Value(), allocator());
    if (!ctx.IsNull()) item.AddMember("ctx", ctx, allocator());
    items_.PushBack(item, allocator());
  }

  http::Response response() {
    Value body(rapidjson::kObjectType);
    body.AddMember("detail", items_, allocator());
    http::Response response;
    response.status = 422;
    response.content_type = "application/json";
    response.body = to_json(body);
    return response;
  }

 private:
  Document items_{rapidjson::kArrayType};
};

// What a keyword's failure is called and says.
struct Explanation {
  std::string type;
  std::string msg;
  Value ctx;  // null: none
};

std::string plural(const Value& count, std::string_view noun) {
  return to_json(count) + " " + std::string(noun) +
         (count.IsUint64() && count.GetUint64() == 1 ? "" : "s");
}

// 'a', 'b' or 'c', as pydantic lists the values allowed.
std::string alternatives(const Value& values) {
  std::string out;
  for (SizeType i = 0; i < values.Size(); ++i) {
    if (i > 0) out += i + 1 == values.Size() ? " or " : ", ";
    out += values[i].IsString() ? "'" + std::string(as_view(values[i])) + "'" : to_json(values[i]);
  }
  return out;
}

// The first type a schema names, ignoring "null" when it names others.
std::string expected_type(const Value* schema) {
  const Value* type = schema ? find_member(*schema, "type") : nullptr;
  if (type && type->IsString()) return std::string(as_view(*type));
  std::string first;
  if (type && type->IsArray()) {
    for (const auto& name : type->GetArray()) {
      if (!name.IsString()) continue;
      if (as_view(name) != "null") return std::string(as_view(name));
      first = "null";
    }
  }
  return first;
}

Explanation explain_type(const Value* schema, const Value* value, RequestPart part) {
  const std::string type = expected_type(schema);
  // Query and header values that stayed strings: their text did not parse.
  if (part != RequestPart::body && value && value->IsString()) {
    if (type == "integer")
      return {"int_parsing",
              "Input should be a valid integer, unable to parse string as an integer",
              {}};
    if (type == "number")
      return {"float_parsing",
              "Input should be a valid number, unable to parse string as a number",
              {}};
    if (type == "boolean")
      return {"bool_parsing", "Input should be a valid boolean, unable to interpret input", {}};
  }
  if (type == "integer" && value && value->IsDouble())
    return {"int_from_float",
            "Input should be a valid integer, got a number with a fractional part",
            {}};
  if (type == "integer") return {"int_type", "Input should be a valid integer", {}};
  if (type == "number") return {"float_type", "Input should be a valid number", {}};
  if (type == "boolean") return {"bool_type", "Input should be a valid boolean", {}};
  if (type == "string") return {"string_type", "Input should be a valid string", {}};
  if (type == "object") return {"dict_type", "Input should be a valid dictionary", {}};
  if (type == "array") return {"list_type", "Input should be a valid list", {}};
  if (type == "null") return {"none_required", "Input should be None", {}};
  return {"type", "Input should be of the type the schema names", {}};
}

Explanation explain(std::string_view keyword, const Value* schema, const Value* value,
                    RequestPart part, Allocator& allocator) {
  // The keyword's value in the failing schema; the meta-schema guarantees its JSON type.
  const Value* limit = schema ? find_member(*schema, keyword) : nullptr;
  const auto with_ctx = [&](std::string type, std::string msg, std::string_view name) {
    Value ctx(rapidjson::kObjectType);
    ctx.AddMember(string_value(name, allocator), Value(*limit, allocator), allocator);
    return Explanation{std::move(type), std::move(msg), std::move(ctx)};
  };
  const auto size_ctx = [&](std::string_view field_type, bool min) {
    Value ctx(rapidjson::kObjectType);
    ctx.AddMember("field_type", string_value(field_type, allocator), allocator);
    ctx.AddMember(string_value(min ? "min_length" : "max_length", allocator),
                  Value(*limit, allocator), allocator);
    ctx.AddMember("actual_length", value->IsArray() ? value->Size() : value->MemberCount(),
                  allocator);
    return ctx;
  };
  const auto exclusive = [&](const char* flag) {
    const Value* set = schema ? find_member(*schema, flag) : nullptr;
    return set && set->IsTrue();
  };

  if (keyword == "type") return explain_type(schema, value, part);
  if (!limit)
    return {std::string(keyword), "Input should satisfy the schema's " + std::string(keyword), {}};
  if (keyword == "minLength")
    return with_ctx("string_too_short",
                    "String should have at least " + plural(*limit, "character"), "min_length");
  if (keyword == "maxLength")
    return with_ctx("string_too_long", "String should have at most " + plural(*limit, "character"),
                    "max_length");
  if (keyword == "pattern")
    return with_ctx("string_pattern_mismatch",
                    "String should match pattern '" + std::string(as_view(*limit)) + "'",
                    "pattern");
  if (keyword == "minimum")
    return exclusive("exclusiveMinimum")
               ? with_ctx("greater_than", "Input should be greater than " + to_json(*limit), "gt")
               : with_ctx("greater_than_equal",
                          "Input should be greater than or equal to " + to_json(*limit), "ge");
  if (keyword == "maximum")
    return exclusive("exclusiveMaximum")
               ? with_ctx("less_than", "Input should be less than " + to_json(*limit), "lt")
               : with_ctx("less_than_equal",
                          "Input should be less than or equal to " + to_json(*limit), "le");
  if (keyword == "multipleOf")
    return with_ctx("multiple_of", "Input should be a multiple of " + to_json(*limit),
                    "multiple_of");
  if (keyword == "enum") {
    Value ctx(rapidjson::kObjectType);
    ctx.AddMember("expected", string_value(alternatives(*limit), allocator), allocator);
    return {"enum", "Input should be " + alternatives(*limit), std::move(ctx)};
  }
  if ((keyword == "minItems" || keyword == "maxItems") && value && value->IsArray()) {
    const bool min = keyword == "minItems";
    return {min ? "too_short" : "too_long",
            std::string("List should have ") + (min ? "at least " : "at most ") +
                plural(*limit, "item") + " after validation, not " + std::to_string(value->Size()),
            size_ctx("List", min)};
  }
  if ((keyword == "minProperties" || keyword == "maxProperties") && value && value->IsObject()) {
    const bool min = keyword == "minProperties";
    return {min ? "too_short" : "too_long",
            std::string("Dictionary should have ") + (min ? "at least " : "at most ") +
                plural(*limit, "item") + " after validation, not " +
                std::to_string(value->MemberCount()),
            size_ctx("Dictionary", min)};
  }
  if (keyword == "additionalProperties")
    return {"extra_forbidden", "Extra inputs are not permitted", {}};
  if (keyword == "items" && limit->IsArray())  // a tuple with "additionalItems": false
    return {"too_long", "Tuple should have at most " + plural(Value(limit->Size()), "item"), {}};
  if (keyword == "uniqueItems") return {"uniqueItems", "List should have unique items", {}};
  if (keyword == "allOf") return {"allOf", "Input should match every schema of allOf", {}};
  if (keyword == "anyOf") return {"anyOf", "Input should match at least one schema of anyOf", {}};
  if (keyword == "oneOf") return {"oneOf", "Input should match exactly one schema of oneOf", {}};
  if (keyword == "not") return {"not", "Input should not match the schema of not", {}};
  if (keyword == "dependencies")
    return {"dependencies", "Input should have the properties its properties depend on", {}};
  if (keyword == "patternProperties")
    return {"patternProperties", "Input should match the schemas of patternProperties", {}};
  return {std::string(keyword), "Input should satisfy the schema's " + std::string(keyword), {}};
}

}  // namespace

// One part's schema. RapidJSON 1.1's regular expressions keep their match state in the
// compiled expression, so a compiled schema with a pattern must not be used by two threads at
// once: such a schema is compiled once per thread that uses it (slots indexed by a per-thread
// number, each touched only by its own thread; no lock). Others share one compiled copy.
class RequestSchema {
 public:
  RequestSchema(RequestPart part, Document source, bool has_regex)
      : part_(part), source_(std::move(source)) {
    if (has_regex) {
      per_thread_ = std::make_unique<std::unique_ptr<SchemaDocument>[]>(kThreadSlots);
    } else {
      shared_ = std::make_unique<SchemaDocument>(source_);
    }
    if (part_ == RequestPart::body) return;
    if (const Value* properties = find_member(source_, "properties");
        properties && properties->IsObject()) {
      for (const auto& property : properties->GetObject()) {
        if (unsigned types = scalar_types(property.value))
          coercions_.emplace_back(std::string(as_view(property.name)), types);
      }
    }
  }

  // Query parameters or headers: the values as a JSON object of strings (the last of a
  // repeated name), then converted where the schema asks for a number or a boolean.
  void check_values(const http::HeaderList& values, Details& details) const {
    Document raw(rapidjson::kObjectType);
    Allocator& allocator = raw.GetAllocator();
    for (const auto& [received_name, value] : values) {
      const std::string name =
          part_ == RequestPart::headers ? lowercase(received_name) : received_name;
      auto existing = raw.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
      if (existing != raw.MemberEnd()) {
        existing->value = string_value(value, allocator);
      } else {
        raw.AddMember(string_value(name, allocator), string_value(value, allocator), allocator);
      }
    }
    Value typed(raw, allocator);
    for (const auto& [name, types] : coercions_) {
      auto member = typed.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
      if (member != typed.MemberEnd()) coerce(member->value, types);
    }
    check(typed, raw, details);  // errors quote the values as received
  }

  void check_body(std::string_view body, Details& details) const {
    if (body.empty()) {
      details.add("missing", details.loc(part_, {}, Value()), "Field required", nullptr);
      return;
    }
    Document document;
    BodyParse parse{body, {}, false};
    document.Populate(parse);
    if (parse.result.IsError()) {
      Value loc = details.loc(part_, {}, Value());
      loc.PushBack(static_cast<uint64_t>(parse.result.Offset()), details.allocator());
      const std::string reason =
          parse.too_deep ? "nested deeper than " + std::to_string(kMaxBodyNesting) + " levels"
                         : rapidjson::GetParseError_En(parse.result.Code());
      Value ctx(rapidjson::kObjectType);
      ctx.AddMember("error", string_value(reason, details.allocator()), details.allocator());
      const Value empty(rapidjson::kObjectType);
      details.add("json_invalid", std::move(loc), "JSON decode error", &empty, std::move(ctx));
      return;
    }
    check(document, document, details);
  }

 private:
  // Validates `instance`; on failure adds its items, quoting values from `input`.
  void check(const Value& instance, const Value& input, Details& details) const {
    if (shared_) return check_with(*shared_, instance, input, details);
    static std::atomic<size_t> next_slot{0};
    thread_local const size_t slot = next_slot.fetch_add(1, std::memory_order_relaxed);
    if (slot >= kThreadSlots) return check_with(SchemaDocument(source_), instance, input, details);
    std::unique_ptr<SchemaDocument>& own = per_thread_[slot];
    if (!own) own = std::make_unique<SchemaDocument>(source_);
    check_with(*own, instance, input, details);
  }

  void check_with(const SchemaDocument& compiled, const Value& instance, const Value& input,
                  Details& details) const {
    rapidjson::SchemaValidator validator(compiled);
    if (instance.Accept(validator)) return;
    const char* keyword_text = validator.GetInvalidSchemaKeyword();
    const std::string_view keyword = keyword_text ? keyword_text : "";
    const Value* schema = validator.GetInvalidSchemaPointer().Get(source_);
    const rapidjson::Pointer at = validator.GetInvalidDocumentPointer();
    const Value* value = at.Get(instance);

    if (keyword == "required") {
      // RapidJSON stops at the first name missing; pydantic reports each one.
      const Value* required = schema ? find_member(*schema, "required") : nullptr;
      if (required && required->IsArray() && value && value->IsObject()) {
        for (const auto& name : required->GetArray()) {
          if (!name.IsString() || value->FindMember(name) != value->MemberEnd()) continue;
          Value loc = details.loc(part_, at, instance);
          loc.PushBack(Value(name, details.allocator()), details.allocator());
          // FastAPI validates each parameter alone; a body model quotes the object.
          details.add("missing", std::move(loc), "Field required",
                      part_ == RequestPart::body ? value : nullptr);
        }
        return;
      }
    }
    Explanation explanation = explain(keyword, schema, value, part_, details.allocator());
    details.add(explanation.type, details.loc(part_, at, instance), explanation.msg, at.Get(input),
                std::move(explanation.ctx));
  }

  RequestPart part_;
  Document source_;  // as compiled (header names lowercased): error details read it
  std::vector<std::pair<std::string, unsigned>> coercions_;  // property name -> ScalarType bits
  std::unique_ptr<SchemaDocument> shared_;                   // when it holds no pattern
  std::unique_ptr<std::unique_ptr<SchemaDocument>[]> per_thread_;  // when it does
};

RequestSchemaPtr compile_request_schema(RequestPart part, const Value& schema, std::string& error) {
  rapidjson::SchemaValidator validator(meta_schema());
  if (!schema.Accept(validator)) {
    error = std::string("invalid JSON Schema: ") + validator.GetInvalidSchemaKeyword() + " at " +
            pointer_text(validator.GetInvalidDocumentPointer());
    return nullptr;
  }
  if (part != RequestPart::body && !is_object_schema(schema)) {
    error = std::string("expected an object schema (\"type\": \"object\" with \"properties\"): ") +
            (part == RequestPart::query ? "query parameters" : "headers") + " are named values";
    return nullptr;
  }
  std::string pointer;
  bool has_regex = false;
  if (!scan_schema(schema, schema, pointer, has_regex, error)) return nullptr;
  Document source;
  source.CopyFrom(schema, source.GetAllocator());
  if (part == RequestPart::headers && !lowercase_header_names(source, error)) return nullptr;
  return std::make_shared<RequestSchema>(part, std::move(source), has_regex);
}

namespace {

class ValidatingHandler final : public RouteHandler {
 public:
  ValidatingHandler(RouteHandlerPtr handler, RequestSchemas schemas)
      : handler_(std::move(handler)), schemas_(std::move(schemas)) {}

  std::optional<http::Response> handle(const http::Request& request, const http::Params& params,
                                       http::Deferral& deferral) const override {
    // FastAPI's order: query, headers, body; every failing part is reported.
    Details details;
    if (schemas_.query) schemas_.query->check_values(request.query(), details);
    if (schemas_.headers) schemas_.headers->check_values(request.headers(), details);
    if (schemas_.body) schemas_.body->check_body(request.body(), details);
    if (!details.empty()) return details.response();
    return handler_->handle(request, params, deferral);
  }

 private:
  RouteHandlerPtr handler_;
  RequestSchemas schemas_;
};

}  // namespace

RouteHandlerPtr validate_requests(RouteHandlerPtr handler, RequestSchemas schemas) {
  return std::make_shared<ValidatingHandler>(std::move(handler), std::move(schemas));
}

}  // namespace aitools::services
