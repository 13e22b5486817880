#include "actors/registry.hpp"

#include <caf/all.hpp>

#include <filesystem>

#include "actors/api_docs_builder.hpp"
#include "actors/debouncer.hpp"
#include "actors/service_set.hpp"
#include "services/actor_kind.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

using std::chrono::steady_clock;

using ReportPromise = caf::typed_response_promise<ReloadReportPtr>;

struct Waiter {
  uint64_t generation;
  caf::typed_response_promise<ServedStatePtr> promise;
};

struct RegistryState {
  services::Catalog catalog;
  std::unique_ptr<ServiceSet> services;  // compiles with `catalog`
  config_actor config;
  ServiceCaller caller;                          // calls the actors of registered kinds
  api_docs_builder_actor docs_builder;           // linked: builds large tables' OpenAPI documents
  std::shared_ptr<http::Metrics> metrics;
  std::map<caf::actor_addr, std::string> kinds;  // registered by message: actor -> kind name
  History history{20};
  ServedStatePtr served;               // the state every subscriber holds
  std::map<uint64_t, Waiter> waiters;  // by id
  uint64_t next_waiter = 0;

  // A requested rollback runs in a pass of its own, before the pending disk pass, if any.
  HistoryEntryPtr rollback_to;
  std::vector<ReportPromise> rollback_waiting;
  Debouncer debouncer{std::chrono::milliseconds(50)};
  bool timer_armed = false;
  std::vector<state_subscriber> subscribers;

  ConfigLoadPtr config_load;  // the config actor's last answer
  bool config_dirty = true;    // the next pass must re-read the env file

  bool running = false;    // a pass is between start and the last subscriber's answer
  bool scheduled = false;  // a run_atom is on its way
  bool pending = false;    // a pass is wanted
  Trigger pending_trigger = Trigger::startup;
  std::vector<ReportPromise> waiting;  // for the pending pass
  std::vector<ReportPromise> in_pass;  // for the running pass
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

// Through the mailbox, so requests already queued join the next pass.
void schedule_run(registry_pointer self) {
  auto& st = self->state;
  if (st.running || st.scheduled || (!st.pending && !st.rollback_to)) return;
  st.scheduled = true;
  self->send(self, run_atom::value);
}

bool rollback_in_force(registry_pointer self) {
  const auto& state = self->state.services->state();
  return state && state->rollback;
}

void schedule_pass(registry_pointer self, Trigger trigger) {
  auto& st = self->state;
  // A rollback holds until a change or an explicit reload; a rescan would undo it at once.
  if (trigger == Trigger::rescan && rollback_in_force(self)) return;
  if (trigger != Trigger::file) st.config_dirty = true;  // explicit reloads re-read everything
  if (!st.pending) st.pending_trigger = trigger;
  st.pending = true;
  schedule_run(self);
}

void answer_waiters(registry_pointer self) {
  auto& st = self->state;
  const ServedStatePtr& state = st.served;
  if (!state) return;
  for (auto it = st.waiters.begin(); it != st.waiters.end();) {
    if (it->second.generation > state->generation) {
      ++it;
      continue;
    }
    it->second.promise.deliver(state);
    it = st.waiters.erase(it);
  }
}

void finish_pass(registry_pointer self, const ReloadReportPtr& report) {
  auto& st = self->state;
  st.metrics->record_reload(*report);
  for (auto& promise : st.in_pass) promise.deliver(report);
  st.in_pass.clear();
  st.running = false;
  st.served = st.services->state();
  // A document describe_api left to be built: once the table serves, so the swap never waits.
  if (const auto& document = st.served ? st.served->openapi : nullptr; document && document->claim())
    self->send(st.docs_builder, st.served);
  answer_waiters(self);
  schedule_run(self);
}

// Hands the new state to every subscriber; the pass ends when all of them hold it.
void publish(registry_pointer self, const ServedStatePtr& state, const ReloadReportPtr& report) {
  auto& st = self->state;
  if (st.subscribers.empty()) return finish_pass(self, report);
  st.acks_outstanding = st.subscribers.size();
  const auto started = steady_clock::now();
  auto acked = [=] {
    if (--self->state.acks_outstanding > 0) return;
    auto swapped = std::make_shared<ReloadReport>(*report);
    swapped->phases.swap =
        std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - started);
    finish_pass(self, swapped);
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
  report->failed = true;
  report->errors = {{where, error}};
  log::error("reload_failed", {{"trigger", to_string(trigger)}, {"where", where}, {"error", error}});
  finish_pass(self, report);
}

// Applies `files` with `load` (what a disk pass read, or a history entry for a rollback).
void apply_files(registry_pointer self, Trigger trigger, steady_clock::time_point started,
                 const ConfigLoadPtr& load, const std::vector<ManifestFile>& files,
                 std::optional<RollbackInfo> rollback) {
  auto& st = self->state;
  const auto read = std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - started);
  const auto previous_level = st.services->state() ? st.services->state()->config->settings.log_level
                                                   : log::level();
  ServiceSet::Outcome outcome;
  try {
    outcome = st.services->apply(*load, files, trigger, started, read, std::move(rollback));
  } catch (const std::exception& e) {
    return fail_pass(self, trigger, st.services->services_dir(),
                     std::string("reload pass failed: ") + e.what());
  }
  const auto& settings = outcome.state->config->settings;
  if (settings.log_level != previous_level) log::set_level(settings.log_level);
  st.debouncer.set_window(settings.reload_debounce);
  st.history.set_capacity(settings.history_size);
  auto report = std::make_shared<ReloadReport>(outcome.state->last_reload);
  if (report->changed) st.history.record(*report, load, files);
  log_pass(*report, outcome.published_change);
  if (outcome.published_change) return publish(self, outcome.state, report);
  finish_pass(self, report);
}

