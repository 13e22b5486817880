#include "harness.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/framework.hpp>
#include <boost/test/results_collector.hpp>
#include <boost/test/tree/test_unit.hpp>
#include <rapidjson/error/en.h>

extern char** environ;

namespace it {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// ---- files ----

void write_file(const std::string& path, const std::string& content, int flags) {
  fs::create_directories(fs::path(path).parent_path());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
  if (fd < 0) fail_errno("open " + path);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail_errno("write " + path);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// ---- processes ----

// The server's known config keys: scrubbed from the inherited environment (see run_binary).
const std::set<std::string>& config_keys() {
  static const std::set<std::string> keys = {
      "SERVICE_HOST",      "SERVICE_PORT",      "HTTP_THREADS",      "ADMIN_HOST",
      "ADMIN_PORT",        "ADMIN_TOKEN",       "HOT_RELOAD_ENABLE", "RELOAD_DEBOUNCE_MS",
      "RESCAN_INTERVAL_S", "MAX_REQUEST_BYTES", "HEADER_TIMEOUT_MS", "BODY_TIMEOUT_MS",
      "KEEPALIVE_TIMEOUT_MS", "SHUTDOWN_GRACE_MS", "HISTORY_SIZE", "LOG_LEVEL", "SERVICES_DIR",
      "CAF_ADMIN_HOST", "CAF_ADMIN_PORT", "DOCS_ENABLE", "OPENAPI_TITLE", "DOCS_UI_DIR",
      "CONFIG_SOURCE", "CONFIG_SOURCE_TIMEOUT_MS", "CONFIG_WATCH_INTERVAL", "ETCD_ENDPOINTS",
      "ETCD_PREFIX", "NODE_ID", "ACK_TTL_S", "POLARIS_URL", "POLARIS_USERNAME",
      "POLARIS_PASSWORD", "POLARIS_CLUSTER", "PROJECT_NAME", "SERVICE_SUB", "VERSION", "CONFIG_FILE"};
  return keys;
}

// argv/envp storage prepared before fork(): the child may only call async-signal-safe
// functions, so it must not allocate.
struct ExecImage {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<char*> envp;

  // The test's environment without the server's config keys and `scrubbed`, plus `extra`.
  ExecImage(const char* program, const Args& args, const Env& extra,
            const std::set<std::string>& scrubbed) {
    strings.push_back(program);
    strings.insert(strings.end(), args.begin(), args.end());
    const size_t argc = strings.size();
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const std::string key = entry.substr(0, entry.find('='));
      if (!config_keys().count(key) && !scrubbed.count(key) && !extra.count(key))
        strings.push_back(entry);
    }
    for (const auto& [key, value] : extra) strings.push_back(key + "=" + value);
    for (size_t i = 0; i < strings.size(); ++i) {
      (i < argc ? argv : envp).push_back(strings[i].data());
    }
    argv.push_back(nullptr);
    envp.push_back(nullptr);
  }
};

// Starts `program` (looked up in PATH unless it has a '/') with stdout -> out_fd and
// stderr -> err_fd, stdin from /dev/null.
pid_t spawn(const char* program, const Args& args, const Env& environment, int out_fd, int err_fd,
            const std::set<std::string>& scrubbed = {}) {
  ExecImage image(program, args, environment, scrubbed);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execvpe(image.argv[0], image.argv.data(), image.envp.data());
    _exit(127);
  }
  ::close(null_fd);
  return pid;
}

// True when the running Boost.Test case has a failed assertion so far.
bool current_test_failed() {
  namespace utf = boost::unit_test;
  try {
    return !utf::results_collector.results(utf::framework::current_test_case().p_id).passed();
  } catch (const std::exception&) {
    return false;  // not inside a test case
  }
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int open_output(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno("open " + path);
  return fd;
}

// The value of `key` in env-file text, as a port, if the file sets it.
std::optional<uint16_t> env_port(const std::string& env_text, const std::string& key) {
  std::istringstream lines(env_text);
  std::optional<uint16_t> port;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + "=", 0) != 0) continue;
    char* end = nullptr;
    const unsigned long value = std::strtoul(line.c_str() + key.size() + 1, &end, 10);
    if (*end == '\0' && value <= 65535) port = static_cast<uint16_t>(value);
  }
  return port;
}

