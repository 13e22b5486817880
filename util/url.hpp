#pragma once
// Building URLs for upstream requests.
#include <string>
#include <string_view>

namespace aitools::url {

// Appends `text` with every byte but the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~)
// and those in `keep` percent-encoded (upper-case hex): a query value, or a path segment.
void append_encoded(std::string& out, std::string_view text, std::string_view keep = {});

}  // namespace aitools::url
