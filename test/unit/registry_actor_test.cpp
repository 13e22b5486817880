// The registry actor in an in-process CAF system, with the real config actor, a temporary
// env file and services directory, and test subscribers. Waits are on messages, never sleeps.
#include "actors/registry.hpp"

#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>

#include "util/log.hpp"
#include "test/unit/call_handler.hpp"

namespace fs = std::filesystem;
namespace config = aitools::config;
namespace http = aitools::http;
using aitools::ReloadReport;
using aitools::ReloadReportPtr;
using aitools::ServedState;
using aitools::ServedStatePtr;
using aitools::ServiceStatus;
using aitools::Trigger;
using Names = std::vector<std::string>;
using namespace std::chrono_literals;

namespace {

constexpr auto kTimeout = 10s;  // for one reply; a healthy test needs milliseconds

// ---- manifests and env files -------------------------------------------------------------

// The greeter service: GET /hello/{name} answers `body` ({name} and ${KEY} are filled in).
std::string greeter(const std::string& body) {
  return R"({"routes": [{"method": "GET", "path": "/hello/{name}", "kind": "static",
               "options": {"body": ")" +
         body + R"("}}]})";
}

// The env file. RELOAD_DEBOUNCE_MS is long enough that a change sent right after another is
// held for the trailing pass.
std::string env(const std::string& greeting = "hello", int port = 18668) {
  return "LOG_LEVEL=error\nRELOAD_DEBOUNCE_MS=200\nSERVICE_PORT=" + std::to_string(port) +
         "\nGREETING=" + greeting + "\n";
}

// ---- what a state serves -----------------------------------------------------------------

struct FakeRequest final : http::Request {
  std::string target;
  explicit FakeRequest(std::string path) : target(std::move(path)) {}
  std::string_view method() const override { return "GET"; }
  std::string_view path() const override { return target; }
  http::HeaderList query() const override { return {}; }
  http::HeaderList headers() const override { return {}; }
  std::optional<std::string> header(std::string_view) const override { return std::nullopt; }
  std::string_view body() const override { return {}; }
};

// The body `state` answers to GET `path`, or "<no route>".
std::string serve(const ServedState& state, const std::string& path) {
  BOOST_REQUIRE(state.routes);
  http::ParamValues values;
  const auto match = state.routes->match(http::Method::GET, path, values);
  if (match.status != http::MatchResult::Status::found) return "<no route>";
  const http::RouteEntry& entry = state.routes->route(match.route);
  http::Params params;
  for (size_t i = 0; i < values.size() && i < entry.pattern.param_names().size(); ++i)
    params.emplace_back(entry.pattern.param_names()[i], values[i]);
  return aitools::test::call(*entry.handler, FakeRequest(path), params).body;
}

std::string state_of(const ServedState& state, const std::string& file) {
  auto it = std::find_if(state.services.begin(), state.services.end(),
                         [&](const ServiceStatus& s) { return s.file == file; });
  BOOST_REQUIRE_MESSAGE(it != state.services.end(), "no status for " << file);
  return aitools::to_string(it->state);
}

// ---- a test subscriber -------------------------------------------------------------------

using open_atom = caf::atom_constant<caf::atom("open")>;  // release held answers
using held_atom = caf::atom_constant<caf::atom("held")>;  // a subscriber holds an answer

// What a subscriber saw, shared with the test thread. One clock orders the subscriber's
// answers against what the test observes.
class Journal {
 public:
  int tick() { return ++clock_; }
  void published(uint64_t generation) {
    std::lock_guard<std::mutex> lock(mutex_);
    generations_.push_back(generation);
  }
  void answered() {
    std::lock_guard<std::mutex> lock(mutex_);
    answer_ticks_.push_back(tick());
  }
  std::vector<uint64_t> generations() {
    std::lock_guard<std::mutex> lock(mutex_);
    return generations_;
  }
  std::vector<int> answer_ticks() {
    std::lock_guard<std::mutex> lock(mutex_);
    return answer_ticks_;
  }

 private:
  std::atomic<int> clock_{0};
  std::mutex mutex_;
  std::vector<uint64_t> generations_;  // of each published state, in order
  std::vector<int> answer_ticks_;      // clock value when each publish was answered
};

using test_subscriber =
    caf::typed_actor<caf::replies_to<aitools::publish_atom, ServedStatePtr>::with<uint64_t>,
                     caf::reacts_to<open_atom>>;

