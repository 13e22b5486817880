#include "actors/upstream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include <caf/all.hpp>

#include "util/log.hpp"

namespace aitools {

const char* to_string(UpstreamResult::Error error) {
  switch (error) {
    case UpstreamResult::Error::none: return "none";
    case UpstreamResult::Error::connect: return "connect";
    case UpstreamResult::Error::timeout: return "timeout";
    case UpstreamResult::Error::too_large: return "too_large";
    case UpstreamResult::Error::tls: return "tls";
    case UpstreamResult::Error::protocol: return "protocol";
  }
  return "unknown";
}

namespace {

using std::chrono::steady_clock;
using Error = UpstreamResult::Error;

using socket_atom = caf::atom_constant<caf::atom("socket")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

// The actor's whole interface: fetch, cancel_upstream_call(), and what its poller thread and
// curl's timer send it.
using upstream_impl = upstream_actor::extend<
    caf::reacts_to<cancel_atom, UpstreamCallPtr>,
    caf::reacts_to<socket_atom, int, int>,  // a socket is ready: fd, CURL_CSELECT_* bits
    caf::reacts_to<tick_atom, uint64_t>>;   // curl's timer expired (its sequence number)

// Connection cache limits: idle connections kept for reuse, and open ones at a time (further
// transfers wait in curl's queue, their timeout running).
constexpr long kMaxIdleConnections = 64;
constexpr long kMaxHostConnections = 64;
constexpr long kMaxTotalConnections = 256;
// A streaming call's connection is probed after this long without traffic, then at this
// interval, so a peer that vanished without closing (host down, network cut) ends the stream.
constexpr long kStreamKeepaliveIdleS = 10;
constexpr long kStreamKeepaliveIntervalS = 5;

// Waits for socket readiness on its own thread and only tells the actor: every socket is
// armed for one event (EPOLLONESHOT), so nothing repeats until the actor has acted on it and
// armed it again. Stopped through an eventfd.
class Poller {
 public:
  explicit Poller(caf::actor target) : target_(std::move(target)) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      error_ = std::string("cannot create the upstream poller: ") + std::strerror(errno);
      return;
    }
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.fd = wake_fd_;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake);
    thread_ = std::thread([this] { run(); });
  }
  ~Poller() {
    if (thread_.joinable()) {
      const uint64_t one = 1;
      [[maybe_unused]] auto written = write(wake_fd_, &one, sizeof one);
      thread_.join();
    }
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  const std::string& error() const { return error_; }

  // Arms `fd` for one event of what curl waits for (CURL_POLL_IN, _OUT or _INOUT).
  void watch(int fd, int what) {
    epoll_event event{};
    event.events = EPOLLONESHOT | ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                   ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT)
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }
  void forget(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

 private:
  void run() {
    epoll_event events[64];
    for (;;) {
      const int n = epoll_wait(epoll_fd_, events, 64, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        log::error("upstream_poller", {{"error", std::strerror(errno)}});
        return;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd_) return;
        const uint32_t ready = events[i].events;
        int mask = 0;
        // A hang-up is read as such by curl.
        if (ready & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) mask |= CURL_CSELECT_IN;
        if (ready & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (ready & EPOLLERR) mask |= CURL_CSELECT_ERR;
        caf::anon_send(target_, socket_atom::value, fd, mask);
      }
    }
  }

  // Strong: the actor ends by an exit message (Server::stop), whose cleanup joins this thread.
  caf::actor target_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::string error_;
  std::thread thread_;
};

// One request on its way: the call, curl's easy handle and what has arrived so far.
struct Transfer {
  explicit Transfer(UpstreamCallPtr c) : call(std::move(c)), easy(curl_easy_init()) {}
  ~Transfer() {
    curl_slist_free_all(header_list);
    if (easy) curl_easy_cleanup(easy);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  bool streaming() const { return static_cast<bool>(call->on_chunk); }

  UpstreamCallPtr call;
  CURL* easy;
  curl_slist* header_list = nullptr;
  std::string body;
  bool too_large = false;
  bool canceled = false;  // on_chunk refused a piece
  char error[CURL_ERROR_SIZE] = {};
  steady_clock::time_point started = steady_clock::now();
};

struct UpstreamState {
  ~UpstreamState();

