// greeting-server: aitools embedded in a program of its own (docs/embedding.md). The program
// owns the actor system and the signals; aitools runs inside them, and the program's own actor
// serves the manifests' routes of kind `greeting`.
//
//   greeting-server ENV_FILE SERVICES_DIR
//
// SIGHUP reloads the env file and the manifests; SIGTERM and SIGINT drain and stop (exit 0).
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actors/scheduler.hpp"
#include "actors/server.hpp"
#include "greeting_service.hpp"
#include "util/log.hpp"

namespace {

// Serves until SIGTERM or SIGINT.
void serve_until_stopped(const sigset_t& signals, aitools::Server& server) {
  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal != SIGHUP) return;
    server.reload(aitools::Trigger::signal);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s ENV_FILE SERVICES_DIR\n", argv[0]);
    return 2;
  }
  // This thread takes the signals with sigwait. They are blocked before the actor system
  // starts its threads, which inherit the mask, so no other thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config caf_config;
  aitools::configure_scheduler(caf_config);
  caf::actor_system system{caf_config};

  // A relative SERVICES_DIR is taken from the env file's directory; this one is from the
  // command line, so relative to the working directory.
  const std::string services_dir = std::filesystem::absolute(argv[2]).string();
  // The kind is registered before the first load, so its routes serve from the start.
  auto greeting = embed::spawn_greeting_service(system);
  std::string error;
  auto server = aitools::Server::start(system, argv[1], {{"SERVICES_DIR", services_dir}}, error,
                                       {{"greeting", greeting}});
  if (!server) {
    std::fprintf(stderr, "greeting-server: %s\n", error.c_str());
    caf::anon_send_exit(greeting, caf::exit_reason::user_shutdown);
    return 1;
  }
  aitools::log::info("greeting_ready", {{"port", std::to_string(server->port())},
                                        {"admin_port", std::to_string(server->admin_port())}});
  serve_until_stopped(signals, *server);
  // The server first, so that requests in flight still reach the greeting actor; then the
  // actor itself: the actor system's destructor waits for every actor, ours included.
  server->stop();
  caf::anon_send_exit(greeting, caf::exit_reason::user_shutdown);
  aitools::log::info("greeting_stopped");
  return 0;
}
