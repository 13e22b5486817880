#pragma once
// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
#include <cstddef>
#include <string_view>

namespace aitools::utf8 {

// Length of the well-formed sequence starting at s[i] (i < s.size()), or 0.
size_t sequence(std::string_view s, size_t i);

bool is_valid(std::string_view s);

}  // namespace aitools::utf8
