#include "http/pistache_adapter.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include <sys/socket.h>

#include <pistache/peer.h>

#include "http/router.hpp"

namespace aitools::http {

namespace PH = Pistache::Http;

namespace {

// Runs `done` once: when the write completed or failed, or else when the callbacks holding
// it are freed. Pistache frees them without calling either when it drops a write: to a peer
// that reset the connection (transport.cc asyncWriteImpl, EPIPE/ECONNRESET) or was removed.
class Settlement {
 public:
  Settlement(std::function<void()> done, PendingWritePtr write)
      : done_(std::move(done)), write_(std::move(write)) {}
  Settlement(const Settlement&) = delete;
  Settlement& operator=(const Settlement&) = delete;
  ~Settlement() { settle(); }
  void settle() {
    if (auto write = std::exchange(write_, nullptr)) write->settled = true;
    if (auto done = std::exchange(done_, nullptr)) done();
  }

 private:
  std::function<void()> done_;
  PendingWritePtr write_;  // marked settled too, if the writer tracks the write
};

// NUL, CR, LF and the other C0 controls but tab, and DEL: never part of a target or a value.
bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7f;
  });
}

// Digits, then the trailing whitespace Pistache leaves in a header value.
bool is_decimal(std::string_view text) {
  const size_t end = text.find_first_not_of("0123456789");
  if (text.empty() || end == 0) return false;
  return end == std::string_view::npos ||
         text.find_first_not_of(" \t", end) == std::string_view::npos;
}

// Settles `settlement` once the write behind `written` is done or failed; after a successful
// write, first shuts down `closing`'s socket if given: Pistache never closes a connection by
// itself after a response, and the end of the stream makes its reactor release the peer.
void settle_after(Pistache::Async::Promise<ssize_t> written,
                  std::shared_ptr<Settlement> settlement,
                  std::shared_ptr<Pistache::Tcp::Peer> closing = nullptr) {
  written.then(
      [settlement, closing](ssize_t) {
        if (closing) ::shutdown(closing->fd(), SHUT_RDWR);
        settlement->settle();
      },
      [settlement](std::exception_ptr) { settlement->settle(); });
}

}  // namespace

PistacheRequest::PistacheRequest(const PH::Request& request)
    : request_(request), method_(PH::methodString(request.method())) {}

// Pistache keeps the parameters as written; decoded here as a form would be ('+' is a space),
// as FastAPI does.
HeaderList PistacheRequest::query() const {
  const auto& q = request_.query();
  HeaderList out;
  for (auto param = q.parameters_begin(); param != q.parameters_end(); ++param) {
    auto decode = [](std::string text) {
      std::replace(text.begin(), text.end(), '+', ' ');
      return percent_decode(text);
    };
    out.emplace_back(decode(param->first), decode(param->second));
  }
  return out;
}

// Pistache's parser keeps every request header in its raw list (known ones also typed).
HeaderList PistacheRequest::headers() const {
  HeaderList out;
  for (const auto& [name, raw] : request_.headers().rawList()) out.emplace_back(raw.name(), raw.value());
  return out;
}

std::optional<std::string> PistacheRequest::header(std::string_view name) const {
  if (auto raw = request_.headers().tryGetRaw(std::string(name))) return raw->value();
  return std::nullopt;
}

std::optional<Method> from_pistache(PH::Method method) {
  switch (method) {
    case PH::Method::Get: return Method::GET;
    case PH::Method::Head: return Method::HEAD;
    case PH::Method::Post: return Method::POST;
    case PH::Method::Put: return Method::PUT;
    case PH::Method::Delete: return Method::DELETE;
    case PH::Method::Patch: return Method::PATCH;
    case PH::Method::Options: return Method::OPTIONS;
    default: return std::nullopt;
  }
}

std::optional<Response> reject_head(const PH::Request& request) {
  // Sizes and a scan of the bytes only: this runs on every request, so nothing is copied.
  size_t target = request.resource().size();
  bool clean = !has_control(request.resource());
  const auto& query = request.query();
  for (auto param = query.parameters_begin(); param != query.parameters_end(); ++param) {
    target += param->first.size() + param->second.size() + 2;  // "?k=v" or "&k=v"
    clean = clean && !has_control(param->first) && !has_control(param->second);
  }
  if (target > kMaxHeadBytes) return detail_response(414, "URI Too Long");
  if (!clean) return detail_response(400, "Bad Request: control character in the target");
  size_t head = target;
  for (const auto& [name, raw] : request.headers().rawList()) {
    head += name.size() + raw.value().size() + 4;  // "name: value\r\n"
    if (!is_token(name)) return detail_response(400, "Bad Request: invalid header name");
    if (has_control(raw.value()))
      return detail_response(400, "Bad Request: control character in a header value");
  }
  if (head > kMaxHeadBytes) return detail_response(431, "Request Header Fields Too Large");
  if (auto length = request.headers().tryGetRaw("Content-Length");
      length && !is_decimal(length->value()))
    return detail_response(400, "Bad Request: Content-Length is not a number");
  return std::nullopt;
}

