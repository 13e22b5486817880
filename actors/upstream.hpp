#pragma once
// The upstream client: one actor that owns a libcurl multi handle and performs outgoing HTTP(S)
// requests for service kinds (proxy, translation, image_generate). It never blocks a CAF worker
// or an HTTP thread: sockets are watched by a small epoll thread that only forwards readiness
// to the actor, and curl's timers are delayed messages. Connections to an upstream are reused
// (curl's connection cache lives in the multi handle).
//
// Streaming (long-lived answers such as etcd's watch): a call with `on_chunk` gets its body
// piece by piece as it arrives, has no overall timeout (only the connect is bounded) and TCP
// keepalive on; its owner ends it with cancel_upstream_call() - a quiet stream gets no chunk
// that could be refused - or by returning false from `on_chunk`.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "http/request.hpp"

namespace aitools {

struct UpstreamRequest {
  std::string method = "GET";
  std::string url;            // absolute http:// or https:// URL, query included (already signed)
  http::HeaderList headers;   // sent as given
  std::string body;
  // Whole exchange: connect, send, receive. A streaming call: the connect only.
  std::chrono::milliseconds timeout{30000};
  // A larger answer fails with Error::too_large; a streamed one is not limited.
  size_t max_response_bytes = 16u << 20;
  std::string ca_file;        // extra CA bundle (PEM) for https; empty: the system's
};

struct UpstreamResult {
  enum class Error : uint8_t {
    none,       // an HTTP answer arrived (any status)
    connect,    // could not resolve or connect, or the connection broke (or a stream was canceled)
    timeout,    // no complete answer within the timeout
    too_large,  // the answer exceeded max_response_bytes
    tls,        // TLS handshake or certificate failure
    protocol,   // not HTTP, or a malformed answer
  };
  Error error = Error::none;
  std::string error_text;  // curl's explanation when error != none
  int status = 0;
  http::HeaderList headers;  // names as received
  std::string body;
  std::chrono::microseconds elapsed{0};
};
const char* to_string(UpstreamResult::Error error);

// One request and what to do with its result. `done` is called exactly once, on the upstream
// actor's thread (also when the actor shuts down, with Error::connect): it must not block.
// A call sent after the actor has exited is dropped unanswered: `done` is only destroyed (a
// Completion it holds then answers 500).
struct UpstreamCall {
  UpstreamRequest request;
  std::function<void(UpstreamResult)> done;
  // Set for a streaming call: each piece of the body (of any status) as it arrives, on the
  // upstream actor's thread; it must not block (hand the piece to its owner by message).
  // Returning false aborts the transfer. `done` still ends the call, with an empty body;
  // an abort or a cancel ends it with Error::connect and error_text "canceled".
  std::function<bool(std::string_view chunk)> on_chunk;
};
using UpstreamCallPtr = std::shared_ptr<UpstreamCall>;

using upstream_actor = caf::typed_actor<caf::reacts_to<fetch_atom, UpstreamCallPtr>>;

// The actor runs until it is sent an exit message (Server::stop does), which joins its
// poller thread.
upstream_actor spawn_upstream(caf::actor_system& system);

// Ends `call` (the pointer that was fetched) if it is still in flight: its `done` gets
// Error::connect, "canceled". Ignored once the call has finished. Any thread. A message to the
// actor spawn_upstream made (not part of upstream_actor, so stand-ins need only `fetch`).
void cancel_upstream_call(const upstream_actor& upstream, UpstreamCallPtr call);

}  // namespace aitools

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::UpstreamCallPtr)
// Config sources get their answers back as messages (actors/config_source.hpp).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::UpstreamResult)