struct SubscriberState {
  bool holding = false;
  std::vector<std::pair<caf::typed_response_promise<uint64_t>, uint64_t>> held;
  static inline const char* name = "test.subscriber";
};

// Records every published state in `journal` and answers with its generation. With
// `hold_for`, it holds its answers (telling `hold_for` with held_atom) until open_atom.
test_subscriber::behavior_type subscriber_behavior(
    test_subscriber::stateful_pointer<SubscriberState> self, std::shared_ptr<Journal> journal,
    caf::actor hold_for) {
  self->state.holding = static_cast<bool>(hold_for);
  return {
      [=](aitools::publish_atom, const ServedStatePtr& state) {
        journal->published(state->generation);
        auto promise = self->make_response_promise<uint64_t>();
        if (self->state.holding) {
          self->state.held.emplace_back(promise, state->generation);
          caf::anon_send(hold_for, held_atom::value, state->generation);
        } else {
          journal->answered();
          promise.deliver(state->generation);
        }
        return promise;
      },
      [=](open_atom) {
        self->state.holding = false;
        for (auto& [promise, generation] : self->state.held) {
          journal->answered();
          promise.deliver(generation);
        }
        self->state.held.clear();
      },
  };
}

// Waits for the reply behind `handle`; a failure or timeout ends the test.
template <class T, class Handle>
T await_reply(Handle handle) {
  T value{};
  std::string failure;
  handle.receive([&](const T& x) { value = x; },
                 [&](caf::error& err) { failure = caf::to_string(err); });
  BOOST_REQUIRE_MESSAGE(failure.empty(), "request failed: " << failure);
  return value;
}

// Waits for a holding subscriber's held_atom; answers the generation it holds.
uint64_t await_held(caf::scoped_actor& self) {
  uint64_t generation = 0;
  bool timed_out = false;
  self->receive([&](held_atom, uint64_t held) { generation = held; },
                caf::after(kTimeout) >> [&] { timed_out = true; });
  BOOST_REQUIRE_MESSAGE(!timed_out, "the subscriber was not published to");
  return generation;
}

// ---- the fixture: a temp dir, an actor system, the config actor and the registry ----------

struct RegistryFixture {
  struct TempDir {
    fs::path path;
    TempDir() {
      std::string pattern = (fs::temp_directory_path() / "aitools-registry-XXXXXX").string();
      BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
      path = pattern;
      fs::create_directory(path / "services");
    }
    ~TempDir() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  };

  TempDir dir;
  const config::LogLevel saved_log_level = aitools::log::level();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  aitools::config_actor config;
  aitools::ServiceCaller caller;
  aitools::registry_actor registry;
  std::vector<caf::actor> spawned;  // every actor a test started, stopped at the end

  RegistryFixture() {
    write_env(env());
    write_manifest("greeter.json", greeter("${GREETING} {name}"));
    const config::EnvLookup no_environment = [](const std::string&) { return std::nullopt; };
    auto initial = config::load_config(env_path(), {}, no_environment);
    BOOST_REQUIRE_MESSAGE(initial.ok(), "invalid test env file");
    config = track(aitools::spawn_config_actor(sys, initial.snapshot));
    caller = aitools::ServiceCaller(sys);
    track(caller.actor());
    registry = track(aitools::spawn_registry(sys, config, services_dir(),
                                             aitools::services::Catalog::builtin(), caller,
                                             std::make_shared<aitools::http::Metrics>()));
  }

  ~RegistryFixture() {
    for (const auto& actor : spawned) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
    aitools::log::set_level(saved_log_level);  // the env file's LOG_LEVEL applied process-wide
  }

  template <class Handle>
  Handle track(Handle handle) {
    spawned.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  }

  std::string env_path() const { return (dir.path / "aitools.env").string(); }
  std::string services_dir() const { return (dir.path / "services").string(); }

  void write_env(const std::string& text) const { std::ofstream(env_path()) << text; }
  void write_manifest(const std::string& file, const std::string& text) const {
    std::ofstream(fs::path(services_dir()) / file) << text;
  }

  ReloadReportPtr reload(Trigger trigger = Trigger::admin) {
    caf::scoped_actor self{sys};
    auto report = await_reply<ReloadReportPtr>(
        self->request(registry, kTimeout, aitools::reload_atom::value, trigger));
    BOOST_REQUIRE(report);
    return report;
  }

