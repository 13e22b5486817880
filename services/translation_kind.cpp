// The `translation` kind: iFlytek machine translation (its) behind the AITools envelope, as
// the predecessor's /aitools/v1/translation (text up to 5000 code points, one side of the
// language pair "cn", codes 45250-45256), through the upstream actor.
#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "services/tool_kinds.hpp"
#include "util/base64.hpp"

namespace aitools::services {

namespace translation {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view kChinese = "cn";

// The predecessor's messages for its codes: clients matched on them. A detail follows ": ".
std::string message(int code, std::string_view detail) {
  std::string text;
  switch (code) {
    case http::code::text_empty: text = "翻译文本不能为空"; break;
    case http::code::text_too_long: text = "翻译文本超过5000字符限制"; break;
    case http::code::language_pair: text = "不支持的语言组合"; break;
    case http::code::translation_api: text = "翻译API调用失败"; break;
    case http::code::translation_format: text = "翻译API返回数据格式错误"; break;
    case http::code::translation_auth: text = "翻译服务认证失败"; break;
    case http::code::translation_network: text = "翻译服务网络连接失败"; break;
    default: return std::string(detail);
  }
  if (!detail.empty()) text.append(": ").append(detail);
  return text;
}

constexpr UpstreamCodes kCodes{http::code::translation_network, http::code::translation_api,
                               http::code::translation_auth, http::code::translation_format,
                               message};

ToolAnswer fail(int code, std::string_view detail) {
  return ToolAnswer::failure(code, message(code, detail));
}

// What Python's str.isspace() accepts, so blank means what it meant to the predecessor.
bool is_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

// `text` is valid UTF-8 (the parser validated it).
bool is_blank(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length && i + k < text.size(); ++k)
      c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if (!is_space(c)) return false;
    i += length;
  }
  return true;
}

std::string language_list() {
  std::string list;
  for (std::string_view code : languages()) list.append(list.empty() ? "" : ", ").append(code);
  return list;
}

// A string member; `fallback` when absent and not required. nullopt (and `failure`) otherwise.
std::optional<std::string> read_text(const rapidjson::Value& body, const char* field,
                                     const char* fallback, ToolAnswer& failure) {
  const rapidjson::Value* value = member(body, field);
  if (!value && fallback) return std::string(fallback);
  if (!value || !value->IsString()) {
    failure = ToolAnswer::failure(http::code::params,
                                  std::string(field) + ": expected a string" + (value ? "" : " (required)"));
    return std::nullopt;
  }
  return std::string(as_view(*value));
}

