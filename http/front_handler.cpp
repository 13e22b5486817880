#include "http/front_handler.hpp"

#include <optional>
#include <stdexcept>

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "http/api_docs.hpp"
#include "util/log.hpp"

namespace aitools::http {

namespace PH = Pistache::Http;
using std::chrono::steady_clock;

void FrontShared::publish(ServedStatePtr next) {
  std::atomic_store(&state, std::move(next));
  version.fetch_add(1, std::memory_order_release);
}

namespace {

// Counts `response` towards `counters` and the request duration since `started`, hands it to
// Pistache and moves it from "in flight" to "unwritten". `reactor`: the write is made from
// another thread and counts there too (null on the reactor's own thread).
void hand_off(const std::shared_ptr<FrontShared>& shared, PH::ResponseWriter& writer,
              const ReplyFrame& frame, const Response& response, bool close,
              StatusCounters& counters, steady_clock::time_point started,
              const ReactorWritesPtr& reactor = nullptr) {
  counters.count(response.status);
  shared->metrics->observe_request(steady_clock::now() - started);
  shared->unwritten.fetch_add(1, std::memory_order_relaxed);
  SendOptions options{close, false, nullptr};
  // Two lambdas rather than one with an optional part: the reactor thread's own callback
  // stays small enough for std::function to hold without an allocation.
  if (reactor)
    options.on_settled = [shared, reactor] {
      shared->unwritten.fetch_sub(1, std::memory_order_relaxed);
      reactor->settle();
    };
  else
    options.on_settled = [shared] { shared->unwritten.fetch_sub(1, std::memory_order_relaxed); };
  send(writer, frame, response, std::move(options));
  shared->in_flight.fetch_sub(1, std::memory_order_relaxed);
}

// Has the front actor send a response after its delay.
void send_later(DeferredResponsePtr deferred) {
  const auto delay = deferred->response.delay;
  caf::actor front = deferred->shared->deferred;
  caf::delayed_anon_send(front, delay, respond_atom::value, std::move(deferred));
}

class FrontCompletion final : public Completion {
 public:
  explicit FrontCompletion(DeferredResponsePtr deferred) : deferred_(std::move(deferred)) {}
  ~FrontCompletion() override {
    complete(detail_response(500, "Internal Server Error: the handler never answered"));
  }
  void complete(Response response) override {
    if (done_.exchange(true)) return;
    deferred_->response = std::move(response);
    if (deferred_->response.delay.count() > 0) {
      send_later(std::move(deferred_));
    } else {
      send_deferred(*deferred_);  // right here: a hop through the front actor costs a wake-up
    }
  }

 private:
  DeferredResponsePtr deferred_;
  std::atomic<bool> done_{false};
};

// Lets one request's handler take its writer away to answer later.
class FrontDeferral final : public Deferral {
 public:
  FrontDeferral(PH::ResponseWriter& writer, const ReplyFrame& frame,
                const std::shared_ptr<FrontShared>& shared,
                const std::shared_ptr<StatusCounters>& counters, steady_clock::time_point started,
                const ReactorWritesPtr& reactor)
      : writer_(writer), frame_(frame), shared_(shared), counters_(counters), started_(started),
        reactor_(reactor) {}
  CompletionPtr defer() override {
    if (taken_) throw std::logic_error("a request's Completion can be taken only once");
    taken_ = true;
    return std::make_shared<FrontCompletion>(std::make_shared<DeferredResponse>(DeferredResponse{
        std::move(writer_), frame_, Response{}, shared_, counters_, started_, reactor_}));
  }
  bool taken() const { return taken_; }

