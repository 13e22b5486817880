#include "actors/service_caller.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include <caf/all.hpp>

#include "http/pistache_adapter.hpp"
#include "util/log.hpp"
#include "util/push_list.hpp"

namespace aitools {

namespace {

using std::chrono::steady_clock;

// Deadlines are swept on one timer rather than a CAF request timeout per call (each of those
// is a round trip through CAF's clock thread): a call times out at most one tick late.
constexpr auto kSweepTick = std::chrono::milliseconds(20);
// Answered calls are dropped from the sweep's buckets when the buckets have doubled since
// the last time, and at least this many wait: pruning stays O(1) per call, and memory bounded
// by the calls really pending.
constexpr size_t kMinPrune = 1024;

struct Deadline {
  steady_clock::time_point at;
  std::weak_ptr<http::Completion> done;  // expired once answered (the sink held the last ref)
  uint32_t timeout_ms;
};

http::Response failed_response() {
  return http::detail_response(502, "Bad Gateway: the service actor failed or is gone");
}

// The sender of one call's request: not scheduled, its enqueue runs on the thread that
// replies (or bounces the request), and completes the HTTP request right there. Dropped
// unanswered (the actor quit or forgot the request's promise), it answers 502.
class ReplySink final : public caf::monitorable_actor {
 public:
  ReplySink(caf::actor_config& cfg, http::CompletionPtr done, http::RequestValuePtr request)
      : caf::monitorable_actor(cfg), done_(std::move(done)), request_(std::move(request)) {}
  ~ReplySink() override {
    if (!answered_) done_->complete(failed_response());
  }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    if (!what || !what->mid.is_response()) return;  // nothing else is ever sent here
    answered_ = true;
    auto& content = what->content();
    if (content.match_elements<http::Response>()) {
      done_->complete(std::move(content.get_mutable_as<http::Response>(0)));
      return;
    }
    std::string error = "unexpected reply";
    if (content.match_elements<caf::error>())
      error = home_system().render(content.get_as<caf::error>(0));
    log::warn("service_actor_failed", {{"path", std::string(request_->path())}, {"error", error}});
    done_->complete(failed_response());
  }

  const char* name() const override { return "aitools.reply_sink"; }

 private:
  http::CompletionPtr done_;
  http::RequestValuePtr request_;  // for the log line of a failure
  bool answered_ = false;          // read by the destructor, after the last reference
};

struct CallerState {
  std::shared_ptr<ServiceCaller::Deadlines> deadlines;
  // Calls that may still be waiting, by deadline rounded up to the next tick.
  std::map<steady_clock::time_point, std::vector<Deadline>> waiting;
  size_t waiting_count = 0;
  size_t prune_at = kMinPrune;
  bool sweep_armed = false;
  static inline const char* name = "aitools.service_caller";
};

using caller_pointer = service_caller_actor::stateful_pointer<CallerState>;

steady_clock::time_point tick_of(steady_clock::time_point at) {
  const auto ticks = (at.time_since_epoch() + kSweepTick - steady_clock::duration(1)) / kSweepTick;
  return steady_clock::time_point(ticks * kSweepTick);
}

void arm_sweep(caller_pointer self) {
  if (self->state.sweep_armed) return;
  self->state.sweep_armed = true;
  self->delayed_send(self, kSweepTick, tick_atom::value);
}

void prune_answered(CallerState& st) {
  st.waiting_count = 0;
  for (auto bucket = st.waiting.begin(); bucket != st.waiting.end();) {
    auto& calls = bucket->second;
    calls.erase(std::remove_if(calls.begin(), calls.end(),
                               [](const Deadline& call) { return call.done.expired(); }),
                calls.end());
    st.waiting_count += calls.size();
    bucket = calls.empty() ? st.waiting.erase(bucket) : std::next(bucket);
  }
  st.prune_at = std::max(kMinPrune, 2 * st.waiting_count);
}

}  // namespace

struct ServiceCaller::Deadlines {
  explicit Deadlines(caf::actor_system& sys) : system(sys) {}
  caf::actor_system& system;
  PushList<Deadline> queued;  // pushed by calls, taken by the sweep
};

namespace {

void sweep(caller_pointer self) {
  auto& st = self->state;
  st.sweep_armed = false;
  for (auto& call : st.deadlines->queued.take()) {
    if (call.done.expired()) continue;  // answered already: most calls
    st.waiting[tick_of(call.at)].push_back(std::move(call));
    ++st.waiting_count;
  }
  const auto now = steady_clock::now();
  while (!st.waiting.empty() && st.waiting.begin()->first <= now) {
    for (auto& call : st.waiting.begin()->second) {
      auto done = call.done.lock();
      if (!done) continue;
      log::warn("service_actor_timeout", {{"timeout_ms", std::to_string(call.timeout_ms)}});
      done->complete(http::detail_response(
          504, "Gateway Timeout: the service actor did not answer within " +
                   std::to_string(call.timeout_ms) + " ms"));
    }
    st.waiting_count -= st.waiting.begin()->second.size();
    st.waiting.erase(st.waiting.begin());
  }
  if (st.waiting_count >= st.prune_at) prune_answered(st);
  if (!st.waiting.empty()) arm_sweep(self);
}

service_caller_actor::behavior_type caller_behavior(caller_pointer self,
                                                    std::shared_ptr<ServiceCaller::Deadlines> deadlines) {
  self->state.deadlines = std::move(deadlines);
  return {
      [=](call_atom) { arm_sweep(self); },
      [=](tick_atom) { sweep(self); },
  };
}

}  // namespace

ServiceCaller::ServiceCaller(caf::actor_system& system)
    : deadlines_(std::make_shared<Deadlines>(system)),
      actor_(system.spawn(caller_behavior, deadlines_)) {}

void ServiceCaller::call(const service_actor& service, http::RequestValuePtr request,
                         uint32_t timeout_ms, http::CompletionPtr done) const {
  if (!service || !deadlines_) {
    done->complete(failed_response());
    return;
  }
  const auto at = steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (deadlines_->queued.push(Deadline{at, done, timeout_ms}))
    caf::anon_send(actor_, call_atom::value);
  auto& sys = deadlines_->system;
  caf::actor_config cfg;
  auto sink = caf::make_actor<ReplySink, caf::actor>(sys.next_actor_id(), sys.node(), &sys, cfg,
                                                     std::move(done), request);
  // A request (its id is the sink's only one) so that CAF routes the reply, or the bounce of
  // a dead actor, to the sink.
  caf::actor_cast<caf::abstract_actor*>(service)->enqueue(
      caf::make_mailbox_element(caf::actor_cast<caf::strong_actor_ptr>(std::move(sink)),
                                caf::make_message_id(1), {}, std::move(request)),
      nullptr);
}

}  // namespace aitools
