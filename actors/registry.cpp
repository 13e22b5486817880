#include "actors/registry.hpp"

#include <caf/all.hpp>

#include "actors/debouncer.hpp"
#include "actors/service_set.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

using std::chrono::steady_clock;

struct RegistryState {
  services::Catalog catalog;
  std::unique_ptr<ServiceSet> services;  // compiles with `catalog`
  config_actor config;
  Debouncer debouncer{std::chrono::milliseconds(50)};
  bool timer_armed = false;
  std::vector<state_subscriber> subscribers;

  ConfigLoadPtr config_load;  // the config actor's last answer
  bool config_dirty = true;    // the next pass must re-read the env file

  bool running = false;    // a pass is between start and the last subscriber's answer
  bool scheduled = false;  // a run_atom is on its way
  bool pending = false;    // a pass is wanted
  Trigger pending_trigger = Trigger::startup;
  std::vector<caf::typed_response_promise<ReloadReportPtr>> waiting;  // for the pending pass
  std::vector<caf::typed_response_promise<ReloadReportPtr>> in_pass;  // for the running pass
  size_t acks_outstanding = 0;

  static inline const char* name = "aitools.registry";
};

using registry_pointer = registry_actor::stateful_pointer<RegistryState>;

// Passes that change what is served or reported log at info; quiet rescans at debug.
void log_pass(const ReloadReport& report, bool published_change) {
  std::vector<std::string> errors;
  for (const auto& e : report.errors) errors.push_back(e.file + ": " + e.error);
  const bool notable = published_change || !report.errors.empty() || report.config_error ||
                       !report.restart_required.empty();
  log::write(notable ? config::LogLevel::info : config::LogLevel::debug, "reload",
             {{"trigger", to_string(report.trigger)},
              {"generation", std::to_string(report.generation)},
              {"changed", report.changed ? "true" : "false"},
              {"duration_ms", std::to_string(report.duration.count() / 1000.0)},
              {"added", log::join(report.added)},
              {"removed", log::join(report.removed)},
              {"updated", log::join(report.updated)},
              {"errors", log::join(errors, "; ")},
              {"config_error", report.config_error.value_or("")},
              {"restart_required", log::join(report.restart_required)}});
}

void schedule_pass(registry_pointer self, Trigger trigger) {
  auto& st = self->state;
  if (trigger != Trigger::file) st.config_dirty = true;  // explicit reloads re-read everything
  if (!st.pending) st.pending_trigger = trigger;
  st.pending = true;
  // Through the mailbox, so requests already queued join this pass.
  if (!st.running && !st.scheduled) {
    st.scheduled = true;
    self->send(self, run_atom::value);
  }
}

void finish_pass(registry_pointer self, const ReloadReportPtr& report) {
  auto& st = self->state;
  for (auto& promise : st.in_pass) promise.deliver(report);
  st.in_pass.clear();
  st.running = false;
  if (st.pending && !st.scheduled) {
    st.scheduled = true;
    self->send(self, run_atom::value);
  }
}

void publish(registry_pointer self, const ServedStatePtr& state, const ReloadReportPtr& report) {
  auto& st = self->state;
  if (st.subscribers.empty()) return finish_pass(self, report);
  st.acks_outstanding = st.subscribers.size();
  auto acked = [=] {
    if (--self->state.acks_outstanding == 0) finish_pass(self, report);
  };
  for (auto& subscriber : st.subscribers) {
    self->request(subscriber, std::chrono::seconds(5), publish_atom::value, state)
        .then([=](uint64_t) { acked(); },
              [=](caf::error& err) {
                log::warn("publish_failed", {{"error", self->system().render(err)}});
                acked();
              });
  }
}

// A pass that could not run keeps everything served as it is and reports why.
void fail_pass(registry_pointer self, Trigger trigger, const std::string& where,
               const std::string& error) {
  auto& st = self->state;
  auto report = std::make_shared<ReloadReport>();
  if (st.services->state()) *report = st.services->state()->last_reload;
  report->trigger = trigger;
  report->changed = false;
  report->errors = {{where, error}};
  log::error("reload_failed", {{"trigger", to_string(trigger)}, {"where", where}, {"error", error}});
  finish_pass(self, report);
}

