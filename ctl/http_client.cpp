#include "ctl/http_client.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "ctl/cli.hpp"

namespace aitools::ctl {

namespace {

using Clock = std::chrono::steady_clock;

// Bounds on what a server may send: an admin answer is a few KiB to a few MiB.
constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxBody = 256 * 1024 * 1024;

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool iequals(const std::string& a, const char* b) {
  const size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT32_MAX));
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket& operator=(Socket&&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// One exchange with the server: connect, send, read the answer, all before `deadline`.
class Exchange {
 public:
  Exchange(const AdminUrl& url, const PeerHints& hints, std::chrono::milliseconds timeout,
           Clock::time_point deadline)
      : url_(url),
        hints_(hints),
        host_((url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
              url.port),
        where_(hints.name.empty() ? host_ : hints.name),
        timeout_(timeout),
        deadline_(deadline) {}

  const std::string& host() const { return host_; }

  void connect() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(url_.host.c_str(), url_.port.c_str(), &hints, &found); rc != 0)
      throw Unreachable("cannot resolve " + url_.host +
                        (hints_.name.empty() ? "" : " (" + hints_.name + ")") + ": " +
                        ::gai_strerror(rc));
    std::string failure;
    for (const addrinfo* address = found; address && !socket_; address = address->ai_next) {
      if (try_connect(*address, failure)) break;
    }
    ::freeaddrinfo(found);
    if (!socket_)
      throw Unreachable("cannot connect to " + where_ + ": " + failure + " (" +
                        hints_.not_running + ")");
  }

  // A send error is not fatal: the server may have answered and closed early (e.g. 413).
  void send_all(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      wait_for(POLLOUT, "while sending the request");
      const ssize_t n = ::send(fd(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n < 0) return;
      done += static_cast<size_t>(n);
    }
  }

  AdminAnswer read_answer() {
    for (;;) {
      const size_t head_end = read_head();
      AdminAnswer answer;
      std::vector<std::pair<std::string, std::string>> headers;
      parse_head(buffer_.substr(0, head_end), answer.status, headers);
      buffer_.erase(0, head_end + 4);
      if (answer.status >= 100 && answer.status < 200) continue;  // 100 Continue and friends
      if (answer.status != 204 && answer.status != 304) answer.body = read_body(headers);
      return answer;
    }
  }

 private:
  int fd() const { return socket_->fd(); }

  bool try_connect(const addrinfo& address, std::string& failure) {
    Socket candidate(::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                              address.ai_protocol));
    if (candidate.fd() < 0) {
      failure = std::strerror(errno);
      return false;
    }
    if (::connect(candidate.fd(), address.ai_addr, address.ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        failure = std::strerror(errno);
        return false;
      }
      pollfd p{candidate.fd(), POLLOUT, 0};
      int ready;
      while ((ready = ::poll(&p, 1, remaining_ms(deadline_))) < 0 && errno == EINTR) {
      }
      if (ready == 0)
        throw Unreachable("no connection to " + where_ + " within " + seconds_text(timeout_));
      int error = 0;
      socklen_t length = sizeof error;
      if (ready < 0 || ::getsockopt(candidate.fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
          error != 0) {
        failure = std::strerror(ready < 0 ? errno : error);
        return false;
      }
    }
    socket_.emplace(std::move(candidate));
    return true;
  }

  void wait_for(short events, const char* doing) {
    pollfd p{fd(), events, 0};
    for (;;) {
      const int ready = ::poll(&p, 1, remaining_ms(deadline_));
      if (ready > 0) return;
      if (ready == 0)
        throw Unreachable("no answer from " + where_ + " within " + seconds_text(timeout_) + " (" +
                          doing + "; see --timeout)");
      if (errno != EINTR) throw Unreachable(where_ + ": poll: " + std::strerror(errno));
    }
  }

  // Appends what arrives to buffer_; false at the end of the stream (a reset counts as one).
  bool fill() {
    char chunk[65536];
    for (;;) {
      wait_for(POLLIN, "while reading the answer");
      const ssize_t n = ::recv(fd(), chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n == 0) return false;
      if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    }
  }

  [[noreturn]] void malformed(const std::string& what) const {
    throw Unreachable(where_ + " did not answer with valid HTTP: " + what + " (" +
                      hints_.not_http + ")");
  }

  void need(size_t bytes) {
    while (buffer_.size() < bytes)
      if (!fill()) malformed("the connection closed in the middle of the answer");
  }

  size_t read_head() {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos && buffer_.size() <= kMaxHead) {
      if (!fill())
        malformed(buffer_.empty() ? "the connection closed without an answer"
                                  : "the connection closed in the middle of the answer's head");
    }
    if (end == std::string::npos || end > kMaxHead)
      malformed("the answer's head is longer than 64 KiB");
    return end;
  }

