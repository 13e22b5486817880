#include "actors/server.hpp"

#include <filesystem>

#include <caf/all.hpp>

#include <caf/io/middleman.hpp>

#include "actors/echo_service.hpp"
#include "services/actor_kind.hpp"
#include "services/proxy_kind.hpp"
#include "services/tool_kinds.hpp"
#include "util/log.hpp"

namespace aitools {

services::Catalog server_catalog(const ServerHandles& handles) {
  services::Catalog catalog = services::Catalog::builtin();
  catalog.add(services::make_actor_kind("actor_echo", handles.echo_service, handles.service_caller));
  catalog.add(services::make_proxy_kind(handles.upstream));
  catalog.add(services::make_translation_kind(handles.upstream));
  catalog.add(services::make_image_generate_kind(handles.upstream));
  return catalog;
}

namespace {

// POST /admin/validate carries whole manifests; the admin listener takes up to this much.
constexpr uint64_t kMaxAdminRequestBytes = uint64_t{16} << 20;

// Runs one request from outside any actor and waits for its answer. The scoped actor lives
// only inside this call: a live scoped_actor would block actor_system shutdown.
template <class Result, class Handle, class... Ts>
bool ask(caf::actor_system& system, const Handle& dest, Result& result, std::string& error,
         Ts&&... xs) {
  caf::scoped_actor self{system};
  bool ok = false;
  self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](Result& answer) { result = std::move(answer); ok = true; },
               [&](caf::error& err) { error = system.render(err); });
  return ok;
}

template <class Handle>
void stop_actor(caf::actor_system& system, const Handle& handle) {
  if (!handle) return;
  caf::scoped_actor self{system};
  self->monitor(handle);
  self->send_exit(handle, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
}

}  // namespace

std::unique_ptr<Server> Server::start(caf::actor_system& system, config::ConfigSnapshotPtr config,
                                      std::string& error, const std::vector<EmbedderKind>& kinds) {
  std::unique_ptr<Server> server(new Server(system));
  auto& h = server->handles_;
  const auto settings = config->settings;
  const std::string services_dir = config::resolve_services_dir(*config);
  auto fail = [&](std::string message) {
    error = std::move(message);
    server->stop();
    return nullptr;
  };
  if (settings.caf_admin_port != 0 && !system.has_middleman())
    return fail("CAF_ADMIN_PORT is set but the actor system has no middleman: load it with "
                "cfg.load<caf::io::middleman>() and call add_remote_admin_types(cfg)");
  std::error_code ec;
  if (!std::filesystem::is_directory(services_dir, ec))
    return fail(services_dir + ": services directory does not exist or is not a directory");

  h.metrics = std::make_shared<http::Metrics>();
  h.service_caller = ServiceCaller(system);
  h.echo_service = spawn_echo_service(system);
  h.upstream = spawn_upstream(system);
  services::Catalog catalog = server_catalog(h);

  h.config = spawn_config_actor(system, config);
  log::info("startup", {{"step", "config"}, {"file", config->path}});

  h.registry = spawn_registry(system, h.config, services_dir, std::move(catalog), h.service_caller,
                              h.metrics);
  if (settings.config_source != config::ConfigSource::file) {
    h.source_upstream = spawn_upstream(system);
    const SourceContext context{config, h.config, h.registry, h.source_upstream};
    h.config_source = settings.config_source == config::ConfigSource::etcd
                          ? spawn_etcd_source(system, context)
                          : spawn_polaris_source(system, context);
    bool fetched = false;
    ask(system, h.config_source, fetched, error, start_atom::value);
    log::write(fetched ? config::LogLevel::info : config::LogLevel::warn, "startup",
               {{"step", "config_source"},
                {"source", config::to_string(settings.config_source)},
                {"loaded", fetched ? "true" : "false (serving the env file; retrying)"}});
  }
  ReloadReportPtr report;
  for (const auto& kind : kinds) {
    if (!ask(system, h.registry, report, error, kind_atom::value, kind.name, kind.service))
      return fail("kind " + kind.name + ": " + error);
  }
  if (!ask(system, h.registry, report, error, reload_atom::value, Trigger::startup))
    return fail("first load failed: " + error);
  ServedStatePtr state;
  ask(system, h.registry, state, error, caf::get_atom::value);
  log::info("startup", {{"step", "registry"}, {"dir", services_dir},
                        {"generation", std::to_string(state->generation)},
                        {"routes", std::to_string(state->routes->routes().size())},
                        {"quarantined", std::to_string(report->errors.size())}});

  // Both listeners get the same connection timeouts.
  const auto listener_options = [&settings](const std::string& host, uint16_t port,
                                            unsigned threads, uint64_t max_request_bytes) {
    return http::ListenerOptions{host, port, threads, max_request_bytes, settings.header_timeout,
                                 settings.body_timeout, settings.keepalive_timeout};
  };
  h.front = spawn_http_front(system, h.registry,
                             listener_options(settings.service_host, settings.service_port,
                                              settings.http_threads, settings.max_request_bytes),
                             state, h.metrics);
  ListenResult listened;
  ask(system, h.front, listened, error, start_atom::value);
  if (!listened.error.empty()) return fail(listened.error);
  server->port_ = listened.port;
  log::info("startup", {{"step", "http"}, {"host", settings.service_host},
                        {"port", std::to_string(listened.port)},
                        {"threads", std::to_string(settings.http_threads)}});

  if (h.config_source)
    caf::anon_send(h.config_source, ready_atom::value, config::node_name(settings, listened.port),
                   config::node_address(settings, listened.port));

  h.watcher = spawn_watcher(system, h.registry, state);
  log::info("startup", {{"step", "watcher"},
                        {"hot_reload", settings.hot_reload_enable ? "true" : "false"}});

  if (settings.admin_port == 0 && settings.caf_admin_port == 0) return server;
  h.admin = spawn_admin(system, h.registry, h.front, h.metrics);
  caf::anon_send(h.admin, ready_atom::value, true);
  if (settings.admin_port != 0) {
    ask(system, h.admin, listened, error, start_atom::value,
        listener_options(settings.admin_host, settings.admin_port, 1, kMaxAdminRequestBytes));
    if (!listened.error.empty()) return fail(listened.error);
    server->admin_port_ = listened.port;
    log::info("startup", {{"step", "admin"}, {"host", settings.admin_host},
                          {"port", std::to_string(listened.port)}});
  }
  if (settings.caf_admin_port != 0) {
    h.remote_admin = spawn_remote_admin(system, h.admin);
    auto published = system.middleman().publish(h.remote_admin, settings.caf_admin_port,
                                                settings.caf_admin_host.c_str(), true);
    if (!published)
      return fail("cannot publish the CAF admin actor on " + settings.caf_admin_host + ":" +
                  std::to_string(settings.caf_admin_port) + ": " + system.render(published.error()));
    server->caf_admin_port_ = *published;
    log::info("startup", {{"step", "caf_admin"}, {"host", settings.caf_admin_host},
                          {"port", std::to_string(*published)}});
  }
  return server;
}