ReplyFrame reply_frame(const PH::Request& request) {
  ReplyFrame frame;
  frame.http10 = request.version() == PH::Version::Http10;
  frame.head = request.method() == PH::Method::Head;
  const auto connection = request.headers().tryGet<PH::Header::Connection>();
  if (connection && connection->control() != PH::ConnectionControl::Ext)
    frame.keep_alive = connection->control() == PH::ConnectionControl::KeepAlive;
  else
    frame.keep_alive = !frame.http10;
  return frame;
}

std::string render_response(const ReplyFrame& frame, const Response& response, bool close) {
  const std::string_view reason = PH::codeString(static_cast<PH::Code>(response.status));
  const size_t extra = frame.extra_lines ? frame.extra_lines->size() : 0;
  const std::string_view body = frame.head ? std::string_view() : std::string_view(response.body);
  std::string text;
  text.reserve(128 + extra + body.size());
  auto line = [&text](std::string_view name, std::string_view value) {
    text.append(name).append(": ").append(value).append("\r\n");
  };
  text.append(frame.http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
      .append(std::to_string(response.status))
      .append(" ")
      .append(reason)
      .append("\r\n");
  if (!response.content_type.empty()) line("Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) line(name, value);
  if (extra) text.append(*frame.extra_lines);
  line("Connection", frame.keep_alive && !close ? "keep-alive" : "close");
  line("Content-Length", std::to_string(response.body.size()));
  text.append("\r\n").append(body);
  return text;
}

PendingWritePtr send(PH::ResponseWriter& writer, const ReplyFrame& frame, const Response& response,
                     SendOptions options) {
  std::shared_ptr<Pistache::Tcp::Peer> peer = writer.getPeer();
  PendingWritePtr write;
  if (options.track) {
    write = std::make_shared<PendingWrite>();
    write->peer = peer;
  }
  auto settlement = std::make_shared<Settlement>(std::move(options.on_settled), write);
  if (!peer) return write;  // the client is gone: `settlement` settles as it goes
  // As Pistache's own send does: the connection is idle again, so its keep-alive timeout
  // (not the header timeout) applies until the next request.
  peer->setIdle(true);
  // A client that will not keep the connection (HTTP/1.0, `Connection: close`) is done with it.
  const bool close = options.close || !frame.keep_alive;
  std::string text = render_response(frame, response, close);
  const size_t size = text.size();
  settle_after(peer->send(Pistache::RawBuffer(std::move(text), size)), std::move(settlement),
               close ? peer : nullptr);
  return write;
}

bool nudge(PendingWrite& write) {
  constexpr int kMaxNudges = 10;  // with doubling delays from 1 ms: about a second in all
  if (write.settled || !write.peer || ++write.nudges > kMaxNudges) return false;
  send_empty(*write.peer, nullptr);
  return true;
}

void send_empty(Pistache::Tcp::Peer& peer, std::function<void()> on_settled) {
  if (!on_settled) {  // nothing waits for it
    peer.send(Pistache::RawBuffer(std::string(), 0));
    return;
  }
  settle_after(peer.send(Pistache::RawBuffer(std::string(), 0)),
               std::make_shared<Settlement>(std::move(on_settled), nullptr));
}

void EndpointShutdown::operator()(PH::Endpoint* endpoint) const {
  endpoint->shutdown();
  delete endpoint;
}

Listener listen(const ListenerOptions& options, std::shared_ptr<PH::Handler> handler) {
  Listener listener;
  try {
    EndpointPtr endpoint(
        new PH::Endpoint(Pistache::Address(options.host, Pistache::Port(options.port))));
    endpoint->init(PH::Endpoint::options()
                       .threads(static_cast<int>(options.threads))
                       .flags(Pistache::Tcp::Options::ReuseAddr)
                       .maxRequestSize(options.max_request_bytes + kMaxHeadBytes)
                       .headerTimeout(options.header_timeout)
                       .bodyTimeout(options.body_timeout)
                       .keepaliveTimeout(options.keepalive_timeout));
    endpoint->setHandler(std::move(handler));
    endpoint->serveThreaded();
    listener.port = static_cast<uint16_t>(endpoint->getPort());
    listener.endpoint = std::move(endpoint);
  } catch (const std::exception& e) {
    listener.error = "cannot listen on " + options.host + ":" + std::to_string(options.port) +
                     ": " + e.what();
  }
  return listener;
}

Response detail_response(int status, std::string_view detail) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = "{\"detail\":\"";
  append_json_escaped(response.body, detail);
  response.body += "\"}";
  return response;
}

}  // namespace aitools::http
