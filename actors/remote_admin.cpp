#include "actors/remote_admin.hpp"

#include <caf/all.hpp>

#include "http/validation_request.hpp"

namespace aitools {

namespace {

using remote_pointer = remote_admin_actor::pointer;
using Query = std::map<std::string, std::string>;

// Runs the request through the admin actor, exactly as if it had come over HTTP.
caf::typed_response_promise<AdminAnswer> ask(remote_pointer self, const admin_actor& admin,
                                             std::string method, std::string path,
                                             const std::string& token, Query query = {},
                                             std::string body = {}) {
  auto promise = self->make_response_promise<AdminAnswer>();
  auto call = std::make_shared<http::AdminCall>();
  call->method = std::move(method);
  call->path = std::move(path);
  call->query = std::move(query);
  call->authorization = token.empty() ? "" : "Bearer " + token;
  call->body = std::move(body);
  self->request(admin, caf::infinite, answer_atom::value, std::move(call))
      .then(
          [promise](const http::Response& response) mutable {
            promise.deliver(AdminAnswer{static_cast<uint16_t>(response.status), response.body});
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

remote_admin_actor::behavior_type remote_behavior(remote_pointer self, admin_actor admin) {
  return {
      [=](status_atom, const std::string& token) {
        return ask(self, admin, "GET", "/admin/status", token);
      },
      [=](wait_atom, const std::string& token, uint64_t generation, uint32_t timeout_ms) {
        return ask(self, admin, "GET", "/admin/status", token,
                   {{"wait_for", std::to_string(generation)}, {"timeout_ms", std::to_string(timeout_ms)}});
      },
      [=](routes_atom, const std::string& token) {
        return ask(self, admin, "GET", "/admin/routes", token);
      },
      [=](config_atom, const std::string& token) {
        return ask(self, admin, "GET", "/admin/config", token);
      },
      [=](history_atom, const std::string& token) {
        return ask(self, admin, "GET", "/admin/history", token);
      },
      [=](reload_atom, const std::string& token) {
        return ask(self, admin, "POST", "/admin/reload", token);
      },
      [=](rollback_atom, const std::string& token, uint64_t to) {
        return ask(self, admin, "POST", "/admin/rollback", token,
                   to == 0 ? Query{} : Query{{"to", std::to_string(to)}});
      },
      [=](validate_atom, const std::string& token, const std::vector<ManifestText>& files,
          const std::vector<std::string>& paths, bool replace) {
        std::vector<std::pair<std::string, std::string>> by_content;
        for (const auto& file : files) by_content.emplace_back(file.name, file.content);
        return ask(self, admin, "POST", "/admin/validate", token, {},
                   http::validation_request_json(by_content, paths, replace));
      },
  };
}

}  // namespace

void add_remote_admin_types(caf::actor_system_config& config) {
  config.add_message_type<AdminAnswer>("aitools.AdminAnswer");
  config.add_message_type<ManifestText>("aitools.ManifestText");
  config.add_message_type<std::vector<ManifestText>>("std::vector<aitools.ManifestText>");
}

remote_admin_actor spawn_remote_admin(caf::actor_system& system, admin_actor admin) {
  return system.spawn(remote_behavior, std::move(admin));
}

}  // namespace aitools