std::unique_ptr<Server> Server::start(caf::actor_system& system, const std::string& env_file,
                                      const std::map<std::string, std::string>& overrides,
                                      std::string& error, const std::vector<EmbedderKind>& kinds) {
  auto loaded = config::load_config(env_file, overrides, config::process_environment());
  if (!loaded.ok()) {
    error = "invalid config: " + log::join(loaded.errors, "; ");
    return nullptr;
  }
  return start(system, loaded.snapshot, error, kinds);
}

Server::~Server() { stop(); }

void Server::reload(Trigger trigger) {
  caf::anon_send(handles_.registry, reload_atom::value, trigger);
}

bool Server::register_kind(const std::string& name, service_actor service, std::string& error) {
  ReloadReportPtr report;
  return ask(system_, handles_.registry, report, error, kind_atom::value, name, std::move(service));
}

bool Server::unregister_kind(const std::string& name, std::string& error) {
  ReloadReportPtr report;
  return ask(system_, handles_.registry, report, error, unkind_atom::value, name);
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  auto& h = handles_;
  if (h.admin) caf::anon_send(h.admin, ready_atom::value, false);
  if (h.config_source) {
    bool drained = false;
    std::string error;
    ask(system_, h.config_source, drained, error, drain_atom::value);
  }
  stop_actor(system_, h.config_source);
  stop_actor(system_, h.source_upstream);
  if (h.front) {
    int64_t cut_off = 0;
    std::string error;
    ask(system_, h.front, cut_off, error, drain_atom::value);
    log::info("drained", {{"cut_off", std::to_string(cut_off)}});
  }
  // Before the front: upstream calls cut off by the drain are answered while it can write.
  stop_actor(system_, h.upstream);
  if (h.remote_admin) system_.middleman().unpublish(h.remote_admin, caf_admin_port_);
  stop_actor(system_, h.remote_admin);
  stop_actor(system_, h.admin);
  stop_actor(system_, h.watcher);
  stop_actor(system_, h.front);
  stop_actor(system_, h.registry);
  stop_actor(system_, h.config);
  stop_actor(system_, h.echo_service);
  stop_actor(system_, h.service_caller.actor());
  log::info("stopped");
}

}  // namespace aitools