void apply_pass(registry_pointer self, Trigger trigger, steady_clock::time_point started,
                const ConfigLoadPtr& load) {
  std::vector<ManifestFile> files;
  std::string dir_error;
  // An unreadable directory must not read as "every file deleted": keep serving.
  const std::string& dir = self->state.services->services_dir();
  if (!read_services_dir(dir, files, dir_error)) return fail_pass(self, trigger, dir, dir_error);
  add_remote_manifests(files, *load);
  apply_files(self, trigger, started, load, files, std::nullopt);
}

// Re-applies a history entry. `disk` is the env file as read now, to report whether what
// the next change or reload brings back differs from what the rollback serves.
void rollback_pass(registry_pointer self, const HistoryEntryPtr& entry,
                   steady_clock::time_point started, const ConfigLoadPtr& disk) {
  auto& st = self->state;
  std::vector<ManifestFile> on_disk;
  std::string dir_error;
  const bool readable = read_services_dir(st.services->services_dir(), on_disk, dir_error);
  add_remote_manifests(on_disk, *disk);
  const bool disk_differs = !readable || !entry->same_files(on_disk) ||
                            !same_config(disk->config, entry->config->config);
  st.config_dirty = true;  // the pass after the rollback reads the env file again
  apply_files(self, Trigger::rollback, started, entry->config, entry->manifest_files(),
              RollbackInfo{entry->generation, disk_differs});
}

void start_pass(registry_pointer self) {
  auto& st = self->state;
  st.running = true;
  if (st.rollback_to) {
    const HistoryEntryPtr entry = std::move(st.rollback_to);
    st.rollback_to = nullptr;
    st.in_pass = std::move(st.rollback_waiting);
    st.rollback_waiting.clear();
    const auto started = steady_clock::now();
    self->request(st.config, caf::infinite, load_atom::value)
        .then([=](ConfigLoadPtr disk) { rollback_pass(self, entry, started, disk); },
              [=](caf::error& err) {
                fail_pass(self, Trigger::rollback, "config",
                          "config actor unavailable: " + self->system().render(err));
              });
    return;
  }
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

caf::error refused(std::string why) { return caf::make_error(caf::sec::runtime_error, std::move(why)); }

// A registered kind's routes change: schedule the pass that applies it, answered to `promise`.
ReportPromise change_kind(registry_pointer self, const std::string& name) {
  auto promise = self->make_response_promise<ReloadReportPtr>();
  self->state.services->kind_changed(name);
  self->state.waiting.push_back(promise);
  schedule_pass(self, Trigger::message);
  return promise;
}

void forget_kind(registry_pointer self, const std::string& name) {
  auto& st = self->state;
  st.catalog.remove(name);
  for (auto it = st.kinds.begin(); it != st.kinds.end();)
    it = it->second == name ? st.kinds.erase(it) : std::next(it);
}

bool registered_by_message(const RegistryState& st, const std::string& name) {
  return std::any_of(st.kinds.begin(), st.kinds.end(),
                     [&](const auto& entry) { return entry.second == name; });
}

ReportPromise register_kind(registry_pointer self, const std::string& name, service_actor actor) {
  auto& st = self->state;
  if (!registered_by_message(st, name) && st.catalog.find(name))
    return self->make_response_promise<ReloadReportPtr>().deliver(
        refused("kind \"" + name + "\" is built in and cannot be replaced"));
  if (!actor)
    return self->make_response_promise<ReloadReportPtr>().deliver(
        refused("kind \"" + name + "\": expected a live actor"));
  forget_kind(self, name);
  st.catalog.add(services::make_actor_kind(name, actor, st.caller));
  st.kinds.emplace(actor.address(), name);
  self->monitor(actor);
  log::info("kind_registered", {{"kind", name}});
  // Before the first load there is nothing to recompile: that load includes the kind.
  if (!st.services->state())
    return self->make_response_promise<ReloadReportPtr>().deliver(
        ReloadReportPtr(std::make_shared<ReloadReport>()));
  return change_kind(self, name);
}

ReportPromise unregister_kind(registry_pointer self, const std::string& name) {
  if (!registered_by_message(self->state, name))
    return self->make_response_promise<ReloadReportPtr>().deliver(
        refused("kind \"" + name + "\" was not registered by message"));
  forget_kind(self, name);
  log::info("kind_unregistered", {{"kind", name}});
  return change_kind(self, name);
}

ValidationResultPtr validate(registry_pointer self, const ValidationRequest& request) {
  std::vector<ManifestFile> files = request.files;
  for (const auto& path : request.paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<ManifestFile> in_dir;
      std::string error;
      if (!read_services_dir(path, in_dir, error)) throw std::runtime_error(error);
      files.insert(files.end(), in_dir.begin(), in_dir.end());
      continue;
    }
    ManifestFile file = read_manifest_file(path);
    if (!file.content) throw std::runtime_error(path + ": " + file.read_error);
    files.push_back(std::move(file));
  }
  return self->state.services->validate(files, request.replace);
}

