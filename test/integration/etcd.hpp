#pragma once
// A real etcd for cluster tests: /usr/bin/etcd (3.4) as a one-member cluster on free loopback
// ports with its own data directory, driven through its v3 HTTP/JSON gateway; and a TCP
// forwarder that can cut clients off from it while it keeps running.
//
// Typical use:
//
//   it::TempDir dir;
//   it::EtcdProcess etcd(dir);
//   etcd.start();                                  // waits until GET /health is healthy
//   it::TcpProxy proxy(etcd.port());               // nodes connect to proxy.endpoint()
//   const int64_t revision = etcd.put("/aitools/t1/services/a.json", "{...}");
//   auto value = etcd.get("/aitools/t1/acks/node-1");   // std::nullopt when absent
//   proxy.cut();                                   // every forwarded connection closed,
//   ...                                            // new ones refused
//   etcd.compact(etcd.revision());
//   proxy.resume();
//   etcd.kill();                                   // SIGKILL; restart() = same ports and data
//
// Keys and values are plain strings here; the harness base64-encodes them for the gateway.
// Every failure (cannot start, not healthy in time, an error answer) throws
// std::runtime_error with a readable message (with the tail of etcd's log where it helps),
// like harness.hpp.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <sys/types.h>

#include "harness.hpp"

namespace it {

class EtcdProcess {
 public:
  // Picks the client and peer ports now; data and log go to `dir`/etcd-N/.
  explicit EtcdProcess(const TempDir& dir);
  ~EtcdProcess();  // kill() if running; the data directory goes with `dir`
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Starts etcd (again on the same ports and data after kill()) and waits, 20 s at most,
  // until GET /health answers {"health":"true"}. Throws with the log's tail otherwise.
  void start();
  void kill();     // SIGKILL, then waits for the exit; nothing if not running
  void restart();  // kill() if running, then start()

  uint16_t port() const { return client_port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<client port>"
  std::string log() const;       // everything etcd wrote so far (stdout + stderr)

  // ---- v3 gateway (each call throws on a transport failure or an error answer) ----
  // The store revision after the write.
  int64_t put(const std::string& key, const std::string& value);
  int64_t remove(const std::string& key);
  std::optional<std::string> get(const std::string& key);
  int64_t revision();  // the current store revision
  // Compacts the history up to `revision` (physically), so a watch from an older revision
  // is cancelled with compact_revision.
  void compact(int64_t revision);


 private:
  // POST <endpoint>/v3/<path> with a JSON body; the parsed answer. Throws unless 200.
  rapidjson::Document call(const std::string& path, const std::string& body);

  std::string dir_;
  std::string data_dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
};

// Forwards TCP connections from 127.0.0.1:port() to 127.0.0.1:<target>, on its own thread.
// cut() closes every forwarded connection and stops listening (new connections are refused);
// resume() listens again on the same port.
class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"

  // Both return once the forwarding thread has done it.
  void cut();
  void resume();

 private:
  enum class Command { none, cut, resume, stop };
  void run();
  void listen();
  void send(Command command);  // hands `command` to the thread and waits until it is done

  uint16_t target_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: a command is pending
  std::mutex mutex_;
  std::condition_variable done_;
  Command pending_ = Command::none;
  std::string error_;  // set by the thread when resume() cannot listen again
  std::thread thread_;
};

}  // namespace it
