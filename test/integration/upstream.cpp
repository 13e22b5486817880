#include "upstream.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace it {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// Runs `argv` to completion (20 s at most); its output goes to `output`.
int run_program(const std::vector<std::string>& argv, const std::string& output) {
  const pid_t pid = start_program(argv[0], Args(argv.begin() + 1, argv.end()), output);
  if (auto code = wait_exit(pid, std::chrono::seconds(20))) return *code;
  ::kill(pid, SIGKILL);
  wait_exit(pid, std::chrono::seconds(5));
  return -1;
}

std::string json_quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

FakeUpstream::FakeUpstream(const TempDir& dir, FakeUpstreamOptions options)
    : options_(std::move(options)) {
  static std::atomic<int> instances{0};
  const std::string name = "upstream-" + std::to_string(++instances);
  dir.mkdir(name);
  dir_ = dir.file(name);
  set_keys(options_.keys);
  if (options_.tls) {
    cert_file_ = dir_ + "/cert.pem";
    const int code = run_program(
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir_ + "/key.pem",
         "-out", cert_file_},
        dir_ + "/openssl.log");
    if (code != 0) fail("openssl req failed (" + std::to_string(code) + "): " + read_file(dir_ + "/openssl.log"));
  }
}

FakeUpstream::FakeUpstream(const TempDir& dir, Keys keys)
    : FakeUpstream(dir, FakeUpstreamOptions{std::move(keys)}) {}

FakeUpstream::~FakeUpstream() {
  if (pid_ > 0) kill();
}

void FakeUpstream::start() {
  if (pid_ > 0) fail("FakeUpstream::start while running");
  const std::string port_file = dir_ + "/port";
  ::unlink(port_file.c_str());
  std::vector<std::string> argv = {"python3", std::string(AITOOLS_SOURCE_DIR) + "/test/upstream/" + options_.script,
                                   "--keys", dir_ + "/keys.json",
                                   "--port-file", port_file, "--port", std::to_string(port_)};
  if (!options_.app_id.empty()) argv.insert(argv.end(), {"--app-id", options_.app_id});
  if (options_.tls) {
    argv.insert(argv.end(), {"--tls", cert_file_, dir_ + "/key.pem"});
  }
  pid_ = start_program(argv[0], Args(argv.begin() + 1, argv.end()), dir_ + "/upstream.log");
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::string written;
  while ((written = read_file(port_file)).empty()) {
    if (wait_exit(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      fail("fake upstream exited before it listened; log:\n" + log());
    }
    if (Clock::now() >= deadline) fail("fake upstream did not listen within 10 s; log:\n" + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  port_ = static_cast<uint16_t>(std::stoi(written));
  control("GET", "/__health");
}

void FakeUpstream::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_exit(pid_, std::chrono::seconds(5))) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
}

void FakeUpstream::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, std::chrono::seconds(5));
  pid_ = -1;
}

std::string FakeUpstream::url(const std::string& path) const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         path;
}

void FakeUpstream::set_keys(const Keys& keys) {
  std::string json = "{";
  for (const auto& [key, secret] : keys)
    json += (json.size() > 1 ? ", " : "") + json_quoted(key) + ": " + json_quoted(secret);
  json += "}";
  const std::string path = dir_ + "/keys.json";
  const std::string temporary = path + ".tmp";
  {
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::write(fd, json.data(), json.size()) != static_cast<ssize_t>(json.size()))
      fail("cannot write " + temporary);
    ::close(fd);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) fail("cannot rename " + temporary);
}

void FakeUpstream::set_mode(const std::string& mode, int delay_ms) {
  control("POST", "/__mode",
          "{\"mode\": " + json_quoted(mode) + ", \"delay_ms\": " + std::to_string(delay_ms) + "}");
}

rapidjson::Document FakeUpstream::requests() { return parse_json(control("GET", "/__requests")); }

void FakeUpstream::clear_requests() { control("DELETE", "/__requests"); }

std::string FakeUpstream::log() const { return read_file(dir_ + "/upstream.log"); }

std::string FakeUpstream::control(const std::string& method, const std::string& path,
                                  const std::string& body) {
  if (!options_.tls) {
    HttpResponse response = http_request(port_, method, path, {{"Content-Type", "application/json"}}, body);
    if (response.status != 200)
      fail("fake upstream " + method + " " + path + ": " + std::to_string(response.status) + " " +
           response.body);
    return response.body;
  }
  const std::string output = dir_ + "/control.out";
  ::unlink(output.c_str());
  std::vector<std::string> argv = {"curl", "--silent", "--show-error", "--fail", "--cacert",
                                   cert_file_, "-X", method, url(path)};
  if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
  if (run_program(argv, output) != 0)
    fail("fake upstream " + method + " " + path + " (curl): " + read_file(output));
  return read_file(output);
}

}  // namespace it
