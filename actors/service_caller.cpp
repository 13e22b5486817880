#include "actors/service_caller.hpp"

#include <map>
#include <unordered_map>

#include <caf/all.hpp>

#include "http/pistache_adapter.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

using std::chrono::steady_clock;

// Timeouts are enforced by one sweep timer instead of a CAF request timeout per call (each of
// those is a round trip through CAF's clock thread): calls are grouped by their deadline
// rounded up to the sweep tick, so a call times out at most one tick late.
constexpr auto kSweepTick = std::chrono::milliseconds(20);

struct Call {
  http::CompletionPtr done;
  uint32_t timeout_ms;
};

struct CallerState {
  // Calls waiting for their service's answer, by deadline tick, then by call id.
  std::map<steady_clock::time_point, std::unordered_map<uint64_t, Call>> waiting;
  uint64_t next_id = 0;
  bool sweep_armed = false;
  static inline const char* name = "aitools.service_caller";
};

using caller_pointer = service_caller_actor::stateful_pointer<CallerState>;

steady_clock::time_point deadline_tick(uint32_t timeout_ms) {
  const auto deadline = steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const auto ticks = (deadline.time_since_epoch() + kSweepTick - steady_clock::duration(1)) / kSweepTick;
  return steady_clock::time_point(ticks * kSweepTick);
}

// Removes a waiting call; null when it is no longer waiting (it timed out).
std::optional<Call> take(CallerState& st, steady_clock::time_point tick, uint64_t id) {
  auto bucket = st.waiting.find(tick);
  if (bucket == st.waiting.end()) return std::nullopt;
  auto entry = bucket->second.find(id);
  if (entry == bucket->second.end()) return std::nullopt;
  Call call = std::move(entry->second);
  bucket->second.erase(entry);
  if (bucket->second.empty()) st.waiting.erase(bucket);
  return call;
}

void arm_sweep(caller_pointer self) {
  if (self->state.sweep_armed || self->state.waiting.empty()) return;
  self->state.sweep_armed = true;
  self->delayed_send(self, kSweepTick, tick_atom::value);
}

void sweep(caller_pointer self) {
  auto& st = self->state;
  st.sweep_armed = false;
  const auto now = steady_clock::now();
  while (!st.waiting.empty() && st.waiting.begin()->first <= now) {
    for (auto& [id, call] : st.waiting.begin()->second) {
      log::warn("service_actor_timeout", {{"timeout_ms", std::to_string(call.timeout_ms)}});
      call.done->complete(http::detail_response(
          504, "Gateway Timeout: the service actor did not answer within " +
                   std::to_string(call.timeout_ms) + " ms"));
    }
    st.waiting.erase(st.waiting.begin());
  }
  arm_sweep(self);
}

service_caller_actor::behavior_type caller_behavior(caller_pointer self) {
  return {
      [=](call_atom, const service_actor& service, const http::RequestValuePtr& request,
          uint32_t timeout_ms, http::CompletionPtr& done) {
        auto& st = self->state;
        const auto tick = deadline_tick(timeout_ms);
        const uint64_t id = ++st.next_id;
        st.waiting[tick].emplace(id, Call{std::move(done), timeout_ms});
        arm_sweep(self);
        self->request(service, caf::infinite, request)
            .then(
                [=](http::Response& response) {
                  if (auto call = take(self->state, tick, id))
                    call->done->complete(std::move(response));
                },
                [=](caf::error& err) {
                  auto call = take(self->state, tick, id);
                  if (!call) return;
                  log::warn("service_actor_failed", {{"path", std::string(request->path())},
                                                     {"error", self->system().render(err)}});
                  call->done->complete(http::detail_response(
                      502, "Bad Gateway: the service actor failed or is gone"));
                });
      },
      [=](tick_atom) { sweep(self); },
  };
}

}  // namespace

service_caller_actor spawn_service_caller(caf::actor_system& system) {
  return system.spawn(caller_behavior);
}

}  // namespace aitools
