// Reload measurements against a running aitools-server, as a client over HTTP sees them.
//
//   reload-bench latency PORT SERVICES_DIR [TRIALS]
//       atomic rename of a manifest -> first response carrying the new generation
//       (X-Route-Generation), polled over one keep-alive connection; trials are spaced past
//       the debounce window, so each measures a leading-edge reload.
//   reload-bench burst PORT SERVICES_DIR [SAVES] [WINDOW_MS]
//       SAVES atomic saves spread over WINDOW_MS: how many generations they cost, and
//       whether the state finally served is the last write.
//   reload-bench churn PORT ADMIN_PORT SERVICES_DIR SERVER_PID [RELOADS]
//       RELOADS manifest changes, each applied by POST /admin/reload (which answers once the
//       change is served): the server's RSS after the first 100 and after all of them.
//
// Prints one line of key=value results; exits 1 if the server stops answering.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "reload-bench: %s\n", what.c_str());
  std::exit(1);
}

struct Response {
  int status = 0;
  long generation = -1;  // X-Route-Generation, -1 when absent
  std::string body;
};

// One keep-alive HTTP/1.1 connection to 127.0.0.1:port that reconnects when the server
// closes it.
class Connection {
 public:
  explicit Connection(int port) : port_(port) { open(); }
  ~Connection() { ::close(fd_); }

  Response request(const std::string& method, const std::string& path) {
    const std::string request = method + " " + path +
                                " HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n";
    for (int attempt = 0; attempt < 2; ++attempt) {
      Response response;
      if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size()) &&
          read_response(response))
        return response;
      ::close(fd_);
      open();
    }
    fail("the server stopped answering " + method + " " + path);
  }

 private:
  void open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      fail("cannot connect to port " + std::to_string(port_) + ": " + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  bool read_response(Response& response) {
    std::string data;
    char buf[8192];
    size_t header_end = std::string::npos;
    size_t need = 0;
    while (header_end == std::string::npos || data.size() < need) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, size_t(n));
      if (header_end == std::string::npos &&
          (header_end = data.find("\r\n\r\n")) != std::string::npos) {
        const auto length = data.find("Content-Length: ");
        need = header_end + 4 +
               (length == std::string::npos ? 0 : std::strtoul(data.c_str() + length + 16, nullptr, 10));
      }
    }
    response.status = std::atoi(data.c_str() + 9);
    const auto generation = data.find("X-Route-Generation: ");
    if (generation != std::string::npos && generation < header_end)
      response.generation = std::strtol(data.c_str() + generation + 20, nullptr, 10);
    response.body = data.substr(header_end + 4, need - header_end - 4);
    return true;
  }

  int port_;
  int fd_ = -1;
};

constexpr const char* kRoute = "/bench/reload";

// Saves version `version` of the bench manifest the way deploy tools do: temp file + rename.
void save_manifest(const std::string& dir, int version) {
  const std::string target = dir + "/bench-reload.json";
  const std::string temp = dir + "/.bench-reload.json.tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << R"({"routes":[{"method":"GET","path":")" << kRoute
        << R"(","kind":"static","options":{"body":{"version":)" << version << "}}}]}";
  }
  if (std::rename(temp.c_str(), target.c_str()) != 0) fail("rename into " + dir + " failed");
}

bool serves_version(const Response& response, int version) {
  return response.status == 200 &&
         response.body.find("\"version\":" + std::to_string(version) + "}") != std::string::npos;
}

// Polls until `version` is served; returns the response that showed it.
Response wait_for_version(Connection& client, int version, std::chrono::seconds patience) {
  const auto deadline = Clock::now() + patience;
  while (Clock::now() < deadline) {
    Response response = client.request("GET", kRoute);
    if (serves_version(response, version)) return response;
  }
  fail("version " + std::to_string(version) + " was never served");
}

