#pragma once
// How aitools-ctl reaches the admin API: one request, one answer. HttpTransport
// (http_client.hpp) is the only transport so far; the commands see nothing else.
#include <chrono>
#include <stdexcept>
#include <string>

namespace aitools::ctl {

struct AdminRequest {
  std::string method;  // "GET" or "POST"
  std::string target;  // "/admin/status?wait_for=3"
  std::string body;    // JSON, or empty
  // How long the server may hold its answer on purpose (a wait_for): added to the timeout.
  std::chrono::milliseconds held{0};
};

struct AdminAnswer {
  int status = 0;
  std::string body;
};

// The server could not be reached or did not answer with HTTP: refused, unresolvable,
// timed out, malformed. aitools-ctl exits 2 on it.
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Throws Unreachable; any answer the server gives, 4xx and 5xx included, is returned.
  virtual AdminAnswer send(const AdminRequest& request) = 0;
};

}  // namespace aitools::ctl
