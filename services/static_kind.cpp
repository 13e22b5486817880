// The `static` kind: a fixed response, with {param} placeholders in the body filled from the
// request path.
#include <algorithm>
#include <iterator>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "services/catalog.hpp"
#include "services/kind_options.hpp"

namespace aitools::services {

namespace {

using rapidjson::Value;

std::string_view as_view(const Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

// The body split once into literal text and path parameter slots, so a request only
// concatenates.
class BodyTemplate {
 public:
  // `{name}` in `text` becomes a slot when `name` is one of `param_names`; any other
  // brace text stays literal. `json`: parameter values are JSON-escaped (they land inside
  // strings: compact JSON has no '{' followed by a name outside one).
  BodyTemplate(std::string_view text, const std::vector<std::string>& param_names, bool json)
      : json_(json) {
    size_t literal_start = 0;
    for (size_t open = text.find('{'); open != std::string_view::npos;
         open = text.find('{', open + 1)) {
      // A name holds no '{', so the next brace decides; searching for '}' alone would rescan
      // the rest of the body for every unmatched '{' (quadratic).
      size_t close = text.find_first_of("{}", open + 1);
      if (close == std::string_view::npos) break;
      if (text[close] == '{') continue;
      auto name = text.substr(open + 1, close - open - 1);
      auto param = std::find(param_names.begin(), param_names.end(), name);
      if (param == param_names.end()) continue;
      // Params arrive in pattern order, which is the order of param_names.
      slots_.push_back({std::string(text.substr(literal_start, open - literal_start)),
                        static_cast<size_t>(param - param_names.begin())});
      literal_start = close + 1;
      open = close;
    }
    tail_ = text.substr(literal_start);
  }

  std::string render(const http::Params& params) const {
    if (slots_.empty()) return tail_;
    auto value_of = [&params](const Slot& slot) {
      return slot.param < params.size() ? params[slot.param].second : std::string_view();
    };
    size_t size = tail_.size();
    for (const Slot& slot : slots_) size += slot.literal.size() + value_of(slot).size();
    std::string out;
    out.reserve(size);
    for (const Slot& slot : slots_) {
      out += slot.literal;
      std::string_view value = value_of(slot);
      if (json_)
        http::append_json_escaped(out, value);
      else
        out += value;
    }
    out += tail_;
    return out;
  }

 private:
  struct Slot {
    std::string literal;  // text before the parameter
    size_t param;         // index into the request's Params
  };
  std::vector<Slot> slots_;
  std::string tail_;  // text after the last slot: the whole body when there are none
  bool json_;
};

class StaticHandler final : public RouteHandler {
 public:
  StaticHandler(http::Response prototype, BodyTemplate body)
      : prototype_(std::move(prototype)), body_(std::move(body)) {}

  std::optional<http::Response> handle(const http::Request&, const http::Params& params,
                                       http::Deferral&) const override {
    http::Response response = prototype_;
    response.body = body_.render(params);
    return response;
  }

 private:
  http::Response prototype_;  // everything but the body
  BodyTemplate body_;
};

// Reads an optional integer option into `out`, which holds the default.
bool read_int(const Value& options, const char* field, int min, int max, int& out,
              std::string& error) {
  auto member = options.FindMember(field);
  if (member == options.MemberEnd()) return true;
  const Value& value = member->value;
  if (!value.IsInt() || value.GetInt() < min || value.GetInt() > max) {
    error = std::string(field) + ": expected an integer " + std::to_string(min) + "-" +
            std::to_string(max);
    return false;
  }
  out = value.GetInt();
  return true;
}

// Framing and routing headers are the server's: a second copy would corrupt the response.
bool server_owned(std::string_view name) {
  for (std::string_view owned : {"content-length", "transfer-encoding", "connection",
                                 "x-route-generation"})
    if (http::iequals(name, owned)) return true;
  return false;
}

// Adds the `headers` option to `response`; a Content-Type among them replaces the default.
bool read_headers(const Value& headers, http::Response& response, std::string& error) {
  http::HeaderList given;
  if (!options::read_header_object(headers, server_owned, "the server", given, error)) return false;
  for (auto& [name, value] : given) {
    if (http::iequals(name, "content-type"))
      response.content_type = std::move(value);
    else
      response.headers.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

class StaticKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "static"; }

  RouteHandlerPtr compile(const Value* options, const RouteInfo& route,
                          std::string& error) const override {
    const Value no_options(rapidjson::kObjectType);
    const Value& given = options ? *options : no_options;
    static constexpr std::string_view kFields[] = {"status", "headers", "body", "delay_ms"};
    for (auto member = given.MemberBegin(); member != given.MemberEnd(); ++member) {
      if (std::find(std::begin(kFields), std::end(kFields), as_view(member->name)) ==
          std::end(kFields)) {
        std::string known;
        for (std::string_view field : kFields)
          known.append(known.empty() ? "" : ", ").append(field);
        error = std::string(as_view(member->name)) + ": unknown option; expected one of " + known;
        return nullptr;
      }
    }

    http::Response prototype;
    int delay_ms = 0;
    if (!read_int(given, "status", 100, 599, prototype.status, error) ||
        !read_int(given, "delay_ms", 0, 600000, delay_ms, error))
      return nullptr;
    prototype.delay = std::chrono::milliseconds(delay_ms);

    std::string body_text;
    bool json = false;
    auto body = given.FindMember("body");
    if (body != given.MemberEnd()) {
      if (body->value.IsString()) {
        body_text = as_view(body->value);
        prototype.content_type = "text/plain; charset=utf-8";
      } else {
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        body->value.Accept(writer);
        body_text.assign(buffer.GetString(), buffer.GetSize());
        prototype.content_type = "application/json";
        json = true;
      }
    }

    auto headers = given.FindMember("headers");
    if (headers != given.MemberEnd() && !read_headers(headers->value, prototype, error))
      return nullptr;

    return std::make_shared<StaticHandler>(std::move(prototype),
                                           BodyTemplate(body_text, route.param_names, json));
  }
};

}  // namespace

AITOOLS_REGISTER_KIND(StaticKind)

}  // namespace aitools::services