  // Asks the registry and waits for the answer; a refusal ends the test.
  template <class T, class... Ts>
  T ask(Ts... xs) {
    caf::scoped_actor self{sys};
    return await_reply<T>(self->request(registry, kTimeout, xs...));
  }

  // Asks the registry, expecting a refusal: its message.
  template <class T, class... Ts>
  std::string refusal(Ts... xs) {
    caf::scoped_actor self{sys};
    std::string message = "<no refusal>";
    self->request(registry, kTimeout, xs...)
        .receive([](const T&) {}, [&](caf::error& err) { message = sys.render(err); });
    return message;
  }

  ServedStatePtr state() {
    caf::scoped_actor self{sys};
    return await_reply<ServedStatePtr>(self->request(registry, kTimeout, caf::get_atom::value));
  }

  // Polls the served state until `done` holds; fails after 5 s.
  ServedStatePtr await_state(const std::function<bool(const ServedState&)>& done) {
    caf::scoped_actor self{sys};
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      auto current =
          await_reply<ServedStatePtr>(self->request(registry, kTimeout, caf::get_atom::value));
      if (current && done(*current)) return current;
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                            "the expected state was not served within 5 s");
      self->receive(caf::after(2ms) >> [] {});  // pause between polls
    }
  }

  test_subscriber spawn_subscriber(const std::shared_ptr<Journal>& journal,
                                   caf::actor hold_for = {}) {
    return track(sys.spawn(subscriber_behavior, journal, std::move(hold_for)));
  }

  ServedStatePtr subscribe(aitools::state_subscriber subscriber) {
    caf::scoped_actor self{sys};
    return await_reply<ServedStatePtr>(
        self->request(registry, kTimeout, aitools::subscribe_atom::value, subscriber));
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(registry_actor, RegistryFixture)

BOOST_AUTO_TEST_CASE(startup_reload_reports_generation_one) {
  BOOST_TEST(!state());  // nothing is served before the first pass

  const auto report = reload(Trigger::startup);
  BOOST_TEST(report->generation == 1u);
  BOOST_TEST(report->changed);
  BOOST_TEST(aitools::to_string(report->trigger) == std::string("startup"));
  BOOST_TEST(report->added == Names({"greeter"}), boost::test_tools::per_element());

  const auto current = state();
  BOOST_REQUIRE(current);
  BOOST_TEST(current->generation == 1u);
  BOOST_TEST(current->services_dir == services_dir());
  BOOST_TEST(state_of(*current, "greeter.json") == "active");
  BOOST_TEST(serve(*current, "/hello/bob") == "hello bob");
}

BOOST_AUTO_TEST_CASE(no_op_reload_keeps_generation) {
  reload(Trigger::startup);
  const auto before = state();

  const auto report = reload();
  BOOST_TEST(report->generation == 1u);
  BOOST_TEST(!report->changed);
  const auto after = state();
  BOOST_TEST(after->generation == 1u);
  BOOST_TEST(after->routes == before->routes);
}

BOOST_AUTO_TEST_CASE(bad_file_is_quarantined_and_previous_routes_still_served) {
  reload(Trigger::startup);
  write_manifest("greeter.json", "{ not json");

  const auto report = reload();
  BOOST_TEST(report->generation == 1u);
  BOOST_TEST(!report->changed);
  BOOST_REQUIRE(report->errors.size() == 1u);
  BOOST_TEST(report->errors[0].file == "greeter.json");

  const auto current = state();
  BOOST_TEST(state_of(*current, "greeter.json") == "quarantined");
  BOOST_TEST(serve(*current, "/hello/bob") == "hello bob");
}

BOOST_AUTO_TEST_CASE(reload_is_answered_only_after_the_subscriber_answered) {
  reload(Trigger::startup);
  auto journal = std::make_shared<Journal>();
  ReloadReportPtr report;
  int replied_at = 0;
  {
    caf::scoped_actor self{sys};
    auto subscriber = spawn_subscriber(journal, caf::actor_cast<caf::actor>(self));
    BOOST_TEST(subscribe(subscriber)->generation == 1u);  // the current state at once

    write_manifest("greeter.json", greeter("v2 {name}"));
    auto pending = self->request(registry, kTimeout, aitools::reload_atom::value, Trigger::admin);
    BOOST_TEST(await_held(self) == 2u);

    // The subscriber holds its answer. A round trip through the registry on the same channel
    // would bring a reload reply sent before it first: none has come.
    await_reply<ServedStatePtr>(self->request(registry, kTimeout, caf::get_atom::value));
    BOOST_TEST(self->mailbox().empty());

    caf::anon_send(subscriber, open_atom::value);
    report = await_reply<ReloadReportPtr>(pending);
    replied_at = journal->tick();
  }
  BOOST_TEST(report->generation == 2u);
  BOOST_TEST(report->changed);
  BOOST_TEST(journal->generations() == std::vector<uint64_t>({2}),
             boost::test_tools::per_element());
  const auto answers = journal->answer_ticks();
  BOOST_REQUIRE(answers.size() == 1u);
  BOOST_TEST(answers[0] < replied_at);
}

BOOST_AUTO_TEST_CASE(back_to_back_reloads_are_all_answered_and_coalesced) {
  // A first reload publishes to a subscriber that holds its answer, so that pass stays open
  // while 20 more requests arrive back to back. They must all be answered, by one more pass.
  constexpr size_t kRequests = 20;
  reload(Trigger::startup);
  auto journal = std::make_shared<Journal>();
  ReloadReportPtr first;
  std::vector<ReloadReportPtr> replies;
  {
    caf::scoped_actor self{sys};
    auto subscriber = spawn_subscriber(journal, caf::actor_cast<caf::actor>(self));
    subscribe(subscriber);
    write_manifest("greeter.json", greeter("v2 {name}"));
    auto pending = self->request(registry, kTimeout, aitools::reload_atom::value, Trigger::admin);
    BOOST_REQUIRE(await_held(self) == 2u);

    std::vector<decltype(pending)> queued;
    for (size_t i = 0; i < kRequests; ++i)
      queued.push_back(
          self->request(registry, kTimeout, aitools::reload_atom::value, Trigger::message));
    caf::anon_send(subscriber, open_atom::value);

    first = await_reply<ReloadReportPtr>(pending);
    for (auto& handle : queued) replies.push_back(await_reply<ReloadReportPtr>(handle));
  }
  BOOST_TEST(first->generation == 2u);
  BOOST_TEST(first->changed);

  BOOST_TEST(replies.size() == kRequests);
  std::set<const ReloadReport*> passes;
  for (const auto& reply : replies) {
    passes.insert(reply.get());
    BOOST_TEST(reply->generation == 2u);
    BOOST_TEST(!reply->changed);  // the disk did not change again
  }
  BOOST_TEST(passes.size() == 1u);  // one pass answered all 20
  BOOST_TEST(passes.count(first.get()) == 0u);
  BOOST_TEST(aitools::to_string(replies.front()->trigger) == std::string("message"));

  const auto current = state();
  BOOST_TEST(current->generation == 2u);
  BOOST_TEST(serve(*current, "/hello/bob") == "v2 bob");
  // The coalesced pass changed nothing, so it published nothing.
  BOOST_TEST(journal->generations() == std::vector<uint64_t>({2}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(file_changes_lead_to_new_generations) {
  reload(Trigger::startup);

  write_manifest("greeter.json", greeter("v2 {name}"));
  caf::anon_send(registry, aitools::changed_atom::value, aitools::ChangedFile::manifest);  // after a quiet period: at once
  auto current = await_state([](const ServedState& s) { return s.generation >= 2; });
  BOOST_TEST(current->generation == 2u);
  BOOST_TEST(aitools::to_string(current->last_reload.trigger) == std::string("file"));
  BOOST_TEST(serve(*current, "/hello/bob") == "v2 bob");

  // Right after, so normally inside RELOAD_DEBOUNCE_MS: held, then applied by the trailing
  // pass (a slow machine makes it a leading change instead; one more generation either way).
  write_manifest("greeter.json", greeter("v3 {name}"));
  caf::anon_send(registry, aitools::changed_atom::value, aitools::ChangedFile::manifest);
  current = await_state([](const ServedState& s) { return s.generation >= 3; });
  BOOST_TEST(current->generation == 3u);
  BOOST_TEST(serve(*current, "/hello/bob") == "v3 bob");
}

BOOST_AUTO_TEST_CASE(env_file_edits_apply_and_an_invalid_env_file_keeps_the_config) {
  reload(Trigger::startup);

  write_env(env("howdy"));
  auto report = reload();
  BOOST_TEST(report->generation == 2u);
  BOOST_TEST(report->updated == Names({"greeter"}), boost::test_tools::per_element());
  BOOST_TEST(serve(*state(), "/hello/bob") == "howdy bob");

  write_env(env("hola") + "LOG_LEVEL=verbose\n");  // the last LOG_LEVEL is invalid
  report = reload();
  BOOST_TEST(report->generation == 2u);
  BOOST_TEST(!report->changed);
  BOOST_TEST(report->config_error.value_or("").find("LOG_LEVEL") != std::string::npos);
  const auto current = state();
  BOOST_TEST(current->config_error.has_value());
  BOOST_TEST(current->config->lookup("GREETING").value_or("") == "howdy");
  BOOST_TEST(serve(*current, "/hello/bob") == "howdy bob");
}

BOOST_AUTO_TEST_CASE(a_manifest_event_does_not_read_an_env_file_being_rewritten) {
  reload(Trigger::startup);
  // An in-place rewrite of the env file has truncated it (a valid, empty file) when a
  // manifest edit starts a pass: that pass must keep the config in force.
  write_env("");
  write_manifest("greeter.json", greeter("v2 ${GREETING} {name}"));
  caf::anon_send(registry, aitools::changed_atom::value, aitools::ChangedFile::manifest);
  auto current = await_state([](const ServedState& s) { return s.generation >= 2; });
  BOOST_TEST(serve(*current, "/hello/bob") == "v2 hello bob");

  // The rewrite completes and its own event arrives: now the env file is read.
  write_env(env("howdy"));
  caf::anon_send(registry, aitools::changed_atom::value, aitools::ChangedFile::env_file);
  current = await_state([](const ServedState& s) { return s.generation >= 3; });
  BOOST_TEST(serve(*current, "/hello/bob") == "v2 howdy bob");
}

BOOST_AUTO_TEST_CASE(restart_only_change_is_reported_without_new_generation) {
  // Decision 4: a change that is only restart_required does not increase the generation.
  reload(Trigger::startup);
  write_env(env("hello", 18670));

  const auto report = reload();
  BOOST_TEST(report->restart_required == Names({"SERVICE_PORT"}), boost::test_tools::per_element());
  BOOST_TEST(report->generation == 1u);
  BOOST_TEST(!report->changed);
  const auto current = state();
  BOOST_TEST(current->config->settings.service_port == 18668);  // the running value
}

// A config source (Polaris, etcd) hands the config actor its set; the pass that follows
// applies it, and only a real difference asks for one.
BOOST_AUTO_TEST_CASE(a_config_sources_values_manifests_and_status_apply_through_a_pass) {
  reload(Trigger::startup);
  caf::scoped_actor self{sys};
  const auto send = [&](config::RemoteSnapshotPtr snapshot, const config::SourceStatus& status) {
    auto update = std::make_shared<aitools::RemoteUpdate>();
    update->snapshot = std::move(snapshot);
    update->status = status;
    return await_reply<bool>(self->request(config, kTimeout, aitools::remote_atom::value,
                                           aitools::RemoteUpdatePtr(update)));
  };
  auto remote = std::make_shared<config::RemoteSnapshot>();
  remote->values["GREETING"] = {"hi", "etcd /c/config/GREETING"};
  remote->manifests.push_back({"extra.json",
                               std::string(R"({"routes": [{"method": "GET", "path": "/extra",
                                   "kind": "static", "options": {"body": "${GREETING} extra"}}]})"),
                               "", "/c/services/extra.json"});
  remote->revision = 5;
  config::SourceStatus status;
  status.source = "etcd";
  status.connected = status.loaded = true;
  status.revision = 5;
  BOOST_TEST(send(remote, status));
  auto report = reload(Trigger::remote);
  BOOST_TEST(report->generation == 2u);
  BOOST_TEST(aitools::to_string(report->trigger) == std::string("remote"));
  auto current = state();
  BOOST_TEST(serve(*current, "/hello/bob") == "hi bob");  // remote beats the env file
  BOOST_TEST(serve(*current, "/extra") == "hi extra");
  BOOST_TEST(state_of(*current, "etcd:extra.json") == "active");
  BOOST_REQUIRE(current->source);
  BOOST_TEST(current->source->revision == 5);

  BOOST_TEST(!send(nullptr, status));  // nothing new: no pass needed
  BOOST_TEST(!send(std::make_shared<config::RemoteSnapshot>(*remote), status));

  // The source goes down: the last good state serves, and status shows it.
  status.connected = false;
  status.error = "etcd http://127.0.0.1:1: connection refused";
  BOOST_TEST(send(nullptr, status));
  report = reload(Trigger::remote);
  BOOST_TEST(report->generation == 2u);
  current = state();
  BOOST_TEST(current->source->error == status.error);
  BOOST_TEST(serve(*current, "/extra") == "hi extra");

  // A bad remote value is rejected with its origin; a deleted one is gone.
  auto bad = std::make_shared<config::RemoteSnapshot>(*remote);
  bad->values["LOG_LEVEL"] = {"loud", "etcd /c/config/LOG_LEVEL"};
  BOOST_TEST(send(bad, status));
  current = state();
  report = reload(Trigger::remote);
  BOOST_TEST(report->config_error.value_or("").find("etcd /c/config/LOG_LEVEL") == 0u);
  BOOST_TEST(serve(*state(), "/hello/bob") == "hi bob");
  BOOST_TEST(send(std::make_shared<config::RemoteSnapshot>(), status));
  reload(Trigger::remote);
  current = state();
  BOOST_TEST(serve(*current, "/hello/bob") == "hello bob");
  BOOST_TEST(serve(*current, "/extra") == "<no route>");
  BOOST_TEST(!current->config_error.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- history, rollback, wait, validate, kinds registered by message -----------------------

namespace {

// An embedder's kind: answers "<tag> <path>" from its own actor.
aitools::service_actor::behavior_type tagging_service(std::string tag) {
  return {[tag](const http::RequestValuePtr& request) {
    return http::Response{200, "text/plain", {}, tag + " " + std::string(request->path()), {}};
  }};
}

std::string tagged(const std::string& kind) {
  return R"({"routes": [{"method": "GET", "path": "/tag/{x}", "kind": ")" + kind + R"("}]})";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(registry_control, RegistryFixture)

BOOST_AUTO_TEST_CASE(history_keeps_applied_states_and_rollback_reapplies_one) {
  reload(Trigger::startup);
  write_manifest("greeter.json", greeter("hi {name}"));
  BOOST_TEST(reload()->generation == 2u);
  BOOST_TEST(serve(*state(), "/hello/ann") == "hi ann");

  const auto report = ask<ReloadReportPtr>(aitools::rollback_atom::value, uint64_t{1});
  BOOST_TEST(report->generation == 3u);
  BOOST_TEST(aitools::to_string(report->trigger) == std::string("rollback"));
  const auto rolled = state();
  BOOST_TEST(serve(*rolled, "/hello/ann") == "hello ann");
  BOOST_REQUIRE(rolled->rollback);
  BOOST_TEST(rolled->rollback->to == 1u);
  BOOST_TEST(rolled->rollback->disk_differs);

  const auto view = ask<aitools::HistoryViewPtr>(aitools::history_atom::value);
  BOOST_REQUIRE(view->entries.size() == 3u);
  BOOST_TEST(view->entries[0]->generation == 3u);  // newest first
  BOOST_TEST(view->entries[0]->rollback_of.value_or(0) == 1u);
  BOOST_TEST(view->entries[1]->updated == Names({"greeter"}), boost::test_tools::per_element());
  BOOST_TEST(aitools::to_string(view->entries[2]->trigger) == std::string("startup"));

  // A rescan leaves the rollback in force; an explicit reload applies the disk again.
  caf::anon_send(registry, aitools::rescan_atom::value);
  BOOST_TEST(ask<ServedStatePtr>(aitools::wait_atom::value, uint64_t{3}, uint32_t{1000})->rollback.has_value());
  BOOST_TEST(reload()->generation == 4u);
  BOOST_TEST(!state()->rollback.has_value());
  BOOST_TEST(serve(*state(), "/hello/ann") == "hi ann");
}

BOOST_AUTO_TEST_CASE(rollback_to_the_current_files_reports_that_disk_does_not_differ) {
  reload(Trigger::startup);
  write_manifest("greeter.json", greeter("hi {name}"));
  reload();
  write_manifest("greeter.json", greeter("${GREETING} {name}"));  // generation 1's text again
  BOOST_TEST(reload()->generation == 3u);
  ask<ReloadReportPtr>(aitools::rollback_atom::value, uint64_t{1});
  BOOST_REQUIRE(state()->rollback);
  BOOST_TEST(!state()->rollback->disk_differs);
}

BOOST_AUTO_TEST_CASE(rollback_without_target_goes_one_back_and_unknown_ones_are_refused) {
  BOOST_TEST(refusal<ReloadReportPtr>(aitools::rollback_atom::value, uint64_t{0})
                 .find("no earlier state") != std::string::npos);
  reload(Trigger::startup);
  write_manifest("greeter.json", greeter("hi {name}"));
  reload();
  BOOST_TEST(refusal<ReloadReportPtr>(aitools::rollback_atom::value, uint64_t{9})
                 .find("generation 9 is not in the history (it keeps generations 1-2)") !=
             std::string::npos);
  BOOST_TEST(ask<ReloadReportPtr>(aitools::rollback_atom::value, uint64_t{0})->generation == 3u);
  BOOST_TEST(serve(*state(), "/hello/ann") == "hello ann");
}

BOOST_AUTO_TEST_CASE(history_size_bounds_the_entries_kept) {
  write_env(env() + "HISTORY_SIZE=2\n");
  reload(Trigger::startup);
  for (const char* body : {"a {name}", "b {name}", "c {name}"}) {
    write_manifest("greeter.json", greeter(body));
    reload();
  }
  const auto view = ask<aitools::HistoryViewPtr>(aitools::history_atom::value);
  BOOST_TEST(view->capacity == 2u);
  BOOST_REQUIRE(view->entries.size() == 2u);
  BOOST_TEST(view->entries[1]->generation == 3u);
}

BOOST_AUTO_TEST_CASE(wait_answers_once_the_generation_is_served_or_times_out) {
  reload(Trigger::startup);
  caf::scoped_actor self{sys};
  auto waiting = self->request(registry, kTimeout, aitools::wait_atom::value, uint64_t{2},
                               uint32_t{10000});
  write_manifest("greeter.json", greeter("hi {name}"));
  caf::anon_send(registry, aitools::reload_atom::value, Trigger::admin);
  const auto served = await_reply<ServedStatePtr>(std::move(waiting));
  BOOST_TEST(served->generation == 2u);

  BOOST_TEST(refusal<ServedStatePtr>(aitools::wait_atom::value, uint64_t{7}, uint32_t{20}) ==
             sys.render(caf::make_error(caf::sec::request_timeout)));
}

BOOST_AUTO_TEST_CASE(validate_diffs_without_applying) {
  reload(Trigger::startup);
  auto request = std::make_shared<aitools::ValidationRequest>();
  request->files.push_back({"greeter.json", greeter("changed {name}"), {}});
  request->files.push_back({"extra.json",
                            R"({"routes": [{"method": "GET", "path": "/hello/world", "kind": "static"},
                                           {"method": "GET", "path": "/x", "kind": "echo"}]})",
                            {}});
  request->files.push_back({"broken.json", "{", {}});
  const auto result = ask<aitools::ValidationResultPtr>(aitools::validate_atom::value,
                                                        aitools::ValidationRequestPtr(request));
  BOOST_TEST(!result->valid);
  BOOST_TEST(result->generation == 1u);
  BOOST_REQUIRE(result->files.size() == 3u);
  BOOST_TEST(result->files[0].file == "broken.json");
  BOOST_TEST(result->files[0].error.find("line 1") != std::string::npos);
  BOOST_TEST(result->files[1].service == "extra");
  BOOST_TEST(result->files[1].routes == 2u);
  BOOST_TEST(result->files[1].error.empty());
  BOOST_REQUIRE(result->added.size() == 2u);
  BOOST_TEST(result->added[0].path == "/hello/world");
  BOOST_REQUIRE(result->changed.size() == 1u);
  BOOST_TEST(result->changed[0].path == "/hello/{name}");
  BOOST_TEST(result->removed.empty());
  BOOST_REQUIRE(result->overlaps.size() == 2u);  // each route of the pair names the other
  BOOST_TEST(result->overlaps[0].route.path == "/hello/world");
  BOOST_TEST(result->overlaps[0].with.path == "/hello/{name}");

  // Replacing the whole directory with one file removes greeter's route; nothing applied.
  request = std::make_shared<aitools::ValidationRequest>();
  request->files.push_back({"other.json", R"({"routes": [{"method": "POST", "path": "/o", "kind": "echo"}]})", {}});
  request->replace = true;
  const auto replaced = ask<aitools::ValidationResultPtr>(aitools::validate_atom::value,
                                                          aitools::ValidationRequestPtr(request));
  BOOST_TEST(replaced->valid);
  BOOST_REQUIRE(replaced->removed.size() == 1u);
  BOOST_TEST(replaced->removed[0].service == "greeter");
  BOOST_TEST(state()->generation == 1u);
  BOOST_TEST(serve(*state(), "/hello/ann") == "hello ann");
}

BOOST_AUTO_TEST_CASE(a_kind_registered_by_message_serves_until_unregistered_or_gone) {
  write_manifest("tagged.json", tagged("tagger"));
  reload(Trigger::startup);
  BOOST_TEST(state_of(*state(), "tagged.json") == "quarantined");  // unknown kind so far

  auto first = track(sys.spawn(tagging_service, std::string("first")));
  auto report = ask<ReloadReportPtr>(aitools::kind_atom::value, std::string("tagger"), first);
  BOOST_TEST(report->added == Names({"tagged"}), boost::test_tools::per_element());
  BOOST_TEST(serve(*state(), "/tag/a") == "first /tag/a");

  // Replacing the actor rebinds the routes, though the manifest did not change.
  auto second = track(sys.spawn(tagging_service, std::string("second")));
  report = ask<ReloadReportPtr>(aitools::kind_atom::value, std::string("tagger"), second);
  BOOST_TEST(report->updated == Names({"tagged"}), boost::test_tools::per_element());
  BOOST_TEST(serve(*state(), "/tag/a") == "second /tag/a");

  // Unregistering quarantines the file and nothing of it serves, not even its last version.
  report = ask<ReloadReportPtr>(aitools::unkind_atom::value, std::string("tagger"));
  BOOST_TEST(report->removed == Names({"tagged"}), boost::test_tools::per_element());
  BOOST_TEST(state_of(*state(), "tagged.json") == "quarantined");
  BOOST_TEST(serve(*state(), "/tag/a") == "<no route>");
  BOOST_TEST(serve(*state(), "/hello/ann") == "hello ann");

  // Registered again, then its actor ends: the kind goes with it.
  ask<ReloadReportPtr>(aitools::kind_atom::value, std::string("tagger"), second);
  BOOST_TEST(serve(*state(), "/tag/a") == "second /tag/a");
  const uint64_t generation = state()->generation;
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
  ask<ServedStatePtr>(aitools::wait_atom::value, generation + 1, uint32_t{5000});
  BOOST_TEST(state_of(*state(), "tagged.json") == "quarantined");
}

BOOST_AUTO_TEST_CASE(a_kind_registered_before_the_first_load_serves_from_generation_one) {
  write_manifest("tagged.json", tagged("tagger"));
  auto actor = track(sys.spawn(tagging_service, std::string("early")));
  BOOST_TEST(ask<ReloadReportPtr>(aitools::kind_atom::value, std::string("tagger"), actor)->generation == 0u);
  const auto report = reload(Trigger::startup);
  BOOST_TEST(report->generation == 1u);
  BOOST_TEST(state_of(*state(), "tagged.json") == "active");
  BOOST_TEST(serve(*state(), "/tag/a") == "early /tag/a");
}

BOOST_AUTO_TEST_CASE(built_in_kinds_cannot_be_replaced_or_removed) {
  reload(Trigger::startup);
  auto actor = track(sys.spawn(tagging_service, std::string("x")));
  BOOST_TEST(refusal<ReloadReportPtr>(aitools::kind_atom::value, std::string("static"), actor)
                 .find("built in") != std::string::npos);
  BOOST_TEST(refusal<ReloadReportPtr>(aitools::unkind_atom::value, std::string("echo"))
                 .find("not registered") != std::string::npos);
  BOOST_TEST(serve(*state(), "/hello/ann") == "hello ann");
}

BOOST_AUTO_TEST_SUITE_END()