  void parse_head(const std::string& head, int& status,
                  std::vector<std::pair<std::string, std::string>>& headers) const {
    const size_t line_end = std::min(head.find("\r\n"), head.size());
    const std::string status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12 || status_line[8] != ' ' ||
        !all_digits(status_line.substr(9, 3)) ||
        (status_line.size() > 12 && status_line[12] != ' '))
      malformed("bad status line \"" + status_line.substr(0, 80) + "\"");
    status = std::stoi(status_line.substr(9, 3));
    size_t at = line_end;
    while (at < head.size()) {
      const size_t from = at + 2;
      const size_t to = std::min(head.find("\r\n", from), head.size());
      const std::string line = head.substr(from, to - from);
      const size_t colon = line.find(':');
      if (colon == std::string::npos || colon == 0)
        malformed("bad header line \"" + line.substr(0, 80) + "\"");
      headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
      at = to;
    }
  }

  std::string take(size_t bytes) {
    need(bytes);
    std::string out = buffer_.substr(0, bytes);
    buffer_.erase(0, bytes);
    return out;
  }

  std::string take_line() {
    size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
      if (buffer_.size() > kMaxHead) malformed("a chunk line is longer than 64 KiB");
      if (!fill()) malformed("the connection closed in the middle of a chunked body");
    }
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  std::string read_chunked() {
    std::string body;
    for (;;) {
      std::string size_text = take_line();
      size_text = trim(size_text.substr(0, size_text.find(';')));  // no chunk extensions
      if (size_text.empty() || size_text.size() > 8 ||
          !std::all_of(size_text.begin(), size_text.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        malformed("bad chunk size \"" + size_text.substr(0, 20) + "\"");
      const size_t size = std::stoul(size_text, nullptr, 16);
      if (size == 0) break;
      if (body.size() + size > kMaxBody) malformed("the body is larger than 256 MiB");
      body += take(size);
      if (!take_line().empty()) malformed("a chunk does not end with CRLF");
    }
    while (!take_line().empty()) {  // trailers
    }
    return body;
  }

  std::string read_body(const std::vector<std::pair<std::string, std::string>>& headers) {
    const std::string* length = nullptr;
    for (const auto& [name, value] : headers) {
      if (iequals(name, "Transfer-Encoding") && value.find("chunked") != std::string::npos)
        return read_chunked();
      if (iequals(name, "Content-Length")) length = &value;
    }
    if (length) {
      if (!all_digits(*length) || length->size() > 10 || std::stoull(*length) > kMaxBody)
        malformed("bad Content-Length \"" + length->substr(0, 20) + "\"");
      return take(std::stoull(*length));
    }
    while (fill())
      if (buffer_.size() > kMaxBody) malformed("the body is larger than 256 MiB");
    return std::move(buffer_);
  }

  const AdminUrl& url_;
  const PeerHints& hints_;
  const std::string host_;   // HOST:PORT, for the Host header
  const std::string where_;  // the server as errors name it
  const std::chrono::milliseconds timeout_;
  const Clock::time_point deadline_;
  std::optional<Socket> socket_;
  std::string buffer_;  // received, not yet consumed
};

}  // namespace

std::optional<AdminUrl> parse_admin_url(const std::string& text, std::string& error) {
  const std::string expected = "expected http://HOST[:PORT], got \"" + text + "\"";
  std::string rest = text;
  if (const auto scheme_end = rest.find("://"); scheme_end != std::string::npos) {
    std::string scheme = rest.substr(0, scheme_end);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (scheme == "https") {
      error =
          "https is not supported: the admin listener speaks plain HTTP (use http://HOST:PORT, "
          "through an "
          "SSH tunnel for a remote server)";
      return std::nullopt;
    }
    if (scheme != "http") {
      error = "unsupported scheme \"" + scheme + "\": " + expected;
      return std::nullopt;
    }
    rest.erase(0, scheme_end + 3);
  }
  AdminUrl url;
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    url.prefix = rest.substr(slash);
    while (!url.prefix.empty() && url.prefix.back() == '/') url.prefix.pop_back();
  }
  if (authority.find('@') != std::string::npos) {
    error = "credentials in the URL are not supported (use --token): " + expected;
    return std::nullopt;
  }
  std::optional<std::string> port;  // present when the URL has ":PORT"
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) {
      error = "unclosed [ in the host: " + expected;
      return std::nullopt;
    }
    url.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      error = expected;
      return std::nullopt;
    }
    if (!after.empty()) port = after.substr(1);
  } else {
    const auto colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (port && (!all_digits(*port) || port->size() > 5 || std::stoul(*port) == 0 ||
               std::stoul(*port) > 65535)) {
    error = "the port must be 1-65535: " + expected;
    return std::nullopt;
  }
  const bool bad_text = std::any_of(text.begin(), text.end(),
                                    [](unsigned char c) { return c <= ' ' || c == 0x7F; }) ||
                        url.prefix.find_first_of("?#") != std::string::npos;
  if (url.host.empty() || bad_text) {
    error = expected;
    return std::nullopt;
  }
  if (port) url.port = *port;
  return url;
}

PeerHints admin_hints() {
  return {"", "is aitools-server running with its admin listener there? see --admin",
          "is --admin the admin listener?"};
}

HttpTransport::HttpTransport(AdminUrl url, std::string token, std::chrono::milliseconds timeout,
                             PeerHints hints)
    : url_(std::move(url)), token_(std::move(token)), timeout_(timeout), hints_(std::move(hints)) {}

AdminAnswer HttpTransport::send(const AdminRequest& request) {
  const auto timeout = timeout_ + request.held;
  Exchange exchange(url_, hints_, timeout, Clock::now() + timeout);
  std::string text = request.method + " " + url_.prefix + request.target + " HTTP/1.1\r\n";
  text += "Host: " + exchange.host() + "\r\n";
  text += "User-Agent: aitools-ctl\r\nAccept: application/json\r\nConnection: close\r\n";
  if (!token_.empty()) text += "Authorization: Bearer " + token_ + "\r\n";
  if (request.method == "POST" || !request.body.empty()) {
    text += "Content-Type: application/json\r\n";
    text += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  text += "\r\n";
  text += request.body;
  exchange.connect();
  exchange.send_all(text);
  return exchange.read_answer();
}

}  // namespace aitools::ctl