void write(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

const std::vector<std::string_view>& languages() {
  // From iFlytek's machine translation language list (its): cn is Chinese, yue Cantonese,
  // ii Yi, zua Zhuang, mn Mongolian (Mongolia), nm Mongolian (Inner Mongolia).
  static const std::vector<std::string_view> codes = {
      "cn", "en", "ja", "ko", "ru", "fr", "es", "ar", "de", "it", "pt", "th", "vi", "id", "ms",
      "tl", "my", "km", "lo", "hi", "bn", "ur", "ta", "te", "ne", "si", "fa", "ps", "tr", "he",
      "el", "bg", "uk", "cs", "sk", "pl", "ro", "hu", "nl", "sv", "da", "fi", "nb", "sl", "hr",
      "sr", "lt", "lv", "et", "hy", "ka", "az", "kk", "ky", "uz", "tg", "ug", "sw", "ha", "zu",
      "yue", "ii", "zua", "mn", "nm"};
  return codes;
}

bool is_supported_language(std::string_view code) {
  const auto& codes = languages();
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::optional<Input> parse_request(std::string_view body, ToolAnswer& failure) {
  rapidjson::Document document;
  if (!parse_object(body, document)) {
    failure = ToolAnswer::failure(http::code::params, "request body: expected a JSON object");
    return std::nullopt;
  }
  Input input;
  auto text = read_text(document, "text", nullptr, failure);
  if (!text) return std::nullopt;
  auto target = read_text(document, "target_language", nullptr, failure);
  if (!target) return std::nullopt;
  auto source = read_text(document, "source_language", "cn", failure);
  if (!source) return std::nullopt;
  input.text = std::move(*text);
  input.target_language = std::move(*target);
  input.source_language = std::move(*source);

  if (is_blank(input.text)) {
    failure = fail(http::code::text_empty, "text is empty or only whitespace");
    return std::nullopt;
  }
  if (const size_t length = count_code_points(input.text); length > kMaxTextCodePoints) {
    failure = fail(http::code::text_too_long,
                   "text has " + std::to_string(length) + " characters (Unicode code points)");
    return std::nullopt;
  }
  for (const std::string* code : {&input.source_language, &input.target_language}) {
    if (!is_supported_language(*code)) {
      failure = fail(http::code::language_pair,
                     "\"" + *code + "\" is not a supported language; expected one of " + language_list());
      return std::nullopt;
    }
  }
  if (input.source_language != kChinese && input.target_language != kChinese) {
    failure = fail(http::code::language_pair,
                   input.source_language + " -> " + input.target_language +
                       ": the source or the target language must be cn");
    return std::nullopt;
  }
  return input;
}

std::string upstream_body(const Input& input, std::string_view app_id) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("header");
  writer.StartObject();
  writer.Key("app_id");
  write(writer, app_id);
  writer.Key("status");
  writer.Int(3);  // the whole text in one frame
  writer.EndObject();
  writer.Key("parameter");
  writer.StartObject();
  writer.Key("its");
  writer.StartObject();
  writer.Key("from");
  write(writer, input.source_language);
  writer.Key("to");
  write(writer, input.target_language);
  writer.Key("result");
  writer.StartObject();
  writer.EndObject();
  writer.EndObject();
  writer.EndObject();
  writer.Key("payload");
  writer.StartObject();
  writer.Key("input_data");
  writer.StartObject();
  writer.Key("encoding");
  writer.String("utf8");
  writer.Key("status");
  writer.Int(3);
  writer.Key("text");
  write(writer, base64::encode(input.text));
  writer.EndObject();
  writer.EndObject();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

ToolAnswer answer(const UpstreamResult& result, const Input& input) {
  if (auto failure = upstream_failure(result, kCodes)) return *failure;
  // {"header": {"code", "message"}, "payload": {"result": {"text": base64 of
  //  {"from", "to", "trans_result": {"src", "dst"}}}}}
  rapidjson::Document document;
  if (!parse_object(result.body, document))
    return fail(http::code::translation_format, "the answer is not a JSON object");
  const rapidjson::Value* header = member(document, "header");
  const rapidjson::Value* code = header ? member(*header, "code") : nullptr;
  if (!code || !code->IsInt())
    return fail(http::code::translation_format, "header.code: expected an integer");
  if (code->GetInt() != 0) {
    const rapidjson::Value* text = member(*header, "message");
    return fail(http::code::translation_api,
                "header.code " + std::to_string(code->GetInt()) +
                    (text && text->IsString() ? ": " + std::string(as_view(*text)) : std::string()));
  }
  const rapidjson::Value* payload = member(document, "payload");
  const rapidjson::Value* result_value = payload ? member(*payload, "result") : nullptr;
  const rapidjson::Value* encoded = result_value ? member(*result_value, "text") : nullptr;
  if (!encoded || !encoded->IsString())
    return fail(http::code::translation_format, "payload.result.text: expected a string");
  auto decoded = base64::decode(as_view(*encoded));
  rapidjson::Document inner;
  if (!decoded || !parse_object(*decoded, inner))
    return fail(http::code::translation_format,
                "payload.result.text: expected base64 of a JSON object");
  const rapidjson::Value* trans = member(inner, "trans_result");
  const rapidjson::Value* dst = trans ? member(*trans, "dst") : nullptr;
  if (!dst || !dst->IsString())
    return fail(http::code::translation_format, "payload.result.text: trans_result.dst: expected a string");

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("original_text");
  write(writer, input.text);
  writer.Key("translated_text");
  write(writer, as_view(*dst));
  writer.Key("source_language");
  write(writer, input.source_language);
  writer.Key("target_language");
  write(writer, input.target_language);
  writer.EndObject();
  ToolAnswer success;
  success.data.assign(buffer.GetString(), buffer.GetSize());
  return success;
}

}  // namespace translation

namespace {

class TranslationKind final : public ServiceKind {
 public:
  explicit TranslationKind(upstream_actor upstream) : upstream_(std::move(upstream)) {}

  std::string_view name() const override { return "translation"; }

  RouteHandlerPtr compile(const rapidjson::Value* options, const RouteInfo& route,
                          std::string& error) const override {
    XfyunEndpoint endpoint;
    if (!read_endpoint(options, {}, route.base_dir, endpoint, error)) return nullptr;
    Tool tool = [app_id = endpoint.app_id](std::string_view body) {
      ToolStep step;
      ToolAnswer failure;
      auto input = translation::parse_request(body, failure);
      if (!input) {
        step.answer = std::move(failure);
        return step;
      }
      step.upstream_body = translation::upstream_body(*input, app_id);
      step.finish = [input = std::move(*input)](const UpstreamResult& result) {
        return translation::answer(result, input);
      };
      return step;
    };
    return make_tool_handler(upstream_, std::move(endpoint), std::move(tool));
  }

 private:
  upstream_actor upstream_;
};

}  // namespace

std::shared_ptr<const ServiceKind> make_translation_kind(upstream_actor upstream) {
  return std::make_shared<TranslationKind>(std::move(upstream));
}

}  // namespace aitools::services