  upstream_impl::pointer self = nullptr;
  CURLM* multi = nullptr;
  std::unique_ptr<Poller> poller;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::unordered_map<int, int> sockets;  // what curl waits for on each of its sockets
  uint64_t timer = 0;                    // sequence number of curl's current timer
  std::string broken;                    // why no request can be made, if so
  bool stopping = false;
  static inline const char* name = "aitools.upstream";
};

using upstream_pointer = upstream_impl::stateful_pointer<UpstreamState>;

constexpr const char* kCanceled = "canceled";

void answer(const UpstreamCall& call, Error error, std::string text) {
  UpstreamResult result;
  result.error = error;
  result.error_text = std::move(text);
  call.done(std::move(result));
}

UpstreamState::~UpstreamState() {
  stopping = true;  // curl's callbacks below must not arm sockets or timers any more
  poller.reset();
  for (auto& [easy, transfer] : transfers) {
    curl_multi_remove_handle(multi, easy);
    answer(*transfer->call, Error::connect, "upstream client stopped");
  }
  transfers.clear();
  if (multi) curl_multi_cleanup(multi);
}

Error error_of(CURLcode code, const Transfer& transfer) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error::timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:  // the connection closed without an answer
    case CURLE_PARTIAL_FILE:  // ... or in the middle of one
      return Error::connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return Error::tls;
    case CURLE_FILESIZE_EXCEEDED:
      return Error::too_large;
    case CURLE_WRITE_ERROR:
      if (transfer.canceled) return Error::connect;
      return transfer.too_large ? Error::too_large : Error::protocol;
    default:
      return Error::protocol;
  }
}

UpstreamResult result_of(Transfer& transfer, CURLcode code) {
  UpstreamResult result;
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() -
                                                                         transfer.started);
  if (code != CURLE_OK) {
    result.error = error_of(code, transfer);
    result.error_text = transfer.canceled ? kCanceled
                        : result.error == Error::too_large
                            ? "the answer exceeds " +
                                  std::to_string(transfer.call->request.max_response_bytes) +
                                  " bytes"
                            : transfer.error[0] ? transfer.error : curl_easy_strerror(code);
    return result;
  }
  long status = 0;
  curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  // The final answer's headers (-1: the last response, after any 1xx).
  for (curl_header* header = nullptr;
       (header = curl_easy_nextheader(transfer.easy, CURLH_HEADER, -1, header)) != nullptr;)
    result.headers.emplace_back(header->name, header->value);
  result.body = std::move(transfer.body);
  return result;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer.streaming()) {
    if (transfer.call->on_chunk(std::string_view(data, bytes))) return bytes;
    transfer.canceled = true;
    return 0;  // curl aborts the transfer with CURLE_WRITE_ERROR
  }
  if (transfer.body.size() + bytes > transfer.call->request.max_response_bytes) {
    transfer.too_large = true;
    return 0;  // curl aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer.body.append(data, bytes);
  return bytes;
}

// Sets the easy handle up for the call's request; returns what is wrong with it, if anything.
std::string configure(Transfer& transfer) {
  if (!transfer.easy) return "cannot create a curl handle";
  const UpstreamRequest& request = transfer.call->request;
  CURL* easy = transfer.easy;
  const std::string& method = request.method;
  for (const auto& [name, value] : request.headers) {
    // "Name;" sends an empty header; "Name:" would remove it.
    const std::string line = name + (value.empty() ? ";" : ": " + value);
    curl_slist* grown = curl_slist_append(transfer.header_list, line.c_str());
    if (!grown) return "out of memory";
    transfer.header_list = grown;
  }
  const bool sends_body =
      !request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (sends_body) {
    // No Expect: 100-continue round trip; no made-up form Content-Type.
    transfer.header_list = curl_slist_append(transfer.header_list, "Expect:");
    bool typed = false;
    for (const auto& header : request.headers)
      typed = typed || curl_strequal(header.first.c_str(), "content-type");
    if (!typed) transfer.header_list = curl_slist_append(transfer.header_list, "Content-Type:");
    if (!transfer.header_list) return "out of memory";
  }

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  // the path sent is the path signed
  const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));
  if (transfer.streaming()) {
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, kStreamKeepaliveIdleS);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, kStreamKeepaliveIntervalS);
  } else {
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.max_response_bytes));
  }
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.header_list);
  if (!request.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, request.ca_file.c_str());
  if (sends_body) {
    // The call outlives the transfer, so curl reads the body where it is.
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  return {};
}

// Hands every finished transfer's result to its call.
void finish_done(UpstreamState& st) {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(st.multi, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    auto found = st.transfers.find(easy);
    if (found == st.transfers.end()) continue;
    std::unique_ptr<Transfer> transfer = std::move(found->second);
    st.transfers.erase(found);
    UpstreamResult result = result_of(*transfer, code);
    curl_multi_remove_handle(st.multi, easy);
    transfer->call->done(std::move(result));
  }
}

