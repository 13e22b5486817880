#include "http/front_handler.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "http/pistache_adapter.hpp"
#include "util/log.hpp"

namespace aitools::http {

namespace PH = Pistache::Http;

void FrontShared::publish(ServedStatePtr next) {
  std::atomic_store(&state, std::move(next));
  version.fetch_add(1, std::memory_order_release);
}

namespace {

SendOptions finish_options(const std::shared_ptr<FrontShared>& shared, bool head, bool close) {
  SendOptions options;
  options.head = head;
  options.close = close;
  options.on_done = [shared] { shared->in_flight.fetch_sub(1, std::memory_order_relaxed); };
  return options;
}

}  // namespace

void send_deferred(DeferredResponse& deferred) {
  send(deferred.writer, deferred.response,
       finish_options(deferred.shared, deferred.head, deferred.shared->draining.load()));
}

const ServedState& FrontHandler::current() {
  const uint64_t version = shared_->version.load(std::memory_order_acquire);
  if (version != seen_version_) {
    // Rare: once per clone per published state. The steady state touches no shared write.
    cached_ = std::atomic_load(&shared_->state);
    seen_version_ = version;
  }
  return *cached_;
}

void FrontHandler::answer(PH::ResponseWriter& writer, const Response& response, bool head,
                          bool close) {
  send(writer, response, finish_options(shared_, head, close));
}

void FrontHandler::onRequest(const PH::Request& request, PH::ResponseWriter writer) {
  shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
  const ServedState& state = current();
  fix_keep_alive(request, writer);
  add_header(writer, "X-Route-Generation", std::to_string(state.generation));

  if (shared_->draining.load(std::memory_order_relaxed))
    return answer(writer, detail_response(503, "Service Unavailable"), false, true);
  if (request.body().size() > state.config->settings.max_request_bytes)
    return answer(writer, detail_response(413, "Request Entity Too Large"), false, true);

  const auto method = from_pistache(request.method());
  if (!method) return answer(writer, detail_response(501, "Not Implemented"), false, false);
  const bool head = *method == Method::HEAD;

  const MatchResult match = state.routes->match(*method, request.resource(), param_values_);
  if (match.status == MatchResult::Status::not_found)
    return answer(writer, detail_response(404, "Not Found"), head, false);
  if (match.status == MatchResult::Status::method_not_allowed) {
    auto response = detail_response(405, "Method Not Allowed");
    response.headers.emplace_back("Allow", match.allow.to_string());
    return answer(writer, response, head, false);
  }

  const RouteEntry& route = state.routes->route(match.route);
  Params params;
  params.reserve(param_values_.size());
  for (size_t i = 0; i < param_values_.size() && i < route.param_names.size(); ++i)
    params.emplace_back(route.param_names[i], param_values_[i]);

  Response response;
  try {
    response = route.handler->handle(PistacheRequest(request), params);
  } catch (const std::exception& e) {
    log::error("handler_failed", {{"service", route.service}, {"path", request.resource()},
                                  {"error", e.what()}});
    response = detail_response(500, "Internal Server Error");
  }
  if (response.delay.count() > 0) {
    auto delay = response.delay;
    auto deferred = std::make_shared<DeferredResponse>(
        DeferredResponse{std::move(writer), std::move(response), head, shared_});
    caf::delayed_anon_send(shared_->deferred, delay, respond_atom::value, std::move(deferred));
    return;
  }
  answer(writer, response, head, false);
}

}  // namespace aitools::http