 private:
  PH::ResponseWriter& writer_;
  const ReplyFrame& frame_;
  const std::shared_ptr<FrontShared>& shared_;
  const std::shared_ptr<StatusCounters>& counters_;
  steady_clock::time_point started_;
  const ReactorWritesPtr& reactor_;
  bool taken_ = false;
};

}  // namespace

void send_deferred(DeferredResponse& deferred) {
  auto& shared = deferred.shared;
  auto& reactor = deferred.reactor;
  // Counted before the sighting is checked: the front actor clears `sighted` before it reads
  // `pushed`, so it either sees this write pending or this write sights the reactor again.
  reactor->next();
  if (!reactor->sighted.exchange(true)) {
    std::weak_ptr<Pistache::Tcp::Peer> peer;
    try {
      peer = deferred.writer.peer();
    } catch (const std::exception&) {
      // The client is gone; the write below is dropped and settles at once.
    }
    if (shared->sightings.push(Sighting{reactor, std::move(peer)}))
      caf::anon_send(shared->deferred, nudge_atom::value);
  }
  hand_off(shared, deferred.writer, deferred.frame, deferred.response, shared->draining.load(),
           *deferred.counters, deferred.started, reactor);
}

const ServedState& FrontHandler::current() {
  const uint64_t version = shared_->version.load(std::memory_order_acquire);
  if (version != seen_version_) {
    // Rare: once per clone per published state. The steady state touches no shared write.
    // The old snapshot may hold the last reference to a large route table: the front actor
    // frees it, off this request's thread.
    if (cached_) caf::anon_send(shared_->deferred, retire_atom::value, std::move(cached_));
    cached_ = std::atomic_load(&shared_->state);
    seen_version_ = version;
    generation_line_ = std::make_shared<const std::string>(
        "X-Route-Generation: " + std::to_string(cached_->generation) + "\r\n");
  }
  return *cached_;
}

void FrontHandler::answer(PH::ResponseWriter& writer, const Response& response, bool close,
                          StatusCounters& counters) {
  hand_off(shared_, writer, frame_, response, close, counters, started_);
}

void FrontHandler::onRequest(const PH::Request& request, PH::ResponseWriter writer) {
  started_ = steady_clock::now();
  shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
  const ServedState& state = current();
  frame_ = reply_frame(request);
  frame_.extra_lines = generation_line_;

  const auto method = from_pistache(request.method());
  StatusCounters& unmatched = shared_->metrics->unmatched(method);
  if (shared_->draining.load(std::memory_order_relaxed))
    return answer(writer, detail_response(503, "Service Unavailable"), true, unmatched);
  if (request.body().size() > state.config->settings.max_request_bytes)
    return answer(writer, detail_response(413, "Request Entity Too Large"), true, unmatched);
  if (auto rejected = reject_head(request)) return answer(writer, *rejected, true, unmatched);

  if (!method) return answer(writer, detail_response(501, "Not Implemented"), false, unmatched);

  const MatchResult match = state.routes->match(*method, request.resource(), param_values_);
  if (match.status == MatchResult::Status::not_found) {
    // Only now: a manifest route at the same path wins, and matched requests pay nothing.
    if (auto docs = api_docs_response(state, *method, request.resource()))
      return answer(writer, *docs, false, unmatched);
    return answer(writer, detail_response(404, "Not Found"), false, unmatched);
  }
  if (match.status == MatchResult::Status::method_not_allowed) {
    auto response = detail_response(405, "Method Not Allowed");
    response.headers.emplace_back("Allow", match.allow.to_string());
    return answer(writer, response, false, unmatched);
  }

  const RouteEntry& route = state.routes->route(match.route);
  params_.clear();
  const std::vector<std::string>& names = route.pattern.param_names();
  for (size_t i = 0; i < param_values_.size() && i < names.size(); ++i)
    params_.emplace_back(names[i], param_values_[i]);
  // Never null: RouteTable::build gives counters to every method the router serves a route for.
  const std::shared_ptr<StatusCounters>& counters = route.counters[static_cast<size_t>(*method)];

  FrontDeferral deferral(writer, frame_, shared_, counters, started_, reactor_);
  std::optional<Response> response;
  try {
    response = route.handler->handle(PistacheRequest(request), params_, deferral);
  } catch (const std::exception& e) {
    log::error("handler_failed", {{"service", route.service}, {"path", request.resource()},
                                  {"error", e.what()}});
    // A handler that deferred before throwing dropped its Completion, which answered 500.
    if (deferral.taken()) return;
    response = detail_response(500, "Internal Server Error");
  }
  if (!response) {
    if (!deferral.taken()) {
      log::error("handler_failed", {{"service", route.service}, {"path", request.resource()},
                                    {"error", "returned no response and did not defer"}});
      answer(writer, detail_response(500, "Internal Server Error"), false, *counters);
    }
    return;
  }
  if (response->delay.count() > 0) {
    send_later(std::make_shared<DeferredResponse>(DeferredResponse{
        std::move(writer), frame_, *std::move(response), shared_, counters, started_, reactor_}));
    return;
  }
  answer(writer, *response, false, *counters);
}

}  // namespace aitools::http
