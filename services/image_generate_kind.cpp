// The `image_generate` kind: iFlytek text-to-image (tti) behind the AITools envelope, as the
// predecessor's /aitools/v1/image_generate but without its width/height swap. The image is
// stored in the `image_dir` directory (instead of the predecessor's object storage) and its
// URL under `image_url_base` is returned; a `files` route serves that directory.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "services/kind_options.hpp"
#include "services/tool_kinds.hpp"
#include "util/base64.hpp"

namespace aitools::services {

namespace image_generate {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

std::string detail_only(int, std::string_view detail) { return std::string(detail); }

constexpr UpstreamCodes kCodes{http::code::upstream_connection, http::code::upstream_http,
                               http::code::upstream_auth, http::code::response, detail_only};

void write(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

std::string size_list() {
  std::string list;
  for (const Size& size : sizes())
    list.append(list.empty() ? "" : ", ")
        .append(std::to_string(size.width) + "x" + std::to_string(size.height));
  return list;
}

// An optional integer member; `value` keeps its default when absent.
bool read_int(const rapidjson::Value& body, const char* field, int& value) {
  const rapidjson::Value* found = member(body, field);
  if (!found) return true;
  if (!found->IsInt()) return false;
  value = found->GetInt();
  return true;
}

}  // namespace

const std::vector<Size>& sizes() {
  static const std::vector<Size> documented = {{512, 512},  {640, 360},  {640, 480}, {640, 640},
                                               {680, 512},  {512, 680},  {768, 768}, {720, 1280},
                                               {1280, 720}, {1024, 1024}};
  return documented;
}

std::optional<Input> parse_request(std::string_view body, ToolAnswer& failure) {
  rapidjson::Document document;
  if (!parse_object(body, document)) {
    failure = ToolAnswer::failure(http::code::params, "request body: expected a JSON object");
    return std::nullopt;
  }
  Input input;
  const rapidjson::Value* prompt = member(document, "prompt");
  if (!prompt || !prompt->IsString() || prompt->GetStringLength() == 0) {
    failure = ToolAnswer::failure(http::code::params, "prompt: expected a non-empty string");
    return std::nullopt;
  }
  input.prompt = first_code_points(as_view(*prompt), kMaxPromptCodePoints);
  const bool integers = read_int(document, "width", input.width) &&
                        read_int(document, "height", input.height);
  const bool documented = std::any_of(sizes().begin(), sizes().end(), [&input](const Size& size) {
    return size.width == input.width && size.height == input.height;
  });
  if (!integers || !documented) {
    failure = ToolAnswer::failure(
        http::code::params, "width, height: expected integers forming one of " + size_list());
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
  writer.EndObject();
  writer.Key("parameter");
  writer.StartObject();
  writer.Key("chat");
  writer.StartObject();
  writer.Key("domain");
  writer.String("general");
  writer.Key("width");
  writer.Int(input.width);
  writer.Key("height");
  writer.Int(input.height);
  writer.EndObject();
  writer.EndObject();
  writer.Key("payload");
  writer.StartObject();
  writer.Key("message");
  writer.StartObject();
  writer.Key("text");
  writer.StartArray();
  writer.StartObject();
  writer.Key("role");
  writer.String("user");
  writer.Key("content");
  write(writer, input.prompt);
  writer.EndObject();
  writer.EndArray();
  writer.EndObject();
  writer.EndObject();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::optional<std::string> image(const UpstreamResult& result, ToolAnswer& failure) {
  if (auto upstream = upstream_failure(result, kCodes)) {
    failure = std::move(*upstream);
    return std::nullopt;
  }
  auto fail = [&failure](std::string detail) {
    failure = ToolAnswer::failure(http::code::response, std::move(detail));
    return std::nullopt;
  };
  // {"header": {"code", "message"}, "payload": {"choices": {"text": [{"content": base64}]}}}
  rapidjson::Document document;
  if (!parse_object(result.body, document)) return fail("the upstream answer is not a JSON object");
  const rapidjson::Value* header = member(document, "header");
  const rapidjson::Value* code = header ? member(*header, "code") : nullptr;
  if (!code || !code->IsInt()) return fail("upstream header.code: expected an integer");
  if (code->GetInt() != 0) {
    const rapidjson::Value* text = member(*header, "message");
    return fail("image generation failed: header.code " + std::to_string(code->GetInt()) +
                (text && text->IsString() ? ": " + std::string(as_view(*text)) : std::string()));
  }
  const rapidjson::Value* payload = member(document, "payload");
  const rapidjson::Value* choices = payload ? member(*payload, "choices") : nullptr;
  const rapidjson::Value* texts = choices ? member(*choices, "text") : nullptr;
  const rapidjson::Value* content =
      texts && texts->IsArray() && !texts->Empty() ? member((*texts)[0], "content") : nullptr;
  if (!content || !content->IsString())
    return fail("upstream payload.choices.text[0].content: expected a string");
  auto bytes = base64::decode(as_view(*content));
  if (!bytes) return fail("upstream payload.choices.text[0].content: expected base64");
  if (image_extension(*bytes).empty())
    return fail("upstream payload.choices.text[0].content: expected a PNG or JPEG image");
  return bytes;
}

std::string_view image_extension(std::string_view bytes) {
  if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "png";
  if (bytes.substr(0, 3) == "\xFF\xD8\xFF") return "jpg";
  return "";
}

std::string answer_data(std::string_view url_base, std::string_view file_name) {
  std::string url(url_base);
  url.append("/").append(file_name);
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("image_url");
  write(writer, url);
  writer.Key("image_url_md");
  write(writer, "![](" + url + ")");
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace image_generate

namespace {

// 128 random bits in hex: image URLs are public, so a name must not be guessable from
// another one (a sid is a counter).
std::optional<std::string> random_name() {
  unsigned char bytes[16];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  for (unsigned char byte : bytes) {
    name += kHex[byte >> 4];
    name += kHex[byte & 15];
  }
  return name;
}

// Writes `bytes` as dir/name through a temporary file renamed over it, so the files route
// never serves a partial image. The temporary name starts with '.', which files routes refuse.
bool store(const std::string& dir, const std::string& name, std::string_view bytes,
           std::string& error) {
  const std::string target = dir + "/" + name;
  const std::string temporary = dir + "/." + name + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = temporary + ": " + std::strerror(errno);
    return false;
  }
  int failure = 0;  // errno of the first step that failed
  for (size_t written = 0; written < bytes.size() && failure == 0;) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n > 0)
      written += static_cast<size_t>(n);
    else if (n == 0 || errno != EINTR)
      failure = n == 0 ? EIO : errno;
  }
  if (::close(fd) != 0 && failure == 0) failure = errno;
  if (failure == 0 && ::rename(temporary.c_str(), target.c_str()) != 0) failure = errno;
  if (failure != 0) {
    error = target + ": " + std::strerror(failure);
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

class ImageGenerateKind final : public ServiceKind {
 public:
  explicit ImageGenerateKind(upstream_actor upstream) : upstream_(std::move(upstream)) {}

  std::string_view name() const override { return "image_generate"; }

  RouteHandlerPtr compile(const rapidjson::Value* options, const RouteInfo& route,
                          std::string& error) const override {
    XfyunEndpoint endpoint;
    if (!read_endpoint(options, {"image_dir", "image_url_base"}, route.base_dir, endpoint, error))
      return nullptr;
    std::string dir;
    std::string url_base;
    if (!options::read_directory(*options, "image_dir", W_OK, route.base_dir, dir, error) ||
        !options::read_string(*options, "image_url_base", true, url_base, error))
      return nullptr;
    while (!url_base.empty() && url_base.back() == '/') url_base.pop_back();
    if (url_base.empty()) {
      error = "image_url_base: expected the URL prefix the images are served under, e.g. "
              "\"http://host:18668/aitools/v1/images\"";
      return nullptr;
    }
    Tool tool = [app_id = endpoint.app_id, dir, url_base](std::string_view body) {
      ToolStep step;
      ToolAnswer failure;
      auto input = image_generate::parse_request(body, failure);
      if (!input) {
        step.answer = std::move(failure);
        return step;
      }
      step.upstream_body = image_generate::upstream_body(*input, app_id);
      // On the upstream actor's thread: decoding and one local file write of the image (a few
      // MB at most), the only file I/O there.
      step.finish = [dir, url_base](const UpstreamResult& result) {
        ToolAnswer answer;
        auto bytes = image_generate::image(result, answer);
        if (!bytes) return answer;
        auto name = random_name();
        std::string why = "cannot draw a random file name";
        if (name) *name += "." + std::string(image_generate::image_extension(*bytes));
        if (!name || !store(dir, *name, *bytes, why))
          return ToolAnswer::failure(http::code::local, "cannot store the image: " + why);
        answer.data = image_generate::answer_data(url_base, *name);
        return answer;
      };
      return step;
    };
    return make_tool_handler(upstream_, std::move(endpoint), std::move(tool));
  }

 private:
  upstream_actor upstream_;
};

}  // namespace

std::shared_ptr<const ServiceKind> make_image_generate_kind(upstream_actor upstream) {
  return std::make_shared<ImageGenerateKind>(std::move(upstream));
}

}  // namespace aitools::services