int latency(int port, const std::string& dir, int trials) {
  Connection client(port);
  save_manifest(dir, 0);
  wait_for_version(client, 0, std::chrono::seconds(10));
  std::vector<double> millis;
  for (int i = 1; i <= trials; ++i) {
    // Leave the debounce window, so that every trial measures a leading-edge reload.
    const auto quiet_until = Clock::now() + std::chrono::milliseconds(120);
    long before = -1;
    while (Clock::now() < quiet_until) before = client.request("GET", kRoute).generation;
    const auto start = Clock::now();
    save_manifest(dir, i);
    while (client.request("GET", kRoute).generation <= before) {
    }
    millis.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(millis.begin(), millis.end());
  auto pct = [&](double p) { return millis[std::min(millis.size() - 1, size_t(p * millis.size()))]; };
  std::printf("trials=%zu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", millis.size(),
              pct(0.5), pct(0.9), pct(0.99), millis.back());
  return 0;
}

int burst(int port, const std::string& dir, int saves, int window_ms) {
  Connection client(port);
  save_manifest(dir, 0);
  const long before = wait_for_version(client, 0, std::chrono::seconds(10)).generation;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // out of the debounce window
  const auto start = Clock::now();
  for (int i = 1; i <= saves; ++i) {
    save_manifest(dir, i);
    std::this_thread::sleep_until(start + std::chrono::milliseconds(window_ms) * i / saves);
  }
  const long after = wait_for_version(client, saves, std::chrono::seconds(10)).generation;
  const double settle_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count() - window_ms;
  // Nothing may be held back: a little later the last write must still be what serves.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const Response final_response = client.request("GET", kRoute);
  std::printf("saves=%d window_ms=%d generations=%ld final_correct=%s settle_ms=%.1f\n", saves,
              window_ms, final_response.generation - before,
              serves_version(final_response, saves) && final_response.generation == after ? "yes" : "no",
              settle_ms);
  return serves_version(final_response, saves) ? 0 : 1;
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  fail("cannot read the RSS of pid " + std::to_string(pid));
}

int churn(int port, int admin_port, const std::string& dir, int pid, int reloads) {
  Connection client(port);
  Connection admin(admin_port);
  long rss_after_100 = 0;
  const long rss_start = rss_kib(pid);
  const auto start = Clock::now();
  for (int i = 1; i <= reloads; ++i) {
    save_manifest(dir, i);
    const Response reloaded = admin.request("POST", "/admin/reload");
    if (reloaded.status != 200) fail("POST /admin/reload answered " + std::to_string(reloaded.status));
    if (!serves_version(client.request("GET", kRoute), i))
      fail("reload " + std::to_string(i) + " was answered before it served");
    if (i == 100) rss_after_100 = rss_kib(pid);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const long rss_end = rss_kib(pid);
  std::printf("reloads=%d seconds=%.1f rss_start_kib=%ld rss_after_100_kib=%ld rss_end_kib=%ld "
              "growth_after_100_kib=%ld\n",
              reloads, seconds, rss_start, rss_after_100, rss_end, rss_end - rss_after_100);
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: reload-bench latency PORT SERVICES_DIR [TRIALS]\n"
               "       reload-bench burst PORT SERVICES_DIR [SAVES] [WINDOW_MS]\n"
               "       reload-bench churn PORT ADMIN_PORT SERVICES_DIR SERVER_PID [RELOADS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto arg = [&](size_t i, int fallback) { return i < args.size() ? std::atoi(args[i].c_str()) : fallback; };
  if (args.size() >= 3 && args[0] == "latency") return latency(arg(1, 0), args[2], arg(3, 200));
  if (args.size() >= 3 && args[0] == "burst") return burst(arg(1, 0), args[2], arg(3, 100), arg(4, 1000));
  if (args.size() >= 5 && args[0] == "churn")
    return churn(arg(1, 0), arg(2, 0), args[3], arg(4, 0), arg(5, 10000));
  return usage();
}
