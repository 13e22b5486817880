#include "etcd.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>


namespace it {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

// ---- base64 (the gateway's encoding of keys and values) ----

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::string& bytes) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : bytes) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 0x3f];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::string base64_decode(const std::string& text) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    const char* at = std::strchr(kAlphabet, c);
    if (c == '\0' || at == nullptr) fail("etcd answered invalid base64: " + text);
    bits = (bits << 6) | static_cast<uint32_t>(at - kAlphabet);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// ---- gateway bodies ----

// A JSON object of string members: {"k": "v", ...}.
std::string json_object(const std::vector<std::pair<std::string, std::string>>& members) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [name, value] : members) {
    writer.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    writer.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  }
  writer.EndObject();
  return buffer.GetString();
}

// An int64 the gateway sends as a JSON string (or leaves out when zero).
int64_t int64_member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject() || !object.HasMember(name)) return 0;
  const rapidjson::Value& value = object[name];
  if (value.IsString()) return std::stoll(value.GetString());
  if (value.IsInt64()) return value.GetInt64();
  fail(std::string("etcd answered a non-integer ") + name);
}

int64_t header_revision(const rapidjson::Document& answer) {
  if (!answer.IsObject() || !answer.HasMember("header")) fail("etcd answer without a header");
  return int64_member(answer["header"], "revision");
}

std::string tail(const std::string& text, size_t lines) {
  size_t at = text.size();
  while (lines-- > 0 && at > 0) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) return text;
  }
  return text.substr(at);
}

}  // namespace

// ---- EtcdProcess ----

EtcdProcess::EtcdProcess(const TempDir& dir) {
  static std::atomic<int> instances{0};
  const std::string name = "etcd-" + std::to_string(++instances);
  dir.mkdir(name);
  dir_ = dir.file(name);
  data_dir_ = dir_ + "/data";
  client_port_ = free_port();
  do peer_port_ = free_port();
  while (peer_port_ == client_port_);
}

EtcdProcess::~EtcdProcess() {
  try {
    kill();
  } catch (const std::exception&) {
    // A destructor must not throw; the process is gone.
  }
}

std::string EtcdProcess::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdProcess::log() const { return read_file(dir_ + "/etcd.log"); }

void EtcdProcess::start() {
  if (pid_ > 0) fail("EtcdProcess::start while running");
  const std::string client = endpoint();
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  // Short raft timings: a one-member cluster elects itself in a few ms instead of ~1 s.
  pid_ = start_program("/usr/bin/etcd", {"--name", "it", "--data-dir", data_dir_,
                     "--listen-client-urls", client, "--advertise-client-urls", client,
                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                     "--initial-cluster", "it=" + peer, "--heartbeat-interval", "10",
                     "--election-timeout", "100", "--log-outputs", "stderr"},
                        dir_ + "/etcd.log");
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  std::string last;
  for (;;) {
    if (auto code = wait_exit(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      fail("etcd exited with " + std::to_string(*code) + " before it was healthy; log tail:" +
           tail(log(), 30));
    }
    try {
      HttpClient probe(client_port_, std::chrono::seconds(1));
      const HttpResponse health = probe.get("/health");
      last = std::to_string(health.status) + " " + health.body;
      if (health.status == 200) {
        const auto answer = parse_json(health.body);
        if (answer.IsObject() && answer.HasMember("health") &&
            json_string(answer["health"]) == "true")
          return;
      }
    } catch (const std::exception& error) {
      last = error.what();  // not listening yet
    }
    if (Clock::now() >= deadline)
      fail("etcd at " + client + " not healthy after 20 s (last answer: " + last +
           "); log tail:" + tail(log(), 30));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void EtcdProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

void EtcdProcess::restart() {
  kill();
  start();
}

rapidjson::Document EtcdProcess::call(const std::string& path, const std::string& body) {
  if (pid_ <= 0) fail("etcd " + path + ": etcd is not running");
  const HttpResponse response = http_request(
      client_port_, "POST", "/v3/" + path, {{"Content-Type", "application/json"}}, body);
  if (response.status != 200)
    fail("etcd POST /v3/" + path + " " + body + " answered " + std::to_string(response.status) +
         ": " + response.body);
  return parse_json(response.body);
}

int64_t EtcdProcess::put(const std::string& key, const std::string& value) {
  return header_revision(
      call("kv/put", json_object({{"key", base64_encode(key)}, {"value", base64_encode(value)}})));
}

int64_t EtcdProcess::remove(const std::string& key) {
  return header_revision(call("kv/deleterange", json_object({{"key", base64_encode(key)}})));
}

std::optional<std::string> EtcdProcess::get(const std::string& key) {
  const auto answer = call("kv/range", json_object({{"key", base64_encode(key)}}));
  if (!answer.HasMember("kvs") || !answer["kvs"].IsArray() || answer["kvs"].Empty())
    return std::nullopt;
  const rapidjson::Value& kv = answer["kvs"][0];
  return kv.HasMember("value") ? base64_decode(json_string(kv["value"])) : std::string();
}

int64_t EtcdProcess::revision() {
  // A keys-only count of one key that need not exist: the answer's header is what counts.
  return header_revision(
      call("kv/range", "{\"key\": \"" + base64_encode("/") + "\", \"count_only\": true}"));
}

void EtcdProcess::compact(int64_t revision) {
  call("kv/compaction",
       "{\"revision\": \"" + std::to_string(revision) + "\", \"physical\": true}");
}

// ---- TcpProxy ----

TcpProxy::TcpProxy(uint16_t target) : target_(target) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) fail_errno("pipe2");
  listen();
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  send(Command::stop);
  thread_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::string TcpProxy::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void TcpProxy::listen() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) fail_errno("socket");
  const int on = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);  // 0 the first time: an ephemeral port, kept for resume()
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    fail("TcpProxy cannot listen on 127.0.0.1:" + std::to_string(port_) + ": " +
         std::strerror(error));
  }
  port_ = ntohs(addr.sin_port);
}