void apply_pass(registry_pointer self, Trigger trigger, steady_clock::time_point started,
                const ConfigLoadPtr& load) {
  auto& st = self->state;
  std::vector<ManifestFile> files;
  std::string dir_error;
  // An unreadable directory must not read as "every file deleted": keep serving.
  const std::string& dir = st.services->services_dir();
  if (!read_services_dir(dir, files, dir_error)) return fail_pass(self, trigger, dir, dir_error);
  const auto previous_level = st.services->state() ? st.services->state()->config->settings.log_level
                                                   : log::level();
  ServiceSet::Outcome outcome;
  try {
    outcome = st.services->apply(*load, files, trigger, started);
  } catch (const std::exception& e) {
    return fail_pass(self, trigger, dir, std::string("reload pass failed: ") + e.what());
  }
  const auto& settings = outcome.state->config->settings;
  if (settings.log_level != previous_level) log::set_level(settings.log_level);
  st.debouncer.set_window(settings.reload_debounce);
  auto report = std::make_shared<ReloadReport>(outcome.state->last_reload);
  log_pass(*report, outcome.published_change);
  if (outcome.published_change) return publish(self, outcome.state, report);
  finish_pass(self, report);
}

void start_pass(registry_pointer self) {
  auto& st = self->state;
  st.running = true;
  st.pending = false;
  st.in_pass = std::move(st.waiting);
  st.waiting.clear();
  const Trigger trigger = st.pending_trigger;
  const auto started = steady_clock::now();
  if (!st.config_dirty && st.config_load) return apply_pass(self, trigger, started, st.config_load);
  st.config_dirty = false;
  self->request(st.config, caf::infinite, load_atom::value)
      .then(
          [=](ConfigLoadPtr load) {
            self->state.config_load = load;
            apply_pass(self, trigger, started, load);
          },
          [=](caf::error& err) {
            fail_pass(self, trigger, "config", "config actor unavailable: " + self->system().render(err));
          });
}

void arm_timer(registry_pointer self) {
  auto& st = self->state;
  const auto deadline = st.debouncer.deadline();
  if (st.timer_armed || !deadline) return;
  st.timer_armed = true;
  const auto delay = std::max(steady_clock::duration::zero(), *deadline - steady_clock::now());
  self->delayed_send(self, delay, tick_atom::value);
}

registry_actor::behavior_type registry_behavior(registry_pointer self, config_actor config,
                                                std::string services_dir,
                                                services::Catalog catalog) {
  auto& st = self->state;
  st.config = std::move(config);
  st.catalog = std::move(catalog);
  st.services = std::make_unique<ServiceSet>(st.catalog, std::move(services_dir));
  self->set_down_handler([=](caf::down_msg& down) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const state_subscriber& s) { return s.address() == down.source; }),
               subs.end());
  });
  return {
      [=](reload_atom, Trigger trigger) {
        auto promise = self->make_response_promise<ReloadReportPtr>();
        self->state.waiting.push_back(promise);
        schedule_pass(self, trigger);
        return promise;
      },
      [=](changed_atom, ChangedFile file) {
        if (file == ChangedFile::env_file) self->state.config_dirty = true;
        if (self->state.debouncer.on_change(steady_clock::now())) {
          schedule_pass(self, Trigger::file);
        } else {
          arm_timer(self);
        }
      },
      [=](rescan_atom) { schedule_pass(self, Trigger::rescan); },
      [=](tick_atom) {
        self->state.timer_armed = false;
        if (self->state.debouncer.take_due(steady_clock::now())) {
          schedule_pass(self, Trigger::file);
        } else {
          arm_timer(self);
        }
      },
      [=](run_atom) {
        self->state.scheduled = false;
        if (!self->state.running && self->state.pending) start_pass(self);
      },
      [=](caf::get_atom) { return self->state.services->state(); },
      [=](subscribe_atom, state_subscriber subscriber) {
        self->monitor(subscriber);
        self->state.subscribers.push_back(std::move(subscriber));
        return self->state.services->state();
      },
  };
}

}  // namespace

registry_actor spawn_registry(caf::actor_system& system, config_actor config,
                              std::string services_dir, services::Catalog catalog) {
  return system.spawn(registry_behavior, std::move(config), std::move(services_dir),
                      std::move(catalog));
}

}  // namespace aitools
