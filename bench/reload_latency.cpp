// Measures the time from an atomic rename of a manifest into the services directory to the
// first response that carries the new generation (X-Route-Generation), as a client polling
// one route over a keep-alive connection sees it.
//
//   reload_latency PORT SERVICES_DIR [TRIALS]
//
// Prints one line per percentile; exits 1 if the server stops answering.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// GET `path` on a keep-alive connection; returns the X-Route-Generation value.
long get_generation(int& fd, int port, const std::string& path) {
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n";
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
      std::string response;
      char buf[4096];
      size_t header_end = std::string::npos;
      size_t need = 0;
      while (true) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        response.append(buf, size_t(n));
        if (header_end == std::string::npos && (header_end = response.find("\r\n\r\n")) != std::string::npos) {
          const auto cl = response.find("Content-Length: ");
          need = header_end + 4 + (cl == std::string::npos ? 0 : std::strtoul(response.c_str() + cl + 16, nullptr, 10));
        }
        if (header_end != std::string::npos && response.size() >= need) {
          const auto g = response.find("X-Route-Generation: ");
          return g == std::string::npos ? -1 : std::strtol(response.c_str() + g + 20, nullptr, 10);
        }
      }
    }
    ::close(fd);
    fd = connect_to(port);
  }
  std::fprintf(stderr, "server stopped answering\n");
  std::exit(1);
}

void write_manifest(const std::string& path, int version) {
  std::ofstream out(path, std::ios::trunc);
  out << R"({"routes":[{"method":"GET","path":"/bench/latency","kind":"static","options":{"body":{"version":)"
      << version << "}}}]}";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: reload_latency PORT SERVICES_DIR [TRIALS]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string dir = argv[2];
  const int trials = argc > 3 ? std::atoi(argv[3]) : 50;
  const std::string target = dir + "/bench-latency.json";
  const std::string temp = dir + "/.bench-latency.json.tmp";
  int fd = connect_to(port);
  std::vector<double> millis;
  for (int i = 0; i <= trials; ++i) {
    const long before = get_generation(fd, port, "/bench/latency");
    write_manifest(temp, i);
    const auto start = Clock::now();
    std::rename(temp.c_str(), target.c_str());
    while (get_generation(fd, port, "/bench/latency") <= before) {
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (i > 0) millis.push_back(ms);  // trial 0 creates the file
    // Leave the debounce window so every trial measures a leading-edge reload.
    const auto quiet_until = Clock::now() + std::chrono::milliseconds(120);
    while (Clock::now() < quiet_until) get_generation(fd, port, "/bench/latency");
  }
  std::remove(target.c_str());
  std::sort(millis.begin(), millis.end());
  auto pct = [&](double p) { return millis[std::min(millis.size() - 1, size_t(p * millis.size()))]; };
  std::printf("trials=%zu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", millis.size(), pct(0.5),
              pct(0.9), pct(0.99), millis.back());
  return 0;
}