// The port the server will use for `flag`/`key`: the flag's value if `args` has it, else the
// env file's value if it sets one (so a test can edit it live), else a free port passed as
// the flag. 0 when the given value is not a number.
uint16_t port_arg(Args& args, const std::string& env_text, const std::string& flag,
                  const std::string& key, uint16_t free) {
  if (auto from_file = env_port(env_text, key)) {
    if (std::find(args.begin(), args.end(), flag) == args.end()) return *from_file;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == flag && i + 1 < args.size())
      value = args[i + 1];
    else if (args[i].rfind(flag + "=", 0) == 0)
      value = args[i].substr(flag.size() + 1);
    else
      continue;
    char* end = nullptr;
    const unsigned long port = std::strtoul(value.c_str(), &end, 10);
    return (*end == '\0' && port <= 65535) ? static_cast<uint16_t>(port) : 0;
  }
  args.push_back(flag);
  args.push_back(std::to_string(free));
  return free;
}

std::vector<uint16_t> free_ports(size_t count) {
  // All sockets stay bound until every port is read, so the ports are distinct.
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket");
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      for (int f : fds) ::close(f);
      fail_errno("bind 127.0.0.1:0");
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

}  // namespace

// ---- TempDir ----

TempDir::TempDir() {
  char pattern[] = "/tmp/aitools-it-XXXXXX";
  if (!::mkdtemp(pattern)) fail_errno("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& relative) const { return path_ + "/" + relative; }

void TempDir::write_atomic(const std::string& relative, const std::string& content) const {
  const fs::path target = file(relative);
  const fs::path temp = target.parent_path() / ("." + target.filename().string() + ".tmp");
  write_file(temp, content, O_TRUNC);
  if (::rename(temp.c_str(), target.c_str()) != 0) fail_errno("rename " + temp.string());
}

void TempDir::write(const std::string& relative, const std::string& content) const {
  write_file(file(relative), content, O_TRUNC);
}

void TempDir::append(const std::string& relative, const std::string& content) const {
  write_file(file(relative), content, O_APPEND);
}

void TempDir::remove(const std::string& relative) const {
  std::error_code ec;
  if (fs::remove_all(file(relative), ec) == 0 || ec) fail("cannot remove " + file(relative));
}

void TempDir::rename(const std::string& from, const std::string& to) const {
  if (::rename(file(from).c_str(), file(to).c_str()) != 0)
    fail_errno("rename " + file(from) + " -> " + file(to));
}

void TempDir::mkdir(const std::string& relative) const { fs::create_directories(file(relative)); }

std::string TempDir::read(const std::string& relative) const { return read_file(file(relative)); }

bool TempDir::exists(const std::string& relative) const { return fs::exists(file(relative)); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

uint16_t free_port() { return free_ports(1).front(); }

// ---- setup and processes ----

std::string env_text(const Env& env) {
  std::string text;
  for (const auto& [key, value] : env) text += key + "=" + value + "\n";
  return text;
}

ListeningSocket::ListeningSocket(uint32_t address) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(address);
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd_);
    fail_errno("bind/listen on an ephemeral port");
  }
  port_ = ntohs(addr.sin_port);
}

ListeningSocket::~ListeningSocket() { ::close(fd_); }

void write_setup(const TempDir& dir, const EnvText& env, const Manifests& manifests) {
  dir.write("aitools.env", env.text);
  dir.mkdir("services");
  for (const auto& [name, content] : manifests) dir.write("services/" + name, content);
}

void write_setup(const TempDir& dir, const Env& env, const Manifests& manifests) {
  write_setup(dir, EnvText(env_text(env)), manifests);
}

ServerProcess::ServerProcess(const TempDir& dir, const Env& env, const Manifests& manifests,
                             Args args) {
  if (auto token = env.find("ADMIN_TOKEN"); token != env.end()) admin_token_ = token->second;
  init(dir, EnvText(env_text(env)), manifests, std::move(args));
}

