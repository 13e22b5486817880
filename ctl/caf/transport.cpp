#include "ctl/caf/transport.hpp"

#include <map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/remote_admin.hpp"
#include "http/admin_json.hpp"
#include "http/pistache_adapter.hpp"

namespace aitools::ctl {

struct CafTransport::System {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> actors;
  remote_admin_actor admin;
};

namespace {

// "/admin/status?wait_for=3" -> path and query (the ctl's own targets: no percent-encoding).
std::string split_target(const std::string& target, std::map<std::string, std::string>& query) {
  const auto mark = target.find('?');
  if (mark == std::string::npos) return target;
  std::string rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    query[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
  }
  return target.substr(0, mark);
}

uint64_t number(const std::map<std::string, std::string>& query, const std::string& key,
                uint64_t fallback) {
  auto it = query.find(key);
  return it == query.end() ? fallback : std::stoull(it->second);
}

AdminAnswer detail(int status, const std::string& text) {
  const http::Response response = http::detail_response(status, text);
  return {response.status, response.body};
}

}  // namespace

CafTransport::CafTransport(std::string node, std::string token, std::chrono::milliseconds timeout)
    : node_(std::move(node)), token_(std::move(token)), timeout_(timeout) {}

CafTransport::~CafTransport() = default;

AdminAnswer CafTransport::send(const AdminRequest& request) {
  if (!system_) {
    const auto colon = node_.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw Unreachable("--node " + node_ + ": expected HOST:PORT");
    auto system = std::make_unique<System>();
    system->config.load<caf::io::middleman>();
    add_remote_admin_types(system->config);
    system->config.set("scheduler.max-threads", size_t{1});
    system->actors = std::make_unique<caf::actor_system>(system->config);
    const int port = std::atoi(node_.c_str() + colon + 1);
    auto admin = system->actors->middleman().remote_actor<remote_admin_actor>(
        node_.substr(0, colon), static_cast<uint16_t>(port));
    if (!admin)
      throw Unreachable("cannot reach the CAF admin actor at " + node_ + ": " +
                        system->actors->render(admin.error()));
    system->admin = *admin;
    system_ = std::move(system);
  }

  std::map<std::string, std::string> query;
  const std::string path = split_target(request.target, query);
  caf::scoped_actor self{*system_->actors};
  const auto timeout = timeout_ + request.held;
  const auto& admin = system_->admin;
  AdminAnswer answer;
  std::string failure;
  const auto take = [&](auto handle) {
    handle.receive([&](const aitools::AdminAnswer& got) { answer = {got.status, got.body}; },
                   [&](caf::error& err) { failure = system_->actors->render(err); });
  };
  if (request.method == "GET" && path == "/admin/status" && query.count("wait_for")) {
    take(self->request(admin, timeout, wait_atom::value, token_, number(query, "wait_for", 0),
                       static_cast<uint32_t>(number(query, "timeout_ms", 30000))));
  } else if (request.method == "GET" && path == "/admin/status") {
    take(self->request(admin, timeout, status_atom::value, token_));
  } else if (request.method == "GET" && path == "/admin/routes") {
    take(self->request(admin, timeout, routes_atom::value, token_));
  } else if (request.method == "GET" && path == "/admin/config") {
    take(self->request(admin, timeout, config_atom::value, token_));
  } else if (request.method == "GET" && path == "/admin/history") {
    take(self->request(admin, timeout, history_atom::value, token_));
  } else if (request.method == "POST" && path == "/admin/reload") {
    take(self->request(admin, timeout, reload_atom::value, token_));
  } else if (request.method == "POST" && path == "/admin/rollback") {
    take(self->request(admin, timeout, rollback_atom::value, token_, number(query, "to", 0)));
  } else if (request.method == "POST" && path == "/admin/validate") {
    ValidationRequest parsed;
    std::string error;
    if (!http::parse_validation_request(request.body, parsed, error)) return detail(400, error);
    std::vector<ManifestText> files;
    for (const auto& file : parsed.files) files.push_back({file.name, file.content.value_or("")});
    take(self->request(admin, timeout, validate_atom::value, token_, files, parsed.paths,
                       parsed.replace));
  } else {
    return detail(404, "not available over CAF: " + request.method + " " + path);
  }
  if (!failure.empty()) throw Unreachable("the CAF admin actor at " + node_ + " did not answer: " + failure);
  return answer;
}

}  // namespace aitools::ctl
