#pragma once
// The Pistache side of HTTP: request views, response writing, keep-alive and connection
// closing, shared by the main and admin listeners.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include "http/method.hpp"
#include "http/request.hpp"

namespace aitools::http {

// http::Request over a Pistache request (valid while the Pistache request is).
class PistacheRequest final : public Request {
 public:
  explicit PistacheRequest(const Pistache::Http::Request& request);
  std::string_view method() const override { return method_; }
  std::string_view path() const override { return request_.resource(); }
  HeaderList query() const override;
  HeaderList headers() const override;
  std::optional<std::string> header(std::string_view name) const override;
  std::string_view body() const override { return request_.body(); }

 private:
  const Pistache::Http::Request& request_;
  std::string method_;
};

std::optional<Method> from_pistache(Pistache::Http::Method method);

// What a response takes from its request, decided when the request arrives.
struct ReplyFrame {
  bool http10 = false;     // an HTTP/1.0 request, answered in HTTP/1.0
  bool keep_alive = true;  // the client keeps the connection open after the response
  bool head = false;       // HEAD: the response's headers without its body
  // Header lines every response to this request carries ("Name: value\r\n" each), or null.
  std::shared_ptr<const std::string> extra_lines;
};

// The request's version, HEAD, and its Connection header (or, without one, its version's
// default: keep-alive for HTTP/1.1, where Pistache would answer "Connection: Close" yet keep
// the socket open, so clients reconnected for every request).
ReplyFrame reply_frame(const Pistache::Http::Request& request);

// A response handed to Pistache, until its bytes are written (or the write failed).
//
// Pistache 0.0.5 can strand a write pushed from a thread other than the connection's reactor:
// its write queue reads away the reactor's wake-up when it finds the queue empty, so a push
// racing with that read is left queued until the next write on that reactor. Writers on other
// threads (actors) therefore nudge() until the write has settled.
struct PendingWrite {
  std::shared_ptr<Pistache::Tcp::Peer> peer;
  std::atomic<bool> settled{false};
  int nudges = 0;
};
using PendingWritePtr = std::shared_ptr<PendingWrite>;

// Wakes the peer's reactor with an empty write. Returns whether it is worth nudging again
// later: false once the write settled, the peer is gone, or after a bounded number of tries.
bool nudge(PendingWrite& write);

// Pushes an empty write to `peer`, which wakes its reactor; `on_settled`, if any, runs once it
// was written, failed or was dropped.
void send_empty(Pistache::Tcp::Peer& peer, std::function<void()> on_settled);

struct SendOptions {
  // Shut the connection down once the response is written (as for a frame without keep-alive).
  bool close = false;
  bool track = false;  // return a PendingWrite (writers on a thread other than the reactor's)
  std::function<void()> on_settled;  // once: after the write completed, failed or was dropped
};

// The response's bytes: status line, Content-Type, the response's headers, the frame's extra
// lines, Connection, Content-Length and (but for HEAD) the body. `close` says
// "Connection: close" whatever the client asked for.
std::string render_response(const ReplyFrame& frame, const Response& response, bool close);

// Writes `response` to the writer's connection and applies `options`. With `options.track`,
// the returned handle tells when the write settled; otherwise it is null.
//
// The bytes are rendered here and pushed to the peer, not sent through the writer: Pistache
// 0.0.5's ResponseWriter::send chains a second promise whose continuations its reactor runs
// without the promise's lock, so a continuation attached from another thread (an actor
// answering) races with the write's completion and crashed the reactor under ASan. The
// peer's own write promise is attached to and resolved under its lock.
PendingWritePtr send(Pistache::Http::ResponseWriter& writer, const ReplyFrame& frame,
                     const Response& response, SendOptions options = {});

// Room for the request line and headers in Pistache's buffer, on top of the body limit.
constexpr uint64_t kMaxHeadBytes = 64 * 1024;

// The answer to a request head Pistache accepted but we must not serve, or nothing:
// - 414 when the target, 431 when the request line and headers are larger than kMaxHeadBytes
//   (estimated from what Pistache kept: one header per name, so repeats are bounded only by
//   its buffer and its own 413);
// - 400 for a control character in the target or a header value, a header name that is not
//   an RFC 9110 token (Pistache joins a line without a colon to the next header's name), or a
//   Content-Length that is not a number (Pistache reads it as 0 and drops the body).
std::optional<Response> reject_head(const Pistache::Http::Request& request);

struct ListenerOptions {
  std::string host;
  uint16_t port = 0;  // 0: an ephemeral port
  unsigned threads = 1;
  uint64_t max_request_bytes = 1048576;  // body limit in force at startup (sizes the buffer)
  // Pistache's connection timeouts; the defaults are the settings' (config/settings.hpp).
  std::chrono::milliseconds header_timeout{60000};
  std::chrono::milliseconds body_timeout{60000};
  std::chrono::milliseconds keepalive_timeout{75000};
};

// Stops serving (joins the reactor threads) before freeing the endpoint.
struct EndpointShutdown {
  void operator()(Pistache::Http::Endpoint* endpoint) const;
};
using EndpointPtr = std::unique_ptr<Pistache::Http::Endpoint, EndpointShutdown>;

// A bound, serving endpoint, or why there is none.
struct Listener {
  EndpointPtr endpoint;
  uint16_t port = 0;
  std::string error;  // "cannot listen on HOST:PORT: <reason>"
};

Listener listen(const ListenerOptions& options, std::shared_ptr<Pistache::Http::Handler> handler);

// {"detail": "<text>"} with the given status, FastAPI's error shape.
Response detail_response(int status, std::string_view detail);

}  // namespace aitools::http
