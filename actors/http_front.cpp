#include "actors/http_front.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "util/log.hpp"

namespace aitools {

namespace {

using std::chrono::steady_clock;

struct FrontState {
  std::shared_ptr<http::FrontShared> shared;
  // Declared after `shared`, so destroyed first: the endpoint stops before what it uses goes.
  http::EndpointPtr endpoint;
  caf::typed_response_promise<int64_t> drain_promise;
  steady_clock::time_point drain_deadline;
  std::optional<steady_clock::time_point> flush_deadline;
  int64_t cut_off = 0;
  std::vector<http::PendingWritePtr> watching;  // off-reactor writes not yet settled
  bool nudge_armed = false;                     // a nudge tick is on its way
  static inline const char* name = "aitools.http_front";
};

using front_pointer = http_front_actor::stateful_pointer<FrontState>;

// How often off-reactor writes that have not settled get looked at.
constexpr auto kNudgeTick = std::chrono::milliseconds(1);

// Re-wakes Pistache for writes still unsettled, at ticks 1, 2, 4, 8... after they were made
// (http::nudge gives up after a bounded number of tries).
void nudge_unsettled(front_pointer self) {
  auto& st = self->state;
  st.nudge_armed = false;
  for (auto& write : st.shared->unsettled.take()) st.watching.push_back(std::move(write));
  auto keep = [](const http::PendingWritePtr& write) {
    if (write->settled) return false;
    const int ticks = ++write->ticks;
    return (ticks & (ticks - 1)) != 0 || http::nudge(*write);
  };
  st.watching.erase(std::partition(st.watching.begin(), st.watching.end(), keep),
                    st.watching.end());
  if (st.watching.empty()) return;
  st.nudge_armed = true;
  self->delayed_send(self, kNudgeTick, tick_atom::value, nudge_atom::value);
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
      [=](tick_atom, nudge_atom) { nudge_unsettled(self); },
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
