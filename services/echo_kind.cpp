// The `echo` kind: answers with a JSON description of the request it received.
#include <algorithm>

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "services/catalog.hpp"

namespace aitools::services {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_key(JsonWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void write_string(JsonWriter& writer, std::string_view value) {
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

template <typename Pairs>
void write_object(JsonWriter& writer, const Pairs& pairs) {
  writer.StartObject();
  for (const auto& [name, value] : pairs) {
    write_key(writer, name);
    write_string(writer, value);
  }
  writer.EndObject();
}

// application/json or any "+json" type, ignoring parameters and case.
bool is_json_media_type(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  type.erase(0, type.find_first_not_of(" \t"));
  type.erase(type.find_last_not_of(" \t") + 1);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  const std::string_view suffix = "+json";
  return type == "application/json" ||
         (type.size() > suffix.size() &&
          type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0);
}

// The body as a JSON value when it is declared and parses as JSON, else as a string.
void write_body(JsonWriter& writer, const http::Request& request) {
  std::string_view body = request.body();
  std::optional<std::string> content_type = request.header("Content-Type");
  if (content_type && is_json_media_type(*content_type)) {
    // Parsed into a side buffer so a syntax error halfway leaves `writer` untouched; the
    // iterative parser keeps deeply nested bodies off the HTTP thread's stack.
    rapidjson::StringBuffer parsed;
    JsonWriter parsed_writer(parsed);
    rapidjson::MemoryStream stream(body.data(), body.size());
    rapidjson::Reader reader;
    if (reader.Parse<rapidjson::kParseIterativeFlag>(stream, parsed_writer)) {
      writer.RawValue(parsed.GetString(), parsed.GetSize(), rapidjson::kObjectType);
      return;
    }
  }
  write_string(writer, body);
}

class EchoHandler final : public RouteHandler {
 public:
  std::optional<http::Response> handle(const http::Request& request, const http::Params& params,
                                       http::Deferral&) const override {
    rapidjson::StringBuffer buffer;
    JsonWriter writer(buffer);
    writer.StartObject();
    write_key(writer, "method");
    write_string(writer, request.method());
    write_key(writer, "path");
    write_string(writer, request.path());
    write_key(writer, "params");
    write_object(writer, params);
    write_key(writer, "query");
    write_object(writer, request.query());
    write_key(writer, "headers");
    write_object(writer, request.headers());
    write_key(writer, "body");
    write_body(writer, request);
    writer.EndObject();

    http::Response response;
    response.content_type = "application/json";
    response.body.assign(buffer.GetString(), buffer.GetSize());
    return response;
  }
};

class EchoKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "echo"; }

  RouteHandlerPtr compile(const rapidjson::Value* options, const RouteInfo&,
                          std::string& error) const override {
    if (options && options->MemberCount() > 0) {
      const rapidjson::Value& field = options->MemberBegin()->name;
      error = std::string(field.GetString(), field.GetStringLength()) +
              ": unknown option; echo takes no options";
      return nullptr;
    }
    return std::make_shared<EchoHandler>();
  }
};

}  // namespace

AITOOLS_REGISTER_KIND(EchoKind)

}  // namespace aitools::services
