#pragma once
// A real local upstream for tests: test/upstream/fake_xfyun.py (or another script there, such as
// fake_polaris.py; read their docstrings) run as a python3 process on an ephemeral port, plain
// HTTP or HTTPS with a self-signed certificate.
//
//   it::TempDir dir;
//   it::FakeUpstream upstream(dir, {{"test-key", "test-secret"}});
//   upstream.start();                              // waits until GET /__health answers
//   ... a manifest with "url": upstream.url("/echo/x") ...
//   upstream.set_mode("slow", 2000);               // or garbage, http500, close, normal
//   auto seen = upstream.requests();               // JSON array of what it received
//   upstream.kill();                               // upstream down
//
// Failures (cannot start, control request refused) throw std::runtime_error, like the harness.
#include <cstdint>
#include <map>
#include <string>

#include <sys/types.h>

#include <rapidjson/document.h>

#include "harness.hpp"

namespace it {

using Keys = std::map<std::string, std::string>;  // api_key -> api_secret

struct FakeUpstreamOptions {
  Keys keys = {{"test-key", "test-secret"}};
  std::string app_id = "test-app";  // the app id its translation and image APIs accept; "": none
  // HTTPS with a certificate for IP 127.0.0.1 made by the openssl CLI (see ca_file()).
  bool tls = false;
  // The script under test/upstream/ to run: fake_xfyun.py, or fake_polaris.py (a Polaris
  // config centre; `keys` are then its accounts, username -> password, and `app_id` is "").
  std::string script = "fake_xfyun.py";
};

class FakeUpstream {
 public:
  // Files (keys, port file, log, certificate) go to `dir`/upstream-N/.
  explicit FakeUpstream(const TempDir& dir, FakeUpstreamOptions options = {});
  FakeUpstream(const TempDir& dir, Keys keys);
  ~FakeUpstream();  // kill()
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // Starts the process (again on the same port after stop()/kill()) and waits until
  // /__health answers.
  void start();
  void stop();  // SIGTERM, then SIGKILL after 5 s; waits for the exit
  void kill();  // SIGKILL; waits for the exit
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + path (https:// with TLS).
  std::string url(const std::string& path = "") const;
  // The PEM certificate it serves with TLS: pass as the proxy's ca_file.
  const std::string& ca_file() const { return cert_file_; }

  // Rewrites the keys file atomically; the upstream re-reads it on every request.
  void set_keys(const Keys& keys);
  // POST /__mode: "normal", "slow" (each answer after delay_ms), "garbage", "http500", "close".
  void set_mode(const std::string& mode, int delay_ms = 0);
  // GET /__requests: an array of {method, path, query, headers, body, signed_with, peer_port}.
  rapidjson::Document requests();
  void clear_requests();  // DELETE /__requests

  std::string log() const;

 private:
  // One control request; throws unless it answers 200. Plain HTTP through it::HttpClient,
  // HTTPS through the curl CLI (the harness client speaks no TLS).
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = {});

  std::string dir_;
  FakeUpstreamOptions options_;
  std::string cert_file_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace it
