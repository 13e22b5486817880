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

// See HeaderPtr. Immutable once built (Pistache never parses into response headers), so one
// object may be shared by responses on any thread.
class ResponseHeader final : public PH::Header::Header {
 public:
  ResponseHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& stream) const override { stream << value_; }
  // Pistache checks this hash on typed header casts, which never target this class.
  uint64_t hash() const override { return 0; }

 private:
  std::string name_;
  std::string value_;
};

// Runs `done` once: when the write completed or failed, or else when the callbacks holding
// it are freed. Pistache frees them without calling either when it drops a write: to a peer
// that reset the connection (transport.cc asyncWriteImpl, EPIPE/ECONNRESET) or was removed.
class Settlement {
 public:
  explicit Settlement(std::function<void()> done) : done_(std::move(done)) {}
  Settlement(const Settlement&) = delete;
  Settlement& operator=(const Settlement&) = delete;
  ~Settlement() { settle(); }
  void settle() {
    if (auto done = std::exchange(done_, nullptr)) done();
  }

 private:
  std::function<void()> done_;
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

}  // namespace

HeaderPtr make_header(std::string name, std::string value) {
  return std::make_shared<ResponseHeader>(std::move(name), std::move(value));
}

void add_header(PH::ResponseWriter& writer, std::string name, std::string value) {
  writer.headers().add(make_header(std::move(name), std::move(value)));
}

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

void fix_keep_alive(const PH::Request& request, PH::ResponseWriter& writer) {
  if (request.version() == PH::Version::Http11 &&
      !request.headers().has<PH::Header::Connection>()) {
    writer.headers().remove<PH::Header::Connection>();
    writer.headers().add<PH::Header::Connection>(PH::ConnectionControl::KeepAlive);
  }
}

namespace {

// The Content-Type header of most responses, one object shared by all of them.
HeaderPtr content_type_header(const std::string& type) {
  static const HeaderPtr json = make_header("Content-Type", "application/json");
  return type == "application/json" ? json : make_header("Content-Type", type);
}

}  // namespace

PendingWritePtr send(PH::ResponseWriter& writer, const Response& response, SendOptions options) {
  auto& headers = writer.headers();
  if (!response.content_type.empty()) headers.add(content_type_header(response.content_type));
  for (const auto& [name, value] : response.headers) add_header(writer, name, value);
  if (options.close) {
    headers.remove<PH::Header::Connection>();
    headers.add<PH::Header::Connection>(PH::ConnectionControl::Close);
  }
  // The peer (a weak_ptr lock) and the tracking record only when asked for: the common
  // response, written on its reactor thread and kept alive, needs neither.
  std::shared_ptr<Pistache::Tcp::Peer> peer;
  if (options.track || options.close) {
    try {
      peer = writer.peer();
    } catch (const std::exception&) {
      // The client is already gone; Pistache rejects the send below.
    }
  }
  PendingWritePtr write;
  if (options.track) {
    write = std::make_shared<PendingWrite>();
    write->peer = peer;
  }
  static const std::string empty;
  const std::string& body = options.head ? empty : response.body;
  auto settlement = std::make_shared<Settlement>([write, done = std::move(options.on_settled)] {
    if (write) write->settled = true;
    if (done) done();
  });
  writer.send(static_cast<PH::Code>(response.status), body)
      .then(
          [peer, settlement, close = options.close](ssize_t) {
            // Pistache never closes a connection by itself after a response; shutting the
            // socket down makes its reactor see the end of the stream and release the peer.
            if (close && peer) ::shutdown(peer->fd(), SHUT_RDWR);
            settlement->settle();
          },
          [settlement](std::exception_ptr) { settlement->settle(); });
  return write;
}

bool nudge(PendingWrite& write) {
  constexpr int kMaxNudges = 10;  // with doubling delays from 1 ms: about a second in all
  if (write.settled || !write.peer || ++write.nudges > kMaxNudges) return false;
  send_empty(*write.peer, nullptr);
  return true;
}

void send_empty(Pistache::Tcp::Peer& peer, std::function<void()> on_settled) {
  // Nothing attached when nothing waits: a continuation attached from this thread races with
  // the reactor resolving the write (docs/architecture.md, Pistache notes).
  if (!on_settled) {
    peer.send(Pistache::RawBuffer(std::string(), 0));
    return;
  }
  auto settlement = std::make_shared<Settlement>(std::move(on_settled));
  peer.send(Pistache::RawBuffer(std::string(), 0))
      .then([settlement](ssize_t) { settlement->settle(); },
            [settlement](std::exception_ptr) { settlement->settle(); });
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