void act(UpstreamState& st, curl_socket_t fd, int mask) {
  int running = 0;
  curl_multi_socket_action(st.multi, fd, mask, &running);
  finish_done(st);
}

int on_socket(CURL*, curl_socket_t fd, int what, void* user, void*) {
  auto& st = *static_cast<UpstreamState*>(user);
  if (st.stopping) return 0;
  if (what == CURL_POLL_REMOVE) {
    st.sockets.erase(fd);
    st.poller->forget(fd);
  } else {
    st.sockets[fd] = what;
    st.poller->watch(fd, what);
  }
  return 0;
}

// curl wants socket_action(CURL_SOCKET_TIMEOUT) after `timeout_ms` (-1: never), which
// replaces any earlier timer; a stale timer message is recognised by its sequence number.
int on_timer(CURLM*, long timeout_ms, void* user) {
  auto& st = *static_cast<UpstreamState*>(user);
  if (st.stopping) return 0;
  const uint64_t sequence = ++st.timer;
  if (timeout_ms == 0)
    st.self->send(st.self, tick_atom::value, sequence);
  else if (timeout_ms > 0)
    st.self->delayed_send(st.self, std::chrono::milliseconds(timeout_ms), tick_atom::value,
                          sequence);
  return 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Creates the multi handle and the poller; on failure every fetch answers why.
void init_client(upstream_pointer self) {
  global_init();
  auto& st = self->state;
  st.self = self;
  st.poller = std::make_unique<Poller>(caf::actor_cast<caf::actor>(self));
  st.multi = curl_multi_init();
  if (!st.poller->error().empty())
    st.broken = st.poller->error();
  else if (!st.multi)
    st.broken = "cannot create the curl multi handle";
  if (!st.broken.empty()) {
    log::error("upstream_client", {{"error", st.broken}});
    return;
  }
  curl_multi_setopt(st.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(st.multi, CURLMOPT_SOCKETDATA, &st);
  curl_multi_setopt(st.multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(st.multi, CURLMOPT_TIMERDATA, &st);
  curl_multi_setopt(st.multi, CURLMOPT_MAXCONNECTS, kMaxIdleConnections);
  curl_multi_setopt(st.multi, CURLMOPT_MAX_HOST_CONNECTIONS, kMaxHostConnections);
  curl_multi_setopt(st.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, kMaxTotalConnections);
}

upstream_impl::behavior_type upstream_behavior(upstream_pointer self) {
  init_client(self);
  return {
      [=](fetch_atom, const UpstreamCallPtr& call) {
        auto& st = self->state;
        if (!st.broken.empty()) return answer(*call, Error::connect, st.broken);
        auto transfer = std::make_unique<Transfer>(call);
        if (std::string problem = configure(*transfer); !problem.empty())
          return answer(*call, Error::protocol, problem);
        CURL* easy = transfer->easy;
        st.transfers.emplace(easy, std::move(transfer));
        if (const CURLMcode code = curl_multi_add_handle(st.multi, easy); code != CURLM_OK) {
          st.transfers.erase(easy);
          answer(*call, Error::connect, curl_multi_strerror(code));
        }
      },
      [=](cancel_atom, const UpstreamCallPtr& call) {
        auto& transfers = self->state.transfers;
        const auto found = std::find_if(transfers.begin(), transfers.end(), [&](const auto& entry) {
          return entry.second->call == call;
        });
        if (found == transfers.end()) return;  // already finished
        std::unique_ptr<Transfer> transfer = std::move(found->second);
        transfers.erase(found);
        curl_multi_remove_handle(self->state.multi, transfer->easy);
        answer(*call, Error::connect, kCanceled);
      },
      [=](socket_atom, int fd, int mask) {
        auto& st = self->state;
        act(st, fd, mask);
        // The event disarmed the socket; curl may have closed it meanwhile.
        if (auto socket = st.sockets.find(fd); socket != st.sockets.end())
          st.poller->watch(fd, socket->second);
      },
      [=](tick_atom, uint64_t sequence) {
        auto& st = self->state;
        if (sequence == st.timer) act(st, CURL_SOCKET_TIMEOUT, 0);
      },
  };
}

}  // namespace

upstream_actor spawn_upstream(caf::actor_system& system) {
  return system.spawn(upstream_behavior);
}

void cancel_upstream_call(const upstream_actor& upstream, UpstreamCallPtr call) {
  caf::anon_send(caf::actor_cast<upstream_impl>(upstream), cancel_atom::value, std::move(call));
}

}  // namespace aitools
