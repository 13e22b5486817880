#pragma once
// Standard base64 (RFC 4648, with padding), as the iFlytek APIs use it.
#include <optional>
#include <string>
#include <string_view>

namespace aitools::base64 {

std::string encode(std::string_view bytes);
// Decodes padded or unpadded base64; whitespace is not allowed. nullopt on any other character.
std::optional<std::string> decode(std::string_view text);

}  // namespace aitools::base64
