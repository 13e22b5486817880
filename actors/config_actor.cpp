#include "actors/config_actor.hpp"

#include <caf/all.hpp>

#include "util/log.hpp"

namespace aitools {

namespace {

struct ConfigState {
  config::ConfigSnapshotPtr running;  // the startup snapshot: restart-only keys come from it
  ConfigLoadPtr current;              // the last answer
  config::RemoteSnapshotPtr remote;   // the config source's set; null until it delivers one
  config::SourceStatusPtr source;     // null when CONFIG_SOURCE=file
  static inline const char* name = "aitools.config";
};

ConfigLoadPtr load(const ConfigState& state) {
  const auto& running = *state.running;
  static const config::RemoteValues no_values;
  auto result = config::load_config(running.path, running.overrides, running.environment,
                                    state.remote ? state.remote->values : no_values);
  auto answer = std::make_shared<ConfigLoad>();
  // The source's manifests and status apply even when a value is rejected: they are
  // validated per file by the pass, and the status is what operators need to see then.
  answer->remote = state.remote;
  answer->source = state.source;
  if (!result.ok()) {
    answer->config = state.current->config;  // keep serving the last good snapshot
    answer->error = log::join(result.errors, "; ");
    answer->restart_required = state.current->restart_required;
    return answer;
  }
  auto snapshot = std::make_shared<config::ConfigSnapshot>(*result.snapshot);
  answer->restart_required = config::restart_required(running.settings, snapshot->settings);
  snapshot->settings = config::pin_restart_keys(snapshot->settings, running.settings);
  // The raw values too, so ${SERVICE_PORT} renders the port in use and an unapplied change is
  // not a config change.
  for (const auto& key : config::restart_keys()) {
    auto it = running.values.find(key);
    if (it != running.values.end()) snapshot->values[key] = it->second;
    else snapshot->values.erase(key);
  }
  answer->config = std::move(snapshot);
  return answer;
}

config_actor::behavior_type config_behavior(config_actor::stateful_pointer<ConfigState> self,
                                            config::ConfigSnapshotPtr initial) {
  self->state.running = initial;
  auto first = std::make_shared<ConfigLoad>();
  first->config = std::move(initial);
  self->state.current = std::move(first);
  return {
      [=](load_atom) -> ConfigLoadPtr {
        auto answer = load(self->state);
        if (answer->error && answer->error != self->state.current->error)
          log::error("config_rejected", {{"file", self->state.running->path},
                                         {"error", *answer->error}});
        self->state.current = answer;
        return answer;
      },
      [=](caf::get_atom) { return self->state.current->config; },
      [=](remote_atom, const RemoteUpdatePtr& update) {
        auto& st = self->state;
        // A new etcd revision with the same content still counts: it is in the status, and
        // the acks must report it applied.
        bool changed = !st.source || *st.source != update->status;
        if (changed) st.source = std::make_shared<config::SourceStatus>(update->status);
        if (update->snapshot) {
          changed = changed || !st.remote || !st.remote->same_content(*update->snapshot);
          st.remote = update->snapshot;
        }
        return changed;
      },
  };
}

}  // namespace

config_actor spawn_config_actor(caf::actor_system& system, config::ConfigSnapshotPtr initial) {
  return system.spawn(config_behavior, std::move(initial));
}

}  // namespace aitools
