#pragma once
// The lifecycle owner: starts the actors in order and stops them in reverse.
//   start: service actors -> config -> registry -> config source (CONFIG_SOURCE=polaris|etcd:
//          its first fetch, bounded) -> first load (quarantined files do not stop startup)
//          -> HTTP front (bound; the source learns the node's name) -> watcher -> admin listener
//   stop:  /readyz 503 -> config source (the etcd ack is withdrawn) -> drain the front (new requests 503, in-flight requests finish,
//          at most SHUTDOWN_GRACE_MS) -> upstream client (calls still waiting answer 502
//          while the front can write them) -> admin, watcher, front, registry, config,
//          service actors.
// It lives inside a caller's caf::actor_system and installs no signal handlers.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/admin.hpp"
#include "actors/config_actor.hpp"
#include "actors/config_source.hpp"
#include "actors/http_front.hpp"
#include "actors/registry.hpp"
#include "actors/remote_admin.hpp"
#include "actors/service_caller.hpp"
#include "actors/upstream.hpp"
#include "actors/watcher.hpp"
#include "http/metrics.hpp"
#include "services/catalog.hpp"

namespace aitools {

// A service kind served by an embedder's actor (see Server::register_kind).
struct EmbedderKind {
  std::string name;
  service_actor service;
};

struct ServerHandles {
  ServiceCaller service_caller;  // asks service actors for HTTP threads
  service_actor echo_service;           // serves the built-in `actor_echo` kind
  upstream_actor upstream;              // outgoing HTTP(S) of the `proxy` kind and the tools
  config_actor config;
  registry_actor registry;
  http_front_actor front;
  watcher_actor watcher;
  config_source_actor config_source;  // invalid when CONFIG_SOURCE=file
  upstream_actor source_upstream;     // the config source's own HTTP client
  admin_actor admin;  // invalid when ADMIN_PORT=0 and CAF_ADMIN_PORT=0
  remote_admin_actor remote_admin;  // invalid when CAF_ADMIN_PORT=0
  std::shared_ptr<http::Metrics> metrics;  // counted by the front and registry, shown by admin
};

// The built-in kinds plus those served through the server's actors. With default handles the
// latter are bound to no actor, which is enough to compile routes (aitools-server --check).
services::Catalog server_catalog(const ServerHandles& handles);

class Server {
 public:
  // Returns null and sets `error` (one actionable line) when a step fails; whatever was
  // already started is stopped again.
  // `kinds` are registered before the first load, so their routes serve from the start.
  static std::unique_ptr<Server> start(caf::actor_system& system, config::ConfigSnapshotPtr config,
                                       std::string& error, const std::vector<EmbedderKind>& kinds = {});
  // The same with the config read from `env_file`, `overrides` (KEY -> value, e.g.
  // {{"SERVICES_DIR", dir}}) taking precedence over the process environment and the file, as
  // aitools-server's flags do. An invalid env file fails with all of its errors.
  static std::unique_ptr<Server> start(caf::actor_system& system, const std::string& env_file,
                                       const std::map<std::string, std::string>& overrides,
                                       std::string& error, const std::vector<EmbedderKind>& kinds = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Asks the registry for a reload pass and returns at once.
  void reload(Trigger trigger);
  // Serves manifest routes of kind `name` with `service` (an embedder's actor), or stops
  // serving them; returns once the change is served, false (and `error`) if refused. Blocks
  // the calling thread: call them from outside actors (an actor sends kind_atom/unkind_atom to
  // handles().registry instead).
  bool register_kind(const std::string& name, service_actor service, std::string& error);
  bool unregister_kind(const std::string& name, std::string& error);
  // Drains and stops every actor; returns when they are gone. Idempotent.
  void stop();

  const ServerHandles& handles() const { return handles_; }
  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }  // 0 when disabled
  uint16_t caf_admin_port() const { return caf_admin_port_; }  // 0 when not published

 private:
  explicit Server(caf::actor_system& system) : system_(system) {}

  caf::actor_system& system_;
  ServerHandles handles_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  uint16_t caf_admin_port_ = 0;
  bool stopped_ = false;
};

}  // namespace aitools