registry_actor::behavior_type registry_behavior(registry_pointer self, config_actor config,
                                                std::string services_dir,
                                                services::Catalog catalog,
                                                ServiceCaller caller,
                                                std::shared_ptr<http::Metrics> metrics) {
  auto& initial = self->state;
  initial.config = std::move(config);
  initial.catalog = std::move(catalog);
  initial.caller = std::move(caller);
  initial.metrics = std::move(metrics);
  initial.services = std::make_unique<ServiceSet>(initial.catalog, std::move(services_dir));
  initial.docs_builder = spawn_api_docs_builder(self->system());
  self->link_to(initial.docs_builder);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const state_subscriber& s) { return s.address() == down.source; }),
               subs.end());
    // A registered kind's actor is gone: its routes stop serving instead of answering 502.
    auto kind = self->state.kinds.find(down.source);
    if (kind == self->state.kinds.end()) return;
    const std::string name = kind->second;
    log::warn("kind_actor_down", {{"kind", name}, {"reason", self->system().render(down.reason)}});
    forget_kind(self, name);
    self->state.services->kind_changed(name);
    schedule_pass(self, Trigger::message);
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
        if (!self->state.running && (self->state.pending || self->state.rollback_to)) start_pass(self);
      },
      [=](caf::get_atom) { return self->state.services->state(); },
      [=](kind_atom, const std::string& name, service_actor actor) {
        return register_kind(self, name, std::move(actor));
      },
      [=](unkind_atom, const std::string& name) { return unregister_kind(self, name); },
      [=](history_atom) { return self->state.history.view(); },
      [=](rollback_atom, uint64_t to) -> caf::result<ReloadReportPtr> {
        auto& st = self->state;
        const auto& state = st.services->state();
        HistoryEntryPtr entry = to != 0 ? st.history.find(to)
                                        : st.history.before(state ? state->generation : 0);
        if (!entry) {
          const auto view = st.history.view();
          if (to == 0 || view->entries.empty())
            return refused("there is no earlier state to roll back to");
          return caf::make_error(caf::sec::invalid_argument,
                                 "generation " + std::to_string(to) +
                                     " is not in the history (it keeps generations " +
                                     std::to_string(view->entries.back()->generation) + "-" +
                                     std::to_string(view->entries.front()->generation) + ")");
        }
        auto promise = self->make_response_promise<ReloadReportPtr>();
        st.rollback_to = std::move(entry);
        st.rollback_waiting.push_back(promise);
        schedule_run(self);
        return promise;
      },
      [=](validate_atom, const ValidationRequestPtr& request) -> caf::result<ValidationResultPtr> {
        try {
          return validate(self, *request);
        } catch (const std::exception& e) {
          return refused(e.what());
        }
      },
      [=](wait_atom, uint64_t generation, uint32_t timeout_ms) -> caf::result<ServedStatePtr> {
        auto& st = self->state;
        if (st.served && st.served->generation >= generation) return st.served;
        auto promise = self->make_response_promise<ServedStatePtr>();
        const uint64_t id = ++st.next_waiter;
        st.waiters.emplace(id, Waiter{generation, promise});
        self->delayed_send(self, std::chrono::milliseconds(timeout_ms), wait_atom::value, id);
        return promise;
      },
      [=](wait_atom, uint64_t id) {
        auto waiter = self->state.waiters.find(id);
        if (waiter == self->state.waiters.end()) return;
        waiter->second.promise.deliver(caf::make_error(caf::sec::request_timeout));
        self->state.waiters.erase(waiter);
      },
      [=](subscribe_atom, state_subscriber subscriber) {
        self->monitor(subscriber);
        self->state.subscribers.push_back(std::move(subscriber));
        return self->state.services->state();
      },
  };
}

}  // namespace

registry_actor spawn_registry(caf::actor_system& system, config_actor config,
                              std::string services_dir, services::Catalog catalog,
                              ServiceCaller caller, std::shared_ptr<http::Metrics> metrics) {
  return system.spawn(registry_behavior, std::move(config), std::move(services_dir),
                      std::move(catalog), std::move(caller), std::move(metrics));
}

}  // namespace aitools
