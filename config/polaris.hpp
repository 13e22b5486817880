#pragma once
// The Polaris config centre's HTTP protocol, as the predecessor spoke it
// (../shared/reference/seed-aitools.md §3.3), without its flaws: query values URL-encoded, the
// session cookie kept for reuse, errors that say what to check.
//   1. POST {base}/api/v1/user/login  {"addr": base, "account": user, "password": pass}
//      -> 2xx with a JSESSIONID cookie (Set-Cookie).
//   2. GET {base}/config/download?project=&cluster=&service=&version=&configName=
//      with "Cookie: JSESSIONID=..." -> {"data": {"content": "<dotenv text>"}}.
// No I/O here: actors/polaris_source.cpp sends what this builds. docs/cluster.md documents it.
#include <optional>
#include <string>
#include <string_view>

#include "config/remote.hpp"
#include "config/settings.hpp"
#include "http/request.hpp"

namespace aitools::polaris {

// Which config file the centre serves (PROJECT_NAME, POLARIS_CLUSTER, SERVICE_SUB, VERSION,
// CONFIG_FILE).
struct Filter {
  std::string project;
  std::string cluster;
  std::string service;
  std::string version;
  std::string config_name;
};
// CONFIG_FILE "" names the env file `env_path` by its base name, as the predecessor did.
Filter filter_from(const config::Settings& settings, const std::string& env_path);

// `base` is POLARIS_URL as validated by the settings (no trailing slash, no query).
std::string login_url(const std::string& base);
std::string login_body(const std::string& base, const std::string& username,
                       const std::string& password);
std::string download_url(const std::string& base, const Filter& filter);

// The JSESSIONID a login answer sets: the last non-empty one among its Set-Cookie headers
// (any case of the header name; the cookie's attributes are dropped). nullopt when none.
std::optional<std::string> session_cookie(const http::HeaderList& headers);
// "JSESSIONID=<session>", the Cookie header's value.
std::string cookie_header(const std::string& session);

// Whether a download answer means the session is no longer accepted: 401, 403, or a redirect
// whose Location mentions login. The source then logs in again (once) and retries.
bool session_expired(int status, const http::HeaderList& headers);

// The key/value set of a download answer (the full set: a key absent here is deleted).
// Values come from data.content, dotenv text (config/env_file.hpp); a missing data or
// data.content is an empty set. Origins read "polaris <config_name>:<line>"; the version is
// content_digest(values). An answer whose "code" is a non-zero integer is the centre's error.
// false with `error` ("download: not JSON at offset N", "download: <config_name>:3: expected
// KEY=VALUE", ...) when the answer cannot be used.
bool parse_download(std::string_view body, const std::string& config_name,
                    config::RemoteSnapshot& out, std::string& error);

// 16 hex digits of a 64-bit FNV-1a hash of the keys and values (not their origins): the same
// set gives the same digest whatever the order of its lines.
std::string content_digest(const config::RemoteValues& values);

// "HTTP <status>: <the first 200 bytes of the body, on one line>" for error messages.
std::string http_error(int status, std::string_view body);

}  // namespace aitools::polaris
