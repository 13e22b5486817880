// The etcd config source (actors/config_source.hpp): reads <prefix>/config/ and
// <prefix>/services/ once, then follows them with one watch stream, and in cluster mode keeps
// this node's acknowledgement under a lease. Every HTTP exchange goes through the source's own
// upstream actor; answers come back as messages, so nothing here ever waits.
//
// Connection:  read (range) --ok--> watch from revision+1 --events--> config actor --> registry
//                  ^                   | broken / keepalive failed: resume the watch after a
//                  |                   | backoff (100 ms doubling to 5 s, next endpoint)
//                  +--- compacted -----+ (full resync: keys deleted meanwhile disappear)
// Acks (after ready): lease of ACK_TTL_S kept alive every TTL/3; <prefix>/acks/<node> put
// whenever what it says changes, one put in flight at a time, the latest state after it.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/config_source.hpp"
#include "actors/source_update.hpp"
#include "config/etcd.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

using std::chrono::milliseconds;

using http_atom = caf::atom_constant<caf::atom("etcdhttp")>;    // an exchange's answer
using chunk_atom = caf::atom_constant<caf::atom("etcdchunk")>;  // a piece of the watch stream
using retry_atom = caf::atom_constant<caf::atom("etcdretry")>;  // the backoff ran out
using lease_atom = caf::atom_constant<caf::atom("etcdlease")>;  // keep the ack's lease alive
using created_atom = caf::atom_constant<caf::atom("etcdcreate")>;  // a watch's time to start

// What an answer is for.
enum class Exchange : uint8_t { read, watch, grant, keepalive, put, revoke };

}  // namespace
}  // namespace aitools

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::Exchange)

namespace aitools {

namespace {

using etcd_source_impl = config_source_actor::extend<
    caf::replies_to<publish_atom, ServedStatePtr>::with<uint64_t>,
    // An exchange ended; the tag tells a read or watch of an abandoned connection apart.
    caf::reacts_to<http_atom, Exchange, uint64_t, UpstreamResult>,
    caf::reacts_to<chunk_atom, uint64_t, std::string>, caf::reacts_to<retry_atom, uint64_t>,
    caf::reacts_to<created_atom, uint64_t>, caf::reacts_to<lease_atom>>;

constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{5000};

enum class Phase : uint8_t { idle, reading, watching, waiting, stopped };

struct EtcdSourceState {
  // Settings (restart-only, so fixed for the actor's life).
  SourceContext context;
  etcd::Layout layout;
  std::vector<std::string> endpoints;
  size_t endpoint = 0;  // index of the one in use
  milliseconds timeout{5000};
  std::chrono::seconds ack_ttl{10};

  // Following etcd.
  Phase phase = Phase::idle;
  uint64_t connection = 0;  // bumped for every read or watch started; older answers are stale
  bool resync = true;       // the next connection reads everything (first, or compacted)
  std::map<std::string, etcd::KeyValue> kvs;
  int64_t resume = 0;  // the watch's next start revision
  UpstreamCallPtr watch;
  bool watch_created = false;  // etcd confirmed the watch
  etcd::WatchStream stream;
  milliseconds backoff = kFirstBackoff;
  config::SourceStatus status;
  caf::typed_response_promise<bool> start_promise;
  size_t start_failures = 0;  // endpoints tried in vain since start
  std::chrono::steady_clock::time_point start_deadline;

  // Acknowledgements.
  std::string node;  // set by ready
  std::string address;
  ServedStatePtr served;
  int64_t lease = 0;
  bool lease_busy = false;  // a grant or keepalive in flight
  bool put_busy = false;
  bool ack_stale = true;    // put even if unchanged (after a reconnect or a new lease)
  std::string ack_written;  // what the last put said, without its time
  caf::typed_response_promise<bool> drain_promise;