ServerProcess::ServerProcess(const TempDir& dir, const EnvText& env, const Manifests& manifests,
                             Args args) {
  init(dir, env, manifests, std::move(args));
}

void ServerProcess::init(const TempDir& dir, const EnvText& env, const Manifests& manifests,
                         Args args) {
  dir_ = dir.path();
  write_setup(dir, env, manifests);
  const auto ports = free_ports(2);
  args_ = {"--config", dir.file("aitools.env")};
  args_.insert(args_.end(), args.begin(), args.end());
  port_ = port_arg(args_, env.text, "--port", "SERVICE_PORT", ports[0]);
  admin_port_ = port_arg(args_, env.text, "--admin-port", "ADMIN_PORT", ports[1]);
}

ServerProcess::~ServerProcess() {
  try {
    if (running()) {
      signal(SIGTERM);
      if (wait_exit(5s) == -1) {
        ::kill(pid_, SIGKILL);
        wait_exit(5s);
      }
    }
    if (pid_ > 0 && (std::uncaught_exceptions() > 0 || current_test_failed()))
      std::cerr << "---- aitools-server log (" << log_path() << ") ----\n"
                << log() << "---- end of log ----\n";
  } catch (const std::exception&) {
    // A destructor must not throw; the process is gone or unreachable.
  }
}

void ServerProcess::start() {
  if (pid_ > 0) fail("ServerProcess::start called twice");
  const int log_fd = open_output(log_path());
  pid_ = spawn(AITOOLS_SERVER_BINARY, args_, environment_, log_fd, log_fd);
  ::close(log_fd);
  const auto deadline = Clock::now() + 10s;
  for (;;) {
    if (!running())
      fail("aitools-server exited with " + std::to_string(exit_code_) +
           " before it was ready; log:\n" + log());
    if (admin_port_ != 0) {
      try {
        HttpClient probe(admin_port_, 1s);
        if (probe.get("/readyz").status == 200) return;
      } catch (const std::exception&) {
        // Not listening yet.
      }
    } else {
      // No admin listener: ready once the main port accepts connections.
      try {
        HttpClient probe(port_, 1s);
        probe.get("/");
        return;
      } catch (const std::exception&) {
      }
    }
    if (Clock::now() >= deadline) fail("aitools-server not ready after 10 s; log:\n" + log());
    std::this_thread::sleep_for(5ms);
  }
}

bool ServerProcess::running() {
  if (pid_ <= 0 || exit_code_ != -1) return false;
  if (auto code = it::wait_exit(pid_, 0ms)) {
    exit_code_ = *code;
    return false;
  }
  return true;
}

void ServerProcess::signal(int signo) const {
  if (pid_ <= 0) fail("ServerProcess::signal before start()");
  if (::kill(pid_, signo) != 0) fail_errno("kill");
}

int ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) fail("ServerProcess::wait_exit before start()");
  if (exit_code_ != -1) return exit_code_;
  if (auto code = it::wait_exit(pid_, timeout)) exit_code_ = *code;
  return exit_code_;
}

std::string ServerProcess::log() const { return read_file(log_path()); }

std::string ServerProcess::log_path() const { return dir_ + "/server.log"; }

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return decode_status(status);
    if (r < 0 && errno != EINTR) fail_errno("waitpid");
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

pid_t start_program(const std::string& program, const Args& args, const std::string& output,
                    const Env& environment) {
  const int fd = open_output(output);
  const pid_t pid = spawn(program.c_str(), args, environment, fd, fd);
  ::close(fd);
  return pid;
}

namespace {

RunResult run_program(const char* program, const Args& args, std::chrono::milliseconds timeout,
                      const Env& environment, const std::set<std::string>& scrubbed) {
  TempDir outputs;
  const int out_fd = open_output(outputs.file("stdout"));
  const int err_fd = open_output(outputs.file("stderr"));
  const pid_t pid = spawn(program, args, environment, out_fd, err_fd, scrubbed);
  ::close(out_fd);
  ::close(err_fd);
  RunResult result;
  if (auto code = wait_exit(pid, timeout)) {
    result.exit_code = *code;
  } else {
    ::kill(pid, SIGKILL);
    wait_exit(pid, 5s);
  }
  result.out = outputs.read("stdout");
  result.err = outputs.read("stderr");
  return result;
}

}  // namespace

