#pragma once
// The iFlytek open platform's HMAC-SHA256 request signing ("xfyun-hmac"), as the predecessor
// did it: the signature covers "host: H\ndate: D\nMETHOD /path HTTP/1.1", and the URL gets
// the query parameters authorization, date and host (URL-encoded).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace aitools::services {

struct XfyunCredentials {
  std::string api_key;
  std::string api_secret;
};

// `url` is absolute (http or https, optional port and query); returns it with the signing
// parameters appended, or nullopt when it is not a usable URL. `now` is the signing time
// (RFC 1123 date in the signature).
std::optional<std::string> xfyun_sign_url(std::string_view url, std::string_view method,
                                          const XfyunCredentials& credentials,
                                          std::chrono::system_clock::time_point now);

}  // namespace aitools::services
