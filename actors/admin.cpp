#include "actors/admin.hpp"

#include <caf/all.hpp>

#include "http/admin_json.hpp"
#include "http/pistache_adapter.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

using std::chrono::steady_clock;

struct AdminState {
  registry_actor registry;
  http_front_actor front;
  std::shared_ptr<const http::Metrics> metrics;
  http::EndpointPtr endpoint;
  bool ready = false;
  steady_clock::time_point started = steady_clock::now();
  static inline const char* name = "aitools.admin";
};

using admin_pointer = admin_actor::stateful_pointer<AdminState>;

http::Response json(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

void reply(admin_pointer self, const http::AdminCallPtr& call, const http::Response& response) {
  if (!call->writer) return call->answer(response);
  nudge_until_written(self, http::send(*call->writer, call->frame, response, {false, true, {}}));
}

// Compares without an early exit, so response timing does not reveal the token's prefix.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

bool authorized(const http::AdminCall& call, const ServedState& state) {
  const auto& token = state.config->settings.admin_token;
  return token.empty() || same_secret(call.authorization, "Bearer " + token);
}

struct Endpoint {
  std::string_view path;
  std::string_view method;
};
constexpr Endpoint kEndpoints[] = {{"/admin/status", "GET"},
                                   {"/admin/reload", "POST"},
                                   {"/admin/routes", "GET"},
                                   {"/admin/config", "GET"},
                                   {"/admin/history", "GET"},
                                   {"/admin/rollback", "POST"},
                                   {"/admin/validate", "POST"},
                                   {"/metrics", "GET"}};

// Longest wait_for an operator may ask for.
constexpr uint64_t kMaxWaitMs = 600000;

// Larger than any generation a server reaches, and within config::parse_uint's range.
constexpr uint64_t kMaxGeneration = 1'000'000'000'000'000;

// A query parameter that must be an unsigned integer in [min, max] when present.
std::optional<uint64_t> query_number(const http::AdminCall& call, const std::string& name,
                                     uint64_t min, uint64_t max, std::string& error) {
  auto it = call.query.find(name);
  if (it == call.query.end()) return std::nullopt;
  auto value = config::parse_uint(it->second, min, max);
  if (!value)
    error = name + ": expected an integer " + std::to_string(min) + "-" + std::to_string(max);
  return value.value_or(0);
}

double uptime(admin_pointer self) {
  return std::chrono::duration<double>(steady_clock::now() - self->state.started).count();
}

// A registry refusal as an answer: its text (the registry's make_error(code, text)) with
// `status`, or CAF's rendering of any other error.
http::Response refusal(admin_pointer self, const caf::error& err, int status) {
  const caf::message& context = err.context();
  return http::detail_response(status, context.match_elements<std::string>()
                                           ? context.get_as<std::string>(0)
                                           : self->system().render(err));
}

// GET /admin/status?wait_for=N&timeout_ms=T: the status once generation N is served.
void wait_for(admin_pointer self, const http::AdminCallPtr& call, uint64_t generation,
              uint64_t timeout_ms) {
  self->request(self->state.registry, std::chrono::milliseconds(timeout_ms + 5000), wait_atom::value,
                generation, static_cast<uint32_t>(timeout_ms))
      .then([=](const ServedStatePtr& state) { reply(self, call, json(200, http::status_json(*state, uptime(self)))); },
            [=](caf::error&) {
              self->request(self->state.front, caf::infinite, caf::get_atom::value)
                  .then([=](const ServedStatePtr& state) {
                    reply(self, call,
                          json(408, http::status_json(*state, uptime(self),
                                                      "generation " + std::to_string(generation) +
                                                          " was not served within " +
                                                          std::to_string(timeout_ms) + " ms")));
                  });
            });
}

void handle_admin(admin_pointer self, const http::AdminCallPtr& call, const ServedStatePtr& served) {
  const ServedState& state = *served;
  if (!authorized(*call, state)) {
    auto response = http::detail_response(401, "Unauthorized");
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    return reply(self, call, response);
  }
  const Endpoint* endpoint = nullptr;
  for (const auto& e : kEndpoints)
    if (e.path == call->path) endpoint = &e;
  if (!endpoint) return reply(self, call, http::detail_response(404, "Not Found"));
  const bool head_of_get = endpoint->method == "GET" && call->method == "HEAD";
  if (call->method != endpoint->method && !head_of_get) {
    auto response = http::detail_response(405, "Method Not Allowed");
    response.headers.emplace_back("Allow", endpoint->method == "GET" ? "GET, HEAD" : "POST");
    return reply(self, call, response);
  }
  const std::string_view path = endpoint->path;
  if (path == "/admin/status") {
    std::string error;
    const auto generation = query_number(*call, "wait_for", 0, kMaxGeneration, error);
    const auto timeout_ms = query_number(*call, "timeout_ms", 0, kMaxWaitMs, error);
    if (!error.empty()) return reply(self, call, http::detail_response(400, error));
    if (generation && *generation > state.generation)
      return wait_for(self, call, *generation, timeout_ms.value_or(30000));
    return reply(self, call, json(200, http::status_json(state, uptime(self))));
  }
  if (path == "/admin/history") {
    self->request(self->state.registry, caf::infinite, history_atom::value)
        .then([=](const HistoryViewPtr& history) {
          reply(self, call, json(200, http::history_json(*history, *served)));
        });
    return;
  }
  if (path == "/admin/rollback") {
    std::string error;
    const auto to = query_number(*call, "to", 1, kMaxGeneration, error);
    if (!error.empty()) return reply(self, call, http::detail_response(400, error));
    self->request(self->state.registry, caf::infinite, rollback_atom::value, to.value_or(0))
        .then([=](const ReloadReportPtr& report) { reply(self, call, json(200, http::reload_json(*report))); },
              [=](caf::error& err) {
                // Not in the history: 404; nothing to roll back to: 409.
                const int status = err == caf::sec::invalid_argument ? 404
                                   : err == caf::sec::runtime_error  ? 409
                                                                     : 503;
                reply(self, call, refusal(self, err, status));
              });
    return;
  }
  if (path == "/admin/validate") {
    auto request = std::make_shared<ValidationRequest>();
    std::string error;
    if (!http::parse_validation_request(call->body, *request, error))
      return reply(self, call, http::detail_response(400, error));
    self->request(self->state.registry, caf::infinite, validate_atom::value,
                  ValidationRequestPtr(std::move(request)))
        .then([=](const ValidationResultPtr& result) {
                reply(self, call, json(200, http::validation_json(*result)));
              },
              [=](caf::error& err) { reply(self, call, refusal(self, err, 400)); });
    return;
  }
  if (path == "/admin/routes") return reply(self, call, json(200, http::routes_json(*state.routes)));
  if (path == "/admin/config") return reply(self, call, json(200, http::config_json(state)));
  if (path == "/metrics") {
    http::Response response;
    response.content_type = http::Metrics::kContentType;
    response.body = self->state.metrics->render(state);
    return reply(self, call, response);
  }
  // POST /admin/reload: answered once the pass is served.
  self->request(self->state.registry, caf::infinite, reload_atom::value, Trigger::admin)
      .then([=](const ReloadReportPtr& report) { reply(self, call, json(200, http::reload_json(*report))); },
            [=](caf::error& err) {
              reply(self, call, http::detail_response(503, "reload failed: " + self->system().render(err)));
            });
}

void dispatch(admin_pointer self, const http::AdminCallPtr& call) {
  // Probes carry no credentials and must not depend on another actor being responsive.
  if (call->path == "/healthz") return reply(self, call, json(200, R"({"status":"ok"})"));
  if (call->path == "/readyz") {
    return reply(self, call, self->state.ready ? json(200, R"({"status":"ready"})")
                                               : json(503, R"({"status":"not ready"})"));
  }
  self->request(self->state.front, caf::infinite, caf::get_atom::value)
      .then([=](const ServedStatePtr& state) { handle_admin(self, call, state); },
            [=](caf::error& err) {
              reply(self, call, http::detail_response(503, self->system().render(err)));
            });
}

admin_actor::behavior_type admin_behavior(admin_pointer self, registry_actor registry,
                                          http_front_actor front,
                                          std::shared_ptr<const http::Metrics> metrics) {
  self->state.registry = std::move(registry);
  self->state.front = std::move(front);
  self->state.metrics = std::move(metrics);
  return {
      [=](start_atom, const http::ListenerOptions& options) {
        auto listener =
            http::listen(options, std::make_shared<http::AdminHandler>(caf::actor_cast<caf::actor>(self)));
        self->state.endpoint = std::move(listener.endpoint);
        return ListenResult{listener.port, listener.error};
      },
      [=](ready_atom, bool ready) { self->state.ready = ready; },
      [=](nudge_atom, const http::PendingWritePtr& write, uint32_t after_ms) {
        on_nudge(self, write, after_ms);
      },
      [=](const http::AdminCallPtr& call) { dispatch(self, call); },
      [=](answer_atom, const http::AdminCallPtr& call) {
        auto promise = self->make_response_promise<http::Response>();
        call->writer.reset();
        call->answer = [promise](const http::Response& response) mutable { promise.deliver(response); };
        dispatch(self, call);
        return promise;
      },
  };
}

}  // namespace

admin_actor spawn_admin(caf::actor_system& system, registry_actor registry, http_front_actor front,
                        std::shared_ptr<const http::Metrics> metrics) {
  return system.spawn(admin_behavior, std::move(registry), std::move(front), std::move(metrics));
}

}  // namespace aitools