RunResult run_binary(const Args& args, std::chrono::milliseconds timeout, const Env& environment) {
  return run_program(AITOOLS_SERVER_BINARY, args, timeout, environment, {});
}

RunResult run_ctl(const Args& args, std::chrono::milliseconds timeout, const Env& environment) {
  return run_program(AITOOLS_CTL_BINARY, args, timeout, environment,
                     {"AITOOLS_ADMIN", "AITOOLS_ADMIN_TOKEN"});
}

// ---- HTTP ----

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return std::nullopt;
}

HttpClient::HttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

void HttpClient::connect() {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail_errno("socket");
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    close();
    errno = err;
    fail_errno("connect 127.0.0.1:" + std::to_string(port_));
  }
  ++connects_;
  reusable_ = true;
}

bool HttpClient::peer_closed() {
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char c;
  const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

bool HttpClient::send_all(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool HttpClient::fill() {
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      fail("no response from 127.0.0.1:" + std::to_string(port_) + " within " +
           std::to_string(timeout_.count()) + " ms");
    return false;  // reset by the server: the same as the end of the stream here
  }
}

void HttpClient::send_request(const std::string& method, const std::string& path,
                              const Headers& headers, const std::string& body) {
  std::string request = method + " " + path + " HTTP/1.1\r\n";
  bool has_host = false;
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    has_host = has_host || iequals(name, "Host");
    has_length = has_length || iequals(name, "Content-Length");
    request += name + ": " + value + "\r\n";
  }
  if (!has_host) request += "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (!has_length && (!body.empty() || body_method))
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n";
  request += body;

  fresh_ = fd_ < 0 || !reusable_ || peer_closed();
  if (fresh_) connect();
  last_method_ = method;
  last_request_ = std::move(request);
  // A send error on a fresh connection (e.g. the server reset it after reading an oversized
  // body) is left to read_response, which may still find the server's answer.
  if (!send_all(last_request_) && !fresh_) {
    connect();
    fresh_ = true;
    send_all(last_request_);
  }
}

HttpResponse HttpClient::read_response() {
  if (fd_ < 0) fail("read_response without a request");
  // Head: status line and headers.
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (fill()) continue;
    if (buffer_.empty() && !fresh_) {
      // The server closed the kept-alive connection before it saw the request: retry once.
      connect();
      fresh_ = true;
      send_all(last_request_);
      continue;
    }
    fail("connection to 127.0.0.1:" + std::to_string(port_) +
         " closed before a complete response head; got: \"" + buffer_ + "\"");
  }
  HttpResponse response;
  std::istringstream head(buffer_.substr(0, head_end));
  buffer_.erase(0, head_end + 4);
  std::string line;
  std::getline(head, line);
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) fail("bad status line: " + line);
  response.status = std::atoi(line.c_str() + 9);
  while (std::getline(head, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) fail("bad header line: " + line);
    response.headers.emplace_back(trim(std::string_view(line).substr(0, colon)),
                                  trim(std::string_view(line).substr(colon + 1)));
  }

  const bool until_close = read_body(response);
  const auto connection = response.header("Connection");
  response.closed_by_server = until_close || (connection && iequals(*connection, "close"));
  // The socket stays open so that wait_closed() can observe the server's close.
  if (response.closed_by_server) reusable_ = false;
  return response;
}

