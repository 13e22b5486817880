#pragma once
// Integration test harness: runs the real aitools-server binary (AITOOLS_SERVER_BINARY) in a
// temporary directory and talks HTTP/1.1 to it over plain POSIX sockets.
//
// Typical use:
//
//   it::TempDir dir;
//   it::ServerProcess server(dir, {{"HOT_RELOAD_ENABLE", "false"}},
//                            {{"a.json", R"({"routes": [...]})"}});
//   server.start();                                   // waits for GET /readyz == 200
//   it::HttpClient client(server.port());
//   auto response = client.request("GET", "/v1/x");
//   dir.write_atomic("services/b.json", "...");
//   BOOST_TEST(it::wait_for_generation(server, 2));   // never a fixed sleep
//
// Every function reports a harness failure (cannot fork, server did not start, socket
// timeout, malformed HTTP or JSON) by throwing std::runtime_error with a readable message;
// Boost.Test turns that into a failed test that shows the message.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

#include <rapidjson/document.h>

namespace it {

using namespace std::chrono_literals;

// ---- files ----

// A fresh directory under /tmp (mkdtemp), removed recursively when destroyed.
// Every `relative` path below is relative to path(); parent directories are created.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& relative) const;  // path() + "/" + relative

  // Writes `.NAME.tmp` next to the target, then rename(2)s it over the target: a watcher
  // never sees a partial file.
  void write_atomic(const std::string& relative, const std::string& content) const;
  // open(O_TRUNC) + write in place: a watcher may see the truncated file first.
  void write(const std::string& relative, const std::string& content) const;
  void append(const std::string& relative, const std::string& content) const;
  void remove(const std::string& relative) const;  // a file or a whole directory
  void rename(const std::string& from, const std::string& to) const;
  void mkdir(const std::string& relative) const;
  std::string read(const std::string& relative) const;
  bool exists(const std::string& relative) const;

 private:
  std::string path_;
};

// Reads a whole file; "" when it cannot be read.
std::string read_file(const std::string& path);

// ---- ports ----

// A port that was free a moment ago: binds 127.0.0.1:0, reads the port, closes.
uint16_t free_port();

// A TCP socket listening on an ephemeral port of `address` (e.g. INADDR_LOOPBACK, or
// INADDR_ANY to keep a server from binding the port on any host) for the object's lifetime.
// It never accepts by itself: connections succeed and nothing answers until a test accept()s.
class ListeningSocket {
 public:
  explicit ListeningSocket(uint32_t address);
  ~ListeningSocket();
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// ---- server process ----

using Env = std::map<std::string, std::string>;        // KEY -> value, for aitools.env
using Manifests = std::map<std::string, std::string>;  // file name in services/ -> content
using Args = std::vector<std::string>;

// The content of aitools.env given verbatim (comments, quoting, invalid lines...).
// Made from a string_view only, so that a braced list like {{"KEY", "value"}} is never an
// EnvText and always means an Env.
struct EnvText {
  explicit EnvText(std::string_view content) : text(content) {}
  std::string text;
};

// Renders `env` as KEY=VALUE lines (values written as they are, no quoting).
std::string env_text(const Env& env);

// Writes <dir>/aitools.env and <dir>/services/<name> for every manifest (the services/
// directory is created even when there are no manifests).
void write_setup(const TempDir& dir, const Env& env, const Manifests& manifests = {});
void write_setup(const TempDir& dir, const EnvText& env, const Manifests& manifests = {});

// One aitools-server process started with `--config <dir>/aitools.env` and `args`.
// Unless `args` already contains them, `--port` and `--admin-port` are added with free ports.
// Its stdout and stderr both go to <dir>/server.log; its environment is described above
// run_binary().
class ServerProcess {
 public:
  // Writes the setup now (see write_setup); start() runs the binary. An ADMIN_TOKEN in
  // `env` is remembered and sent by admin_get()/admin_post(). Ports: --port/--admin-port in
  // `args` win; else SERVICE_PORT/ADMIN_PORT set in `env` are used as they are (no flag, so
  // the env file can change them live); else free ports are passed as flags.
  ServerProcess(const TempDir& dir, const Env& env, const Manifests& manifests = {},
                Args args = {});
  ServerProcess(const TempDir& dir, const EnvText& env, const Manifests& manifests = {},
                Args args = {});
  // If still running: SIGTERM, wait up to 5 s, then SIGKILL. When the current test has
  // failed (or is unwinding from an exception) the server log is then printed to stderr.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the process and waits (polling, 10 s at most) until GET /readyz on the admin port
  // answers 200. Throws with the log if the process exits first or the wait times out.
  void start();

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }
  bool running();  // started and not yet reaped

  void signal(int signo) const;
  // Waits for the process to end: its exit code, 128 + N if killed by signal N, or -1 on
  // timeout (the process is then left running).
  int wait_exit(std::chrono::milliseconds timeout = 10s);

  std::string log() const;  // everything the server wrote so far (stdout + stderr)
  std::string log_path() const;

  // Adds KEY=value to the process environment (before start()); the environment overrides
  // the env file and feeds ${KEY} lookups.
  void setenv(const std::string& key, const std::string& value) { environment_[key] = value; }

  // The token admin requests carry ("" = none). Set from ADMIN_TOKEN in the Env.
  void set_admin_token(std::string token) { admin_token_ = std::move(token); }
  const std::string& admin_token() const { return admin_token_; }

 private:
  void init(const TempDir& dir, const EnvText& env, const Manifests& manifests, Args args);

