#include "services/xfyun_auth.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/base64.hpp"
#include "util/url.hpp"

namespace aitools::services {

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char c = text[i];
    if ((c >= 'A' && c <= 'Z' ? char(c + 32) : c) != prefix[i]) return false;
  }
  return true;
}

// Characters a URL never holds as such: controls, space, and what would make the appended
// query land somewhere else ('#').
bool has_forbidden(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f || c == '#';
  });
}

// RFC 1123 in GMT, with English names whatever the process locale.
std::string rfc1123(std::chrono::system_clock::time_point when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[utc.tm_wday],
                utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                utc.tm_sec);
  return text;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

std::optional<std::string> xfyun_sign_url(std::string_view url, std::string_view method,
                                          const XfyunCredentials& credentials,
                                          std::chrono::system_clock::time_point now) {
  std::string_view default_port;
  size_t scheme_end = 0;
  if (starts_with_nocase(url, "http://")) {
    scheme_end = 7;
    default_port = ":80";
  } else if (starts_with_nocase(url, "https://")) {
    scheme_end = 8;
    default_port = ":443";
  } else {
    return std::nullopt;
  }
  if (has_forbidden(url) || method.empty()) return std::nullopt;
  const size_t authority_end = std::min(url.find_first_of("/?", scheme_end), url.size());
  std::string_view host = url.substr(scheme_end, authority_end - scheme_end);
  // User info would be sent as credentials, not as part of the Host header the server checks.
  if (host.empty() || host.front() == ':' || host.find('@') != std::string_view::npos)
    return std::nullopt;
  const size_t port_colon = host.rfind(':');
  if (port_colon != std::string_view::npos && host.back() != ']') {
    std::string_view port = host.substr(port_colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    // HTTP clients leave a default port out of the Host header; the upstream compares the
    // signed host with that header.
    if (host.substr(port_colon) == default_port) host = host.substr(0, port_colon);
  }
  const size_t query_start = url.find('?', authority_end);
  std::string_view path = url.substr(authority_end, query_start - authority_end);
  if (path.empty()) path = "/";

  const std::string date = rfc1123(now);
  std::string signed_text;
  signed_text.append("host: ").append(host).append("\ndate: ").append(date).append("\n");
  signed_text.append(method).append(" ").append(path).append(" HTTP/1.1");
  const std::string signature = base64::encode(hmac_sha256(credentials.api_secret, signed_text));
  std::string origin = "api_key=\"" + credentials.api_key +
                       "\", algorithm=\"hmac-sha256\", headers=\"host date request-line\", "
                       "signature=\"" + signature + "\"";

  std::string signed_url(url);
  signed_url += query_start == std::string_view::npos ? '?' : '&';
  signed_url += "authorization=";
  aitools::url::append_encoded(signed_url, base64::encode(origin));
  signed_url += "&date=";
  aitools::url::append_encoded(signed_url, date);
  signed_url += "&host=";
  aitools::url::append_encoded(signed_url, host);
  return signed_url;
}

}  // namespace aitools::services