void TcpProxy::send(Command command) {
  std::unique_lock<std::mutex> lock(mutex_);
  pending_ = command;
  error_.clear();
  const char byte = 1;
  if (::write(wake_[1], &byte, 1) != 1) fail_errno("TcpProxy wake");
  if (!done_.wait_for(lock, std::chrono::seconds(10), [this] { return pending_ == Command::none; }))
    fail("TcpProxy thread did not answer within 10 s");
  if (!error_.empty()) fail(error_);
}

void TcpProxy::cut() { send(Command::cut); }

void TcpProxy::resume() { send(Command::resume); }

void TcpProxy::run() {
  // Each forwarded connection is a pair of sockets; bytes read from one are written to the
  // other (blocking, bounded by SO_SNDTIMEO: the peers are local test processes).
  struct Pair {
    int client;
    int server;
  };
  std::vector<Pair> pairs;
  auto close_pair = [](const Pair& pair) {
    ::close(pair.client);
    ::close(pair.server);
  };
  auto open_to_target = [this]() -> int {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(target_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  auto set_send_timeout = [](int fd) {
    const timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  };
  // Forwards what `from` has; false when the connection is over.
  auto forward = [](int from, int to) {
    char buffer[65536];
    const ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::send(to, buffer + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
      if (w <= 0) return false;
      done += w;
    }
    return true;
  };
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}};
    if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
    const size_t first_pair = fds.size();
    for (const Pair& pair : pairs) {
      fds.push_back({pair.client, POLLIN, 0});
      fds.push_back({pair.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & POLLIN) {
      char drain[16];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
      std::lock_guard<std::mutex> lock(mutex_);
      const Command command = pending_;
      if (command == Command::cut || command == Command::stop) {
        for (const Pair& pair : pairs) close_pair(pair);
        pairs.clear();
        if (listen_fd_ >= 0) ::close(listen_fd_);
        listen_fd_ = -1;
      } else if (command == Command::resume && listen_fd_ < 0) {
        try {
          listen();
        } catch (const std::exception& error) {
          error_ = error.what();
        }
      }
      pending_ = Command::none;
      done_.notify_all();
      if (command == Command::stop) return;
      continue;  // the fds polled above may be closed now
    }
    std::vector<Pair> kept;
    for (size_t i = 0; i < pairs.size(); ++i) {
      const pollfd& client = fds[first_pair + 2 * i];
      const pollfd& server = fds[first_pair + 2 * i + 1];
      bool open = true;
      if (client.revents & (POLLIN | POLLHUP | POLLERR)) open = forward(pairs[i].client, pairs[i].server);
      if (open && (server.revents & (POLLIN | POLLHUP | POLLERR)))
        open = forward(pairs[i].server, pairs[i].client);
      if (open)
        kept.push_back(pairs[i]);
      else
        close_pair(pairs[i]);
    }
    pairs = std::move(kept);
    if (listen_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      for (;;) {
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) break;
        const int server = open_to_target();
        if (server < 0) {
          ::close(client);  // the target is down: the client sees the connection end
          continue;
        }
        set_send_timeout(client);
        set_send_timeout(server);
        pairs.push_back({client, server});
      }
    }
  }
}

}  // namespace it