  std::string dir_;
  Args args_;
  Env environment_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string admin_token_;
};

struct RunResult {
  int exit_code = -1;  // as ServerProcess::wait_exit; -1 = timed out (the process was killed)
  std::string out;     // stdout
  std::string err;     // stderr
};

// Starts `program` (a path, or a name looked up in PATH) with `args`, stdin from /dev/null and
// stdout and stderr appended to the file `output`. Its environment is the test's without the
// server's config keys, plus `environment`. Throws when it cannot be started.
pid_t start_program(const std::string& program, const Args& args, const std::string& output,
                    const Env& environment = {});
// `pid`'s exit status (128 + N when signal N ended it) once it has exited, waiting up to
// `timeout`; nullopt while it still runs.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// Runs AITOOLS_SERVER_BINARY with `args` to completion (killed after `timeout`).
// The binaries started by this harness get the test's own environment without the server's
// known config keys (a developer's SERVICE_PORT or LOG_LEVEL must not change what a test
// sees), plus `environment`.
RunResult run_binary(const Args& args, std::chrono::milliseconds timeout = 10s,
                     const Env& environment = {});

// ---- HTTP client ----

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  // The server ends the connection after this response: it said `Connection: close`, or the
  // body ran to the end of the stream. The client then reconnects for its next request.
  bool closed_by_server = false;

  // Case-insensitive lookup of the first header with that name.
  std::optional<std::string> header(std::string_view name) const;
  bool has_header(std::string_view name) const { return header(name).has_value(); }
};

// Blocking HTTP/1.1 client to 127.0.0.1:port over one keep-alive connection.
// Reads Content-Length, chunked and until-close bodies; no body for HEAD, 1xx, 204, 304.
// When the server closed the connection (Connection: close, end of stream, or the request
// cannot be sent on the old connection) the next request opens a new one; connects() counts
// the connections opened, so a test asserts keep-alive with `connects() == 1`.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::chrono::milliseconds timeout = 5s);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Adds Host and, when `body` is not empty or the method is POST/PUT/PATCH, Content-Length.
  HttpResponse request(const std::string& method, const std::string& path,
                       const Headers& headers = {}, const std::string& body = {});
  HttpResponse get(const std::string& path, const Headers& headers = {}) {
    return request("GET", path, headers);
  }

  // The two halves of request(), for tests that act between sending and receiving.
  void send_request(const std::string& method, const std::string& path, const Headers& headers = {},
                    const std::string& body = {});
  HttpResponse read_response();

  // Waits until the server process has read every byte sent on this connection (the server
  // socket's receive queue in /proc/net/tcp is empty): the request has reached the server.
  bool wait_server_read(std::chrono::milliseconds timeout = 5s);
  // Waits until the server closes this connection (end of stream or reset).
  bool wait_closed(std::chrono::milliseconds timeout = 5s);

  int connects() const { return connects_; }
  bool connected() const { return fd_ >= 0; }
  void close();

 private:
  void connect();
  bool peer_closed();  // non-blocking: has the server closed the connection?
  bool send_all(const std::string& data);
  bool fill();                       // reads more bytes into buffer_; false at end of stream
  std::string take_bytes(size_t n);  // the next n bytes of buffer_, reading as needed
  std::string take_line();           // up to the next CRLF, which is dropped
  // Reads the body the response head announces; true when it ran to the end of the stream.
  bool read_body(HttpResponse& response);

  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  int connects_ = 0;
  std::string buffer_;  // received, not yet consumed
  std::string last_method_;
  std::string last_request_;  // resent once if a kept-alive connection turns out closed
  bool reusable_ = false;     // false once the server said Connection: close
  bool fresh_ = false;        // the last request went on a connection opened for it
};

// One request on a new connection.
HttpResponse http_get(uint16_t port, const std::string& path, const Headers& headers = {});
HttpResponse http_request(uint16_t port, const std::string& method, const std::string& path,
                          const Headers& headers = {}, const std::string& body = {});

// ---- admin API and conditions ----

// Admin requests on server.admin_port() carrying the server's admin token if it has one.
HttpResponse admin_get(const ServerProcess& server, const std::string& path);
HttpResponse admin_post(const ServerProcess& server, const std::string& path,
                        const std::string& body = {});
Headers bearer(const std::string& token);  // {{"Authorization", "Bearer " + token}}

// Parses JSON; throws with the text and the error offset when it is not valid.
rapidjson::Document parse_json(const std::string& text);
// The string `value` holds, or "<not a string>" (so a check on a missing or mistyped member
// fails with a readable value instead of a RapidJSON assertion).
std::string json_string(const rapidjson::Value& value);
// GET `path` on the admin port, requires 200, parses the body.
rapidjson::Document admin_json(const ServerProcess& server, const std::string& path);

// Polls `condition` every ~2 ms until it is true (returns true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s);

// "generation" of GET /admin/status.
uint64_t status_generation(const ServerProcess& server);
// Waits until status_generation(server) >= generation.
bool wait_for_generation(const ServerProcess& server, uint64_t generation,
                         std::chrono::milliseconds timeout = 5s);

// ---- aitools-ctl ----

// Runs AITOOLS_CTL_BINARY with `args` to completion (killed after `timeout`), with the
// environment of run_binary minus AITOOLS_ADMIN and AITOOLS_ADMIN_TOKEN, plus `environment`.
RunResult run_ctl(const Args& args, std::chrono::milliseconds timeout = 20s, const Env& environment = {});

}  // namespace it
