// aitools-server: serves the routes of a services directory, reloading them live.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include <malloc.h>
#include <sys/resource.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "actors/remote_admin.hpp"
#include "actors/scheduler.hpp"
#include "actors/server.hpp"
#include "actors/service_set.hpp"
#include "config/settings.hpp"
#include "util/log.hpp"

namespace {

constexpr const char* kUsage = R"(Usage: aitools-server [OPTIONS]

Serves the HTTP routes declared by the JSON manifests of a services directory, with
settings from an env file. Manifest and env file edits apply live, without a restart.

Options:
  --config FILE      env file with the settings [etc/aitools.env]
  --services DIR     services directory [SERVICES_DIR, or "services" next to the env file]
  --port N           main listener port (overrides SERVICE_PORT)
  --admin-port N     admin listener port, 0 disables it (overrides ADMIN_PORT)
  --check            validate the config and every manifest, print one line per file,
                     exit 0 if all are valid and 1 otherwise; starts no listener
  --help             show this help

Signals: SIGHUP reloads; SIGTERM and SIGINT drain and stop.
Every setting is described in docs/configuration.md; manifests in docs/manifests.md.
)";

struct Options {
  std::string config_path = "etc/aitools.env";
  std::map<std::string, std::string> overrides;  // flags, as config keys
  bool check = false;
  bool help = false;
};

// Returns false and sets `error` for an unknown flag or a flag without its value.
bool parse_args(int argc, char** argv, Options& options, std::string& error) {
  const std::map<std::string, std::string> value_flags = {
      {"--services", "SERVICES_DIR"}, {"--port", "SERVICE_PORT"}, {"--admin-port", "ADMIN_PORT"}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const auto eq = arg.find('=');
    const bool inline_value = arg.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      continue;
    }
    if (arg == "--check") {
      options.check = true;
      continue;
    }
    const bool is_config = arg == "--config";
    const auto flag = value_flags.find(arg);
    if (!is_config && flag == value_flags.end()) {
      error = "unknown option \"" + arg + "\" (see --help)";
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        error = "option " + arg + " needs a value (see --help)";
        return false;
      }
      value = argv[++i];
    }
    if (is_config) options.config_path = value;
    else options.overrides[flag->second] = value;
  }
  return true;
}

// Every connection holds a file descriptor, and Pistache's acceptor spins while accept()
// fails with EMFILE. Service managers often start processes with a soft limit of 1024 (and a
// far higher hard limit), so take the hard limit. Returns the limit in force.
rlim_t raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlimit raised{limit.rlim_max, limit.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

// nginx -t style: one line per file, exit status says whether everything is valid.
int check(const aitools::config::ConfigSnapshotPtr& config) {
  using namespace aitools;
  std::printf("ok     %s\n", config->path.c_str());
  const std::string dir = config::resolve_services_dir(*config);
  std::vector<ManifestFile> files;
  std::string error;
  if (!read_services_dir(dir, files, error)) {
    std::printf("error  %s\n", error.c_str());
    return 1;
  }
  const services::Catalog catalog = server_catalog({});
  ServiceSet services(catalog, dir);
  ConfigLoad load;
  load.config = config;
  const auto state =
      services.apply(load, files, Trigger::startup, std::chrono::steady_clock::now()).state;
  bool all_ok = true;
  for (const auto& service : state->services) {
    const std::string path = dir + "/" + service.file;
    if (service.state == ServiceStatus::State::quarantined) {
      all_ok = false;
      std::printf("error  %s: %s\n", path.c_str(), service.error.c_str());
    } else {
      std::printf("ok     %s (service %s, %s, %zu routes)\n", path.c_str(), service.name.c_str(),
                  to_string(service.state), service.routes);
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace aitools;
  Options options;
  std::string error;
  if (!parse_args(argc, argv, options, error)) {
    std::fprintf(stderr, "aitools-server: %s\n", error.c_str());
    return 1;
  }
  if (options.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  auto loaded = config::load_config(options.config_path, options.overrides, config::process_environment());
  if (!loaded.ok()) {
    std::fprintf(stderr, "aitools-server: invalid config: %s\n", log::join(loaded.errors, "; ").c_str());
    if (options.check) std::printf("error  %s: %s\n", options.config_path.c_str(),
                                   log::join(loaded.errors, "; ").c_str());
    return 1;
  }
  if (options.check) return check(loaded.snapshot);
  log::set_level(loaded.snapshot->settings.log_level);

  // Signals are taken synchronously by this thread; block them before any thread starts so
  // that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const rlim_t fd_limit = raise_fd_limit();
  // Buffers of 128 KiB and more (request bodies, large responses) get their own mapping,
  // returned to the system when freed. glibc's default raises this threshold after the first
  // such free and then keeps freed buffers in its arenas: after 600 responses of 2 MiB to
  // vanished clients RSS stayed 67 MiB above its baseline; with a fixed threshold it returns.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);

  caf::actor_system_config caf_config;
  configure_scheduler(caf_config);
  add_remote_admin_types(caf_config);
  // The middleman (its own I/O thread) only when the admin actor is published.
  if (loaded.snapshot->settings.caf_admin_port != 0) caf_config.load<caf::io::middleman>();
  caf::actor_system system{caf_config};
  auto server = Server::start(system, loaded.snapshot, error);
  if (!server) {
    std::fprintf(stderr, "aitools-server: %s\n", error.c_str());
    return 1;
  }
  log::info("ready", {{"port", std::to_string(server->port())},
                      {"admin_port", std::to_string(server->admin_port())},
                      {"caf_admin_port", std::to_string(server->caf_admin_port())},
                      {"fd_limit", std::to_string(fd_limit)}});
  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal == SIGHUP) {
      log::info("signal", {{"name", "SIGHUP"}});
      server->reload(Trigger::signal);
      continue;
    }
    log::info("signal", {{"name", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  server->stop();
  return 0;
}
