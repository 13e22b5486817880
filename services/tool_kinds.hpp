#pragma once
// The AITools tool kinds served through the upstream actor: `translation` (iFlytek machine
// translation, its) and `image_generate` (iFlytek text-to-image, tti). Both answer the AITools
// envelope; docs/aitools-api.md describes their requests, answers, codes and options. The
// server adds them to the catalog with its upstream actor.
//
// Below the factories: the pieces of each tool that involve no I/O, for tests.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/upstream.hpp"
#include "services/service_kind.hpp"
#include "services/xfyun_tool.hpp"

namespace aitools::services {

std::shared_ptr<const ServiceKind> make_translation_kind(upstream_actor upstream);
std::shared_ptr<const ServiceKind> make_image_generate_kind(upstream_actor upstream);

namespace translation {

constexpr size_t kMaxTextCodePoints = 5000;

// The language codes the iFlytek its API accepts, in one table; one side of a pair must be cn.
const std::vector<std::string_view>& languages();
bool is_supported_language(std::string_view code);

struct Input {
  std::string text;
  std::string source_language = "cn";
  std::string target_language;
};

// The request body checked: 45001 (not a JSON object, a field missing or not a string),
// 45250 (blank text), 45251 (over 5000 code points), 45252 (language or pair). On failure
// sets `failure` and returns nullopt.
std::optional<Input> parse_request(std::string_view body, ToolAnswer& failure);

// The its API's request body.
std::string upstream_body(const Input& input, std::string_view app_id);

// The answer to the upstream's result: data {original_text, translated_text, source_language,
// target_language}, or 45253 (error status, header.code != 0), 45254 (an answer that cannot
// be decoded), 45255 (credentials refused), 45256 (network; 504 when it timed out).
ToolAnswer answer(const UpstreamResult& result, const Input& input);

}  // namespace translation

namespace image_generate {

constexpr size_t kMaxPromptCodePoints = 510;  // longer prompts are cut, as the predecessor did

struct Size {
  int width;
  int height;
};
// The resolutions the tti API documents.
const std::vector<Size>& sizes();

struct Input {
  std::string prompt;  // at most kMaxPromptCodePoints code points
  int width = 1024;
  int height = 1024;
};

// The request body checked: 45001 when it is not a JSON object, the prompt is missing, empty
// or not a string, or width x height is not one of sizes().
std::optional<Input> parse_request(std::string_view body, ToolAnswer& failure);

// The tti API's request body: width and height as asked (the predecessor swapped them).
std::string upstream_body(const Input& input, std::string_view app_id);

// The image bytes in the upstream's answer; nullopt with `failure` set: 45100/45101/45102 for
// upstream failures, 45002 for header.code != 0 or an answer without a decodable image.
std::optional<std::string> image(const UpstreamResult& result, ToolAnswer& failure);

// "png" or "jpg" from the bytes' signature; "" for anything else.
std::string_view image_extension(std::string_view bytes);

// The answer's data for an image stored as `file_name` under `url_base`:
// {"image_url": url_base/file_name, "image_url_md": "![](<image_url>)"}.
std::string answer_data(std::string_view url_base, std::string_view file_name);

}  // namespace image_generate

}  // namespace aitools::services
