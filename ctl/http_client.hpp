#pragma once
// A small blocking HTTP/1.1 client over POSIX sockets: one connection per request
// (Connection: close), connect and read bounded by one deadline, Content-Length, chunked and
// until-close bodies. Plain http:// only.
#include <chrono>
#include <optional>
#include <string>

#include "ctl/transport.hpp"

namespace aitools::ctl {

// http://HOST[:PORT][/PREFIX]; HOST may be a name, an IPv4 address or [IPv6].
struct AdminUrl {
  std::string host;  // without brackets
  std::string port = "80";
  std::string prefix;  // "" or "/something" without a trailing slash, put before /admin/...
};

// The URL, or nullopt with `error` saying what was expected. "HOST:PORT" without a scheme
// means http://; https:// is refused (the admin listener speaks plain HTTP).
std::optional<AdminUrl> parse_admin_url(const std::string& text, std::string& error);

// How the errors (Unreachable) name the server and what they suggest.
struct PeerHints {
  std::string name;         // "etcd http://h:2379"; "" = HOST:PORT
  std::string not_running;  // after a refused connection
  std::string not_http;     // after an answer that is not HTTP
};
// For the admin listener (--admin).
PeerHints admin_hints();

class HttpTransport : public Transport {
 public:
  // `token`: sent as "Authorization: Bearer TOKEN" unless empty.
  HttpTransport(AdminUrl url, std::string token, std::chrono::milliseconds timeout,
                PeerHints hints = admin_hints());

  AdminAnswer send(const AdminRequest& request) override;

 private:
  AdminUrl url_;
  std::string token_;
  std::chrono::milliseconds timeout_;
  PeerHints hints_;
};

}  // namespace aitools::ctl