std::string HttpClient::take_bytes(size_t n) {
  while (buffer_.size() < n)
    if (!fill()) fail("connection closed in the middle of a response body");
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

std::string HttpClient::take_line() {
  size_t end;
  while ((end = buffer_.find("\r\n")) == std::string::npos)
    if (!fill()) fail("connection closed in the middle of a chunked body");
  std::string out = buffer_.substr(0, end);
  buffer_.erase(0, end + 2);
  return out;
}

bool HttpClient::read_body(HttpResponse& response) {
  if (last_method_ == "HEAD" || response.status / 100 == 1 || response.status == 204 ||
      response.status == 304)
    return false;
  const auto encoding = response.header("Transfer-Encoding");
  if (encoding && iequals(*encoding, "chunked")) {
    while (const size_t size = std::stoul(take_line(), nullptr, 16)) {
      response.body += take_bytes(size);
      take_line();
    }
    while (!take_line().empty()) {  // trailers
    }
    return false;
  }
  if (const auto length = response.header("Content-Length")) {
    response.body = take_bytes(std::stoul(*length));
    return false;
  }
  while (fill()) {
  }
  response.body = std::move(buffer_);
  buffer_.clear();
  return true;
}

HttpResponse HttpClient::request(const std::string& method, const std::string& path,
                                 const Headers& headers, const std::string& body) {
  send_request(method, path, headers, body);
  return read_response();
}

bool HttpClient::wait_server_read(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len) != 0) fail_errno("getsockname");
  char ports[32];
  // /proc/net/tcp prints "ADDR:PORT" with the port as 4 upper-case hex digits.
  std::snprintf(ports, sizeof ports, ":%04X", port_);
  const std::string server_port = ports;
  std::snprintf(ports, sizeof ports, ":%04X", ntohs(local.sin_port));
  const std::string client_port = ports;
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  // The server's end of this connection: local = server port, remote = our port.
  return wait_until(
      [&] {
        for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
          std::istringstream in(read_file(table));
          std::string line;
          while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local_address, remote_address, state, queues;
            fields >> slot >> local_address >> remote_address >> state >> queues;
            if (!ends_with(local_address, server_port) || !ends_with(remote_address, client_port))
              continue;
            const auto colon = queues.find(':');
            return colon != std::string::npos &&
                   std::stoul(queues.substr(colon + 1), nullptr, 16) == 0;
          }
        }
        return false;
      },
      timeout);
}

bool HttpClient::wait_closed(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return true;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      reusable_ = false;
      return true;
    }
  }
}

HttpResponse http_request(uint16_t port, const std::string& method, const std::string& path,
                          const Headers& headers, const std::string& body) {
  HttpClient client(port);
  return client.request(method, path, headers, body);
}

HttpResponse http_get(uint16_t port, const std::string& path, const Headers& headers) {
  return http_request(port, "GET", path, headers);
}

// ---- admin API and conditions ----

Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

HttpResponse admin_get(const ServerProcess& server, const std::string& path) {
  const auto& token = server.admin_token();
  return http_get(server.admin_port(), path, token.empty() ? Headers{} : bearer(token));
}

HttpResponse admin_post(const ServerProcess& server, const std::string& path,
                        const std::string& body) {
  const auto& token = server.admin_token();
  return http_request(server.admin_port(), "POST", path, token.empty() ? Headers{} : bearer(token),
                      body);
}

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  if (document.HasParseError())
    fail(std::string("invalid JSON (") + rapidjson::GetParseError_En(document.GetParseError()) +
         " at offset " + std::to_string(document.GetErrorOffset()) + "): " + text);
  return document;
}

std::string json_string(const rapidjson::Value& value) {
  return value.IsString() ? std::string(value.GetString(), value.GetStringLength())
                          : "<not a string>";
}

rapidjson::Document admin_json(const ServerProcess& server, const std::string& path) {
  const HttpResponse response = admin_get(server, path);
  if (response.status != 200)
    fail("GET " + path + " answered " + std::to_string(response.status) + ": " + response.body);
  return parse_json(response.body);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

uint64_t status_generation(const ServerProcess& server) {
  const auto status = admin_json(server, "/admin/status");
  if (!status.IsObject() || !status.HasMember("generation") || !status["generation"].IsUint64())
    fail("GET /admin/status has no numeric generation");
  return status["generation"].GetUint64();
}

bool wait_for_generation(const ServerProcess& server, uint64_t generation,
                         std::chrono::milliseconds timeout) {
  return wait_until([&] { return status_generation(server) >= generation; }, timeout);
}

}  // namespace it
