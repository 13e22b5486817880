#include "actors/http_front.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "util/log.hpp"

namespace aitools {

namespace {

using std::chrono::steady_clock;

// The front actor's view of one reactor's writes from other threads (http::ReactorWrites).
struct ReactorWatch {
  http::ReactorWritesPtr writes;
  std::weak_ptr<Pistache::Tcp::Peer> peer;  // the latest connection written to
  uint64_t seen_pushed = 0;                 // `pushed` at the last look
  int quiet_ticks = 0;                      // looks in a row with writes queued, none pushed
  int nudges = 0;                           // empty writes pushed since the last progress
};

struct FrontState {
  std::shared_ptr<http::FrontShared> shared;
  // Declared after `shared`, so destroyed first: the endpoint stops before what it uses goes.
  http::EndpointPtr endpoint;
  caf::typed_response_promise<int64_t> drain_promise;
  steady_clock::time_point drain_deadline;
  std::optional<steady_clock::time_point> flush_deadline;
  int64_t cut_off = 0;
  std::vector<ReactorWatch> reactors;  // every reactor written to from other threads
  bool nudge_armed = false;            // a nudge tick is on its way
  static inline const char* name = "aitools.http_front";
};

using front_pointer = http_front_actor::stateful_pointer<FrontState>;

// How often reactors with writes still queued are looked at: every tick while one is quiet,
// less often while every one keeps getting writes (none of those can be stranded for long:
// each write wakes its reactor), which is the steady state of a loaded server.
constexpr auto kNudgeTick = std::chrono::milliseconds(1);
constexpr auto kBusyTick = std::chrono::milliseconds(4);
// Empty writes to a quiet reactor, at its quiet looks 1, 2, 4, 8...: about a second in all.
constexpr int kMaxNudges = 10;

// Takes the reactors sighted since the last look, with their latest connections.
void take_sightings(FrontState& st) {
  auto sightings = st.shared->sightings.take();
  for (auto sighting = sightings.rbegin(); sighting != sightings.rend(); ++sighting) {  // oldest first
    auto watch = std::find_if(st.reactors.begin(), st.reactors.end(),
                              [&](const ReactorWatch& w) { return w.writes == sighting->reactor; });
    if (watch == st.reactors.end())
      watch = st.reactors.insert(st.reactors.end(), ReactorWatch{sighting->reactor, {}});
    watch->peer = std::move(sighting->peer);
    // Cleared before `pushed` is read below (see http::send_deferred).
    sighting->reactor->sighted = false;
  }
}

enum class Look {
  done,      // all written (or nothing more to try): no further look needed
  busy,      // writes queued, and one pushed since the last look woke the reactor
  watching,  // writes queued and none pushed since: nudged on the quiet schedule
};

// Looks at one reactor.
Look look_at(ReactorWatch& watch) {
  const uint64_t pushed = watch.writes->pushed.load();
  const bool all_settled = watch.writes->settled.load() >= pushed;
  if (all_settled || pushed != watch.seen_pushed) {
    watch.seen_pushed = pushed;
    watch.quiet_ticks = watch.nudges = 0;
    return all_settled ? Look::done : Look::busy;
  }
  const int quiet = ++watch.quiet_ticks;
  if ((quiet & (quiet - 1)) != 0) return Look::watching;
  if (watch.nudges >= kMaxNudges) return Look::done;  // a write stuck behind a slow client, say
  auto peer = watch.peer.lock();
  if (!peer) return Look::done;  // its writes settle when Pistache drops them
  ++watch.nudges;
  watch.seen_pushed = watch.writes->next();  // our own write is no sign of life
  http::send_empty(*peer, [writes = watch.writes] { writes->settle(); });
  return Look::watching;
}

// Finds reactors that may hold a stranded write and nudges them (see http::ReactorWrites).
void nudge_quiet_reactors(front_pointer self) {
  auto& st = self->state;
  st.nudge_armed = false;
  take_sightings(st);
  Look next = Look::done;
  for (auto& watch : st.reactors) next = std::max(next, look_at(watch));
  if (next == Look::done) return;
  st.nudge_armed = true;
  self->delayed_send(self, next == Look::busy ? kBusyTick : kNudgeTick, tick_atom::value,
                     nudge_atom::value);
}

// Drain: wait until every request received has been handed to Pistache (at most until the
// grace deadline), then briefly for those responses to reach the wire.
void poll_drain(front_pointer self) {
  constexpr auto kFlushWindow = std::chrono::milliseconds(500);
  auto& st = self->state;
  const auto now = steady_clock::now();
  const int64_t in_flight = st.shared->in_flight.load();
  if (in_flight > 0 && now < st.drain_deadline) {
    // Polling counters the reactor threads update: cheap, and only while shutting down.
    self->delayed_send(self, std::chrono::milliseconds(2), tick_atom::value);
    return;
  }
  if (!st.flush_deadline) {
    st.cut_off = std::max<int64_t>(in_flight, 0);
    st.flush_deadline = std::min(st.drain_deadline, now + kFlushWindow);
  }
  if (st.shared->unwritten.load() > 0 && now < *st.flush_deadline) {
    self->delayed_send(self, std::chrono::milliseconds(2), tick_atom::value);
    return;
  }
  st.drain_promise.deliver(st.cut_off);
}

http_front_actor::behavior_type front_behavior(front_pointer self, registry_actor registry,
                                               http::ListenerOptions options, ServedStatePtr initial,
                                               std::shared_ptr<http::Metrics> metrics) {
  self->state.shared = std::make_shared<http::FrontShared>(std::move(metrics));
  self->state.shared->deferred = caf::actor_cast<caf::actor>(self);
  self->state.shared->publish(std::move(initial));
  self->request(registry, caf::infinite, subscribe_atom::value,
                caf::actor_cast<state_subscriber>(self))
      .then([=](ServedStatePtr state) {
        if (state) self->state.shared->publish(std::move(state));
      });
  return {
      [=](publish_atom, ServedStatePtr state) {
        const uint64_t generation = state->generation;
        self->state.shared->publish(std::move(state));
        return generation;
      },
      [=](caf::get_atom) { return std::atomic_load(&self->state.shared->state); },
      [=](start_atom) {
        auto listener = http::listen(options, std::make_shared<http::FrontHandler>(self->state.shared));
        self->state.endpoint = std::move(listener.endpoint);
        return ListenResult{listener.port, listener.error};
      },
      [=](drain_atom) {
        auto& st = self->state;
        st.shared->draining = true;
        const auto grace = std::atomic_load(&st.shared->state)->config->settings.shutdown_grace;
        st.drain_promise = self->make_response_promise<int64_t>();
        st.drain_deadline = steady_clock::now() + grace;
        log::info("draining", {{"in_flight", std::to_string(st.shared->in_flight.load())},
                               {"grace_ms", std::to_string(grace.count())}});
        poll_drain(self);
        return st.drain_promise;
      },
      [=](tick_atom) { poll_drain(self); },
      [=](retire_atom, const ServedStatePtr&) {},
      [=](respond_atom, const http::DeferredResponsePtr& deferred) {
        http::send_deferred(*deferred);
      },
      [=](nudge_atom) {
        if (self->state.nudge_armed) return;
        self->state.nudge_armed = true;
        self->delayed_send(self, kNudgeTick, tick_atom::value, nudge_atom::value);
      },
      [=](tick_atom, nudge_atom) { nudge_quiet_reactors(self); },
  };
}

}  // namespace

http_front_actor spawn_http_front(caf::actor_system& system, registry_actor registry,
                                  http::ListenerOptions options, ServedStatePtr initial,
                                  std::shared_ptr<http::Metrics> metrics) {
  return system.spawn(front_behavior, std::move(registry), std::move(options), std::move(initial),
                      std::move(metrics));
}

}  // namespace aitools