  static inline const char* name = "aitools.etcd_source";
};

using source_pointer = etcd_source_impl::stateful_pointer<EtcdSourceState>;

const std::string& endpoint(const EtcdSourceState& st) { return st.endpoints[st.endpoint]; }

const char* path_of(Exchange exchange) {
  switch (exchange) {
    case Exchange::read: return "/v3/kv/range";
    case Exchange::watch: return "/v3/watch";
    case Exchange::grant: return "/v3/lease/grant";
    case Exchange::keepalive: return "/v3/lease/keepalive";
    case Exchange::put: return "/v3/kv/put";
    case Exchange::revoke: return "/v3/lease/revoke";
  }
  return "";
}

// What went wrong with an exchange, for status and logs: where, what, and what to check.
// `parse_error` is the codec's complaint about an answer that arrived.
std::string describe(const EtcdSourceState& st, Exchange exchange, const UpstreamResult& result,
                     const std::string& parse_error) {
  const std::string where = "etcd " + endpoint(st) + path_of(exchange) + ": ";
  switch (result.error) {
    case UpstreamResult::Error::none: break;
    case UpstreamResult::Error::timeout:
      return where + "no answer within " + std::to_string(st.timeout.count()) +
             " ms (CONFIG_SOURCE_TIMEOUT_MS)";
    case UpstreamResult::Error::connect:
      return where + result.error_text + " (is etcd running there? see ETCD_ENDPOINTS)";
    default:
      return where + result.error_text;
  }
  if (result.status == 200) return where + parse_error;
  // An answer that is not etcd's JSON: something else listens there.
  const bool foreign =
      parse_error.empty() || parse_error.find("expected a JSON object") != std::string::npos;
  return where + "HTTP " + std::to_string(result.status) +
         (parse_error.empty() ? "" : ": " + parse_error) +
         (foreign ? " (is ETCD_ENDPOINTS etcd's client URL?)" : "");
}

// Sends `body` to the endpoint in use; the answer comes back as (http_atom, exchange, tag).
void post(source_pointer self, Exchange exchange, const std::string& body, uint64_t tag) {
  auto call = std::make_shared<UpstreamCall>();
  call->request.method = "POST";
  call->request.url = endpoint(self->state) + path_of(exchange);
  call->request.headers = {{"Content-Type", "application/json"}};
  call->request.body = body;
  call->request.timeout = self->state.timeout;
  call->done = [handle = caf::actor_cast<etcd_source_impl>(self), exchange,
                tag](UpstreamResult result) {
    caf::anon_send(handle, http_atom::value, exchange, tag, std::move(result));
  };
  self->send(self->state.context.upstream, fetch_atom::value, std::move(call));
}

// Records a status change; `since` moves only when something did.
bool set_status(EtcdSourceState& st, bool connected, std::string error) {
  config::SourceStatus next = st.status;
  next.endpoint = endpoint(st);
  next.connected = connected;
  next.error = std::move(error);
  return st.status.update(std::move(next));
}

// Hands the config actor a new set (or none: only the status) and, when it differs from what
// the config actor holds, asks the registry for a pass - except for the start, whose answer
// precedes the server's first load.
void push(source_pointer self, config::RemoteSnapshotPtr snapshot) {
  auto& st = self->state;
  if (snapshot) {
    st.status.loaded = true;
    st.status.version = snapshot->version;
    st.status.revision = snapshot->revision;
    st.status.since = std::chrono::system_clock::now();
  }
  auto update = std::make_shared<RemoteUpdate>(RemoteUpdate{std::move(snapshot), st.status});
  const bool starting = st.start_promise.pending();
  hand_over(self, st.context, std::move(update), "etcd", [=](bool differs) {
    auto& state = self->state;
    if (!starting) return differs && state.phase != Phase::stopped;
    state.start_promise.deliver(state.status.connected);
    return false;
  });
}

void read(source_pointer self);
void watch(source_pointer self);
void lease_check(source_pointer self);
void put_ack(source_pointer self);

// Stops the watch, if any; its remaining messages are stale.
void drop_watch(source_pointer self) {
  auto& st = self->state;
  ++st.connection;
  if (st.watch) cancel_upstream_call(st.context.upstream, st.watch);
  st.watch = nullptr;
}

// The connection failed: say so, then try again after the backoff on the next endpoint.
void lost(source_pointer self, std::string error) {
  auto& st = self->state;
  if (st.phase == Phase::stopped) return;
  drop_watch(self);
  const bool was_connected = st.status.connected;
  if (was_connected)
    log::warn("etcd_connection", {{"state", "lost"}, {"error", error}});
  else
    log::debug("etcd_connection", {{"state", "down"}, {"error", error}});
  // Reported when the connection goes down; later attempts only refresh the text (their
  // errors differ in detail, e.g. curl's "after N ms", and must not cause a pass each).
  set_status(st, false, std::move(error));
  st.endpoint = (st.endpoint + 1) % st.endpoints.size();
  if (st.start_promise.pending()) {
    // Try every endpoint once (within the start's bound) before the server starts without etcd.
    if (++st.start_failures < st.endpoints.size() &&
        std::chrono::steady_clock::now() < st.start_deadline) {
      read(self);
      return;
    }
    push(self, nullptr);
  } else if (was_connected) {
    push(self, nullptr);
  }
  st.phase = Phase::waiting;
  self->delayed_send(self, st.backoff, retry_atom::value, st.connection);
  st.backoff = std::min(st.backoff * 2, kMaxBackoff);
}

// A read answered or a watch was created. Returns whether the status changed.
bool connected(source_pointer self) {
  auto& st = self->state;
  st.backoff = kFirstBackoff;
  const bool was_connected = st.status.connected;
  const bool had_failed = !st.status.error.empty();
  const bool changed = set_status(st, true, "");
  if (was_connected) return changed;
  if (had_failed) log::info("etcd_connection", {{"state", "restored"}, {"endpoint", endpoint(st)}});
  st.ack_stale = true;  // the ack is written again, under a new lease if the old one expired
  lease_check(self);
  return changed;
}

void read(source_pointer self) {
  auto& st = self->state;
  st.phase = Phase::reading;
  post(self, Exchange::read,
       etcd::range_request(st.layout.watch_begin(), st.layout.watch_end()), ++st.connection);
}

void on_read(source_pointer self, const UpstreamResult& result) {
  auto& st = self->state;
  etcd::RangeResponse range;
  std::string error;
  if (result.error != UpstreamResult::Error::none || !etcd::parse_range(result.body, range, error))
    return lost(self, describe(st, Exchange::read, result, error));
  st.kvs.clear();  // a resync forgets keys deleted meanwhile
  for (auto& kv : range.kvs) st.kvs[kv.key] = std::move(kv);
  st.resume = range.revision + 1;
  st.resync = false;
  connected(self);
  push(self, std::make_shared<config::RemoteSnapshot>(
                 etcd::snapshot_from(st.layout, st.kvs, range.revision)));
  watch(self);
}

void watch(source_pointer self) {
  auto& st = self->state;
  st.phase = Phase::watching;
  st.stream = etcd::WatchStream{};
  st.watch_created = false;
  const uint64_t tag = ++st.connection;
  // A stream has no overall timeout; its confirmation must come within the request timeout
  // (an endpoint that accepts connections but does not answer, e.g. a stopped process).
  self->delayed_send(self, st.timeout, created_atom::value, tag);
  auto call = std::make_shared<UpstreamCall>();
  call->request.method = "POST";
  call->request.url = endpoint(st) + path_of(Exchange::watch);
  call->request.headers = {{"Content-Type", "application/json"}};
  call->request.body =
      etcd::watch_request(st.layout.watch_begin(), st.layout.watch_end(), st.resume);
  call->request.timeout = st.timeout;  // the connect; the stream itself has no end
  const auto handle = caf::actor_cast<etcd_source_impl>(self);
  call->on_chunk = [handle, tag](std::string_view chunk) {
    caf::anon_send(handle, chunk_atom::value, tag, std::string(chunk));
    return true;
  };
  call->done = [handle, tag](UpstreamResult result) {
    caf::anon_send(handle, http_atom::value, Exchange::watch, tag, std::move(result));
  };
  st.watch = call;
  self->send(st.context.upstream, fetch_atom::value, std::move(call));
}

// Applies what the watch stream has delivered so far: one update for all its events.
void on_chunk(source_pointer self, const std::string& chunk) {
  auto& st = self->state;
  st.stream.feed(chunk);
  etcd::WatchResponse response;
  std::string error;
  int64_t revision = 0;  // of the newest response with events
  bool canceled = false;
  while (!canceled && st.stream.next(response, error)) {
    if (response.created) {
      st.watch_created = true;
      if (connected(self)) push(self, nullptr);
    }
    for (auto& event : response.events) {
      // Resuming after the newest event seen is exact even when a catch-up response's
      // header is ahead of its events.
      st.resume = std::max(st.resume, event.kv.mod_revision + 1);
      revision = std::max({revision, response.revision, event.kv.mod_revision});
      if (event.type == etcd::Event::Type::put)
        st.kvs[event.kv.key] = std::move(event.kv);
      else
        st.kvs.erase(event.kv.key);
    }
    canceled = response.canceled;
  }
  if (revision > 0)
    push(self, std::make_shared<config::RemoteSnapshot>(
                   etcd::snapshot_from(st.layout, st.kvs, revision)));
  if (canceled && response.compact_revision > 0) {
    log::warn("etcd_resync", {{"endpoint", endpoint(st)},
                              {"reason", "revision " + std::to_string(st.resume) +
                                             " was compacted (etcd keeps from " +
                                             std::to_string(response.compact_revision) + ")"}});
    drop_watch(self);
    st.resync = true;
    read(self);
  } else if (canceled) {
    lost(self, "etcd " + endpoint(st) + "/v3/watch: canceled by etcd" +
                   (response.cancel_reason.empty() ? "" : ": " + response.cancel_reason));
  } else if (!error.empty()) {
    lost(self, "etcd " + endpoint(st) + "/v3/watch: " + error);
  }
}

void on_watch_end(source_pointer self, const UpstreamResult& result) {
  auto& st = self->state;
  st.watch = nullptr;
  // The gateway ends an error answer without a line end; this completes it.
  st.stream.feed("\n");
  etcd::WatchResponse response;
  std::string error;
  while (st.stream.next(response, error)) {
  }
  if (error.empty() && result.error == UpstreamResult::Error::none && result.status == 200)
    error = "the watch stream was closed by etcd";
  lost(self, describe(st, Exchange::watch, result, error));
}

// ---- acknowledgements ----

// What the ack says about the served state, without its time: a put is due when this changes.
etcd::Ack ack_of(const EtcdSourceState& st) {
  etcd::Ack ack;
  ack.node = st.node;
  ack.address = st.address;
  ack.generation = st.served->generation;
  ack.revision = st.served->source ? st.served->source->revision : 0;
  for (const auto& service : st.served->services)
    if (service.state == ServiceStatus::State::quarantined)
      ack.quarantined.push_back({service.name, service.file, service.error});
  ack.config_error = st.served->config_error.value_or("");
  return ack;
}

void put_ack(source_pointer self) {
  auto& st = self->state;
  if (st.node.empty() || !st.served || st.lease == 0 || st.put_busy || !st.status.connected ||
      st.phase == Phase::stopped)
    return;
  etcd::Ack ack = ack_of(st);
  const std::string content = etcd::ack_json(ack);
  if (content == st.ack_written && !st.ack_stale) return;
  ack.time = log::iso8601(std::chrono::system_clock::now());
  st.put_busy = true;
  st.ack_written = content;
  st.ack_stale = false;
  post(self, Exchange::put,
       etcd::put_request(st.layout.acks_prefix() + st.node, etcd::ack_json(ack), st.lease), 0);
}

void on_put(source_pointer self, const UpstreamResult& result) {
  auto& st = self->state;
  st.put_busy = false;
  int64_t revision = 0, deleted = 0;
  std::string error;
  if (result.error != UpstreamResult::Error::none ||
      !etcd::parse_write(result.body, revision, deleted, error)) {
    log::warn("etcd_ack_failed",
              {{"node", st.node}, {"error", describe(st, Exchange::put, result, error)}});
    st.ack_stale = true;  // the next lease tick or reconnect tries again
    if (error.find("lease not found") != std::string::npos) {
      st.lease = 0;
      lease_check(self);
    }
    return;
  }
  put_ack(self);  // a newer state may have arrived meanwhile
}

// Grants the lease if there is none, else keeps it alive.
void lease_check(source_pointer self) {
  auto& st = self->state;
  // While disconnected the reconnect calls this again.
  if (st.node.empty() || st.lease_busy || !st.status.connected || st.phase == Phase::stopped)
    return;
  st.lease_busy = true;
  if (st.lease == 0)
    post(self, Exchange::grant, etcd::lease_grant_request(st.ack_ttl.count()), 0);
  else
    post(self, Exchange::keepalive, etcd::lease_keepalive_request(st.lease), 0);
}

void on_lease(source_pointer self, Exchange exchange, const UpstreamResult& result) {
  auto& st = self->state;
  st.lease_busy = false;
  if (st.phase == Phase::stopped) return;
  std::string error;
  int64_t id = 0, ttl = 0;
  const bool ok =
      result.error == UpstreamResult::Error::none &&
      (exchange == Exchange::grant ? etcd::parse_lease_grant(result.body, id, ttl, error)
                                   : etcd::parse_lease_keepalive(result.body, ttl, error));
  if (!ok) {
    const std::string problem = describe(st, exchange, result, error);
    log::warn("etcd_ack_failed", {{"node", st.node}, {"error", problem}});
    // A keepalive that gets no answer means the endpoint is gone even if the watch has not
    // noticed yet (a quiet stream over a dead path): follow from elsewhere.
    if (result.error != UpstreamResult::Error::none && st.phase == Phase::watching)
      lost(self, problem);
    return;
  }
  if (exchange == Exchange::grant) {
    st.lease = id;
    st.ack_stale = true;
  } else if (ttl <= 0) {
    log::warn("etcd_ack_failed",
              {{"node", st.node}, {"error", "lease expired; granting a new one"}});
    st.lease = 0;
    return lease_check(self);
  }
  put_ack(self);
}

void on_revoke(source_pointer self, const UpstreamResult& result) {
  auto& st = self->state;
  int64_t revision = 0, deleted = 0;
  std::string error;
  if (result.error != UpstreamResult::Error::none ||
      !etcd::parse_write(result.body, revision, deleted, error))
    log::warn("etcd_ack_failed", {{"node", st.node},
                                  {"error", describe(st, Exchange::revoke, result, error)}});
  st.lease = 0;
  st.drain_promise.deliver(true);
}

etcd_source_impl::behavior_type etcd_source(source_pointer self, SourceContext context) {
  auto& st = self->state;
  const config::Settings& settings = context.config->settings;
  st.layout = etcd::Layout{settings.etcd_prefix};
  st.endpoints = config::etcd_endpoints(settings);
  if (st.endpoints.empty()) st.endpoints.push_back("http://127.0.0.1:2379");
  st.timeout = settings.config_source_timeout;
  st.ack_ttl = settings.ack_ttl;
  st.status.source = "etcd";
  st.status.endpoint = endpoint(st);
  st.context = std::move(context);
  return {
      [=](start_atom) {
        auto& state = self->state;
        state.start_promise = self->make_response_promise<bool>();
        state.start_deadline = std::chrono::steady_clock::now() + state.timeout;
        read(self);
        return state.start_promise;
      },
      [=](ready_atom, const std::string& node, const std::string& address) {
        auto& state = self->state;
        if (!state.node.empty() || state.phase == Phase::stopped) return;
        state.node = node;
        state.address = address;
        self->request(state.context.registry, caf::infinite, subscribe_atom::value,
                      caf::actor_cast<state_subscriber>(self))
            .then([=](const ServedStatePtr& served) {
              self->state.served = served;
              put_ack(self);
            });
        lease_check(self);
        self->delayed_send(self, milliseconds(state.ack_ttl) / 3, lease_atom::value);
      },
      [=](publish_atom, const ServedStatePtr& served) {
        self->state.served = served;
        put_ack(self);
        return served->generation;
      },
      [=](drain_atom) -> caf::result<bool> {
        auto& state = self->state;
        drop_watch(self);
        state.phase = Phase::stopped;
        if (state.start_promise.pending()) state.start_promise.deliver(false);
        if (state.lease == 0) return true;
        state.drain_promise = self->make_response_promise<bool>();
        post(self, Exchange::revoke, etcd::lease_revoke_request(state.lease), 0);
        return state.drain_promise;
      },
      [=](http_atom, Exchange exchange, uint64_t tag, const UpstreamResult& result) {
        auto& state = self->state;
        switch (exchange) {
          case Exchange::read:
            if (tag == state.connection && state.phase == Phase::reading) on_read(self, result);
            return;
          case Exchange::watch:
            if (tag == state.connection && state.phase == Phase::watching)
              on_watch_end(self, result);
            return;
          case Exchange::grant:
          case Exchange::keepalive: return on_lease(self, exchange, result);
          case Exchange::put: return on_put(self, result);
          case Exchange::revoke: return on_revoke(self, result);
        }
      },
      [=](chunk_atom, uint64_t tag, const std::string& chunk) {
        auto& state = self->state;
        if (tag == state.connection && state.phase == Phase::watching) on_chunk(self, chunk);
      },
      [=](retry_atom, uint64_t tag) {
        auto& state = self->state;
        if (tag != state.connection || state.phase != Phase::waiting) return;
        if (state.resync)
          read(self);
        else
          watch(self);
      },
      [=](created_atom, uint64_t tag) {
        auto& state = self->state;
        if (tag != state.connection || state.phase != Phase::watching || state.watch_created)
          return;
        lost(self, "etcd " + endpoint(state) + "/v3/watch: not confirmed within " +
                       std::to_string(state.timeout.count()) + " ms (CONFIG_SOURCE_TIMEOUT_MS)");
      },
      [=](lease_atom) {
        auto& state = self->state;
        if (state.phase == Phase::stopped) return;
        lease_check(self);
        put_ack(self);  // retries a failed put
        self->delayed_send(self, milliseconds(state.ack_ttl) / 3, lease_atom::value);
      },
  };
}

}  // namespace

config_source_actor spawn_etcd_source(caf::actor_system& system, const SourceContext& context) {
  return system.spawn(etcd_source, context);
}

}  // namespace aitools
