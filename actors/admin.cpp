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
  nudge_until_written(self, http::send(call->writer, response, {call->method == "HEAD", false, true, {}}));
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
                                   {"/admin/config", "GET"}};

void handle_admin(admin_pointer self, const http::AdminCallPtr& call, const ServedState& state) {
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
    const std::chrono::duration<double> uptime = steady_clock::now() - self->state.started;
    return reply(self, call, json(200, http::status_json(state, uptime.count())));
  }
  if (path == "/admin/routes") return reply(self, call, json(200, http::routes_json(*state.routes)));
  if (path == "/admin/config") return reply(self, call, json(200, http::config_json(state)));
  // POST /admin/reload: answered once the pass is served.
  self->request(self->state.registry, caf::infinite, reload_atom::value, Trigger::admin)
      .then([=](const ReloadReportPtr& report) { reply(self, call, json(200, http::reload_json(*report))); },
            [=](caf::error& err) {
              reply(self, call, http::detail_response(503, "reload failed: " + self->system().render(err)));
            });
}

admin_actor::behavior_type admin_behavior(admin_pointer self, registry_actor registry,
                                          http_front_actor front) {
  self->state.registry = std::move(registry);
  self->state.front = std::move(front);
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
      [=](const http::AdminCallPtr& call) {
        // Probes carry no credentials and must not depend on another actor being responsive.
        if (call->path == "/healthz") return reply(self, call, json(200, R"({"status":"ok"})"));
        if (call->path == "/readyz") {
          return reply(self, call, self->state.ready ? json(200, R"({"status":"ready"})")
                                               : json(503, R"({"status":"not ready"})"));
        }
        self->request(self->state.front, caf::infinite, caf::get_atom::value)
            .then([=](const ServedStatePtr& state) { handle_admin(self, call, *state); },
                  [=](caf::error& err) {
                    reply(self, call, http::detail_response(503, self->system().render(err)));
                  });
      },
  };
}

}  // namespace

admin_actor spawn_admin(caf::actor_system& system, registry_actor registry, http_front_actor front) {
  return system.spawn(admin_behavior, std::move(registry), std::move(front));
}

}  // namespace aitools
