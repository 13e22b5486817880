// The Polaris config source (actors/config_source.hpp): logs in, downloads the config file
// every CONFIG_WATCH_INTERVAL seconds with the same session until the centre rejects it, and
// hands each new set to the config actor. Every HTTP exchange goes through the source's own
// upstream actor; answers come back as messages, so nothing here ever waits, and a drain or
// an exit never waits for a timer.
//
//   poll: [no session] login --> download --new set--> config actor --(differs)--> registry
//                                  | 401/403/redirect to login: log in again once, retry
//                                  | failure: the status says so, the last set stays;
//                                  |          retry after 1 s, doubling up to the interval
//                                  +--same set--> nothing (no pass, no generation)
#include <algorithm>

#include <caf/all.hpp>

#include "actors/config_source.hpp"
#include "actors/source_update.hpp"
#include "config/polaris.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

using step_done_atom = caf::atom_constant<caf::atom("polstep")>;  // an exchange ended
using poll_atom = caf::atom_constant<caf::atom("polpoll")>;      // time for the next poll

enum class PolarisStep : uint8_t { login, download };

}  // namespace
}  // namespace aitools

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::PolarisStep)

namespace aitools {

namespace {

using std::chrono::milliseconds;

using polaris_source_impl = config_source_actor::extend<
    caf::replies_to<publish_atom, ServedStatePtr>::with<uint64_t>,
    // `poll` tells the answers and timers of the current poll from stale ones.
    caf::reacts_to<step_done_atom, PolarisStep, uint64_t, UpstreamResult>,
    caf::reacts_to<poll_atom, uint64_t>>;

constexpr milliseconds kFirstBackoff{1000};

struct PolarisSourceState {
  // Settings (restart-only but for the interval).
  SourceContext context;
  std::string base;  // POLARIS_URL
  polaris::Filter filter;
  milliseconds timeout{5000};
  milliseconds interval{60000};  // follows the served config

  std::optional<std::string> session;  // the JSESSIONID, reused until the centre rejects it
  bool renewed = false;                // this poll already logged in again after a rejection
  uint64_t poll = 0;                   // bumped per poll and per rescheduling
  bool polling = false;                // an exchange is in flight
  bool stopped = false;                // drained
  milliseconds backoff = kFirstBackoff;
  // What kind of failure the status reports ("" while connected): a repeat of the same kind
  // is neither pushed (its text may differ in detail, e.g. curl's "after N ms") nor logged
  // above debug.
  std::string failure;
  config::SourceStatus status;  // as last handed to the config actor
  config::RemoteSnapshotPtr applied;  // the last set handed over
  caf::typed_response_promise<bool> start_promise;

  static inline const char* name = "aitools.polaris_source";
};

using source_pointer = polaris_source_impl::stateful_pointer<PolarisSourceState>;

void send_step(source_pointer self, PolarisStep step) {
  auto& st = self->state;
  auto call = std::make_shared<UpstreamCall>();
  call->request.timeout = st.timeout;
  if (step == PolarisStep::login) {
    const config::Settings& settings = st.context.config->settings;
    call->request.method = "POST";
    call->request.url = polaris::login_url(st.base);
    call->request.headers = {{"Content-Type", "application/json"}};
    call->request.body =
        polaris::login_body(st.base, settings.polaris_username, settings.polaris_password);
  } else {
    call->request.url = polaris::download_url(st.base, st.filter);
    call->request.headers = {{"Cookie", polaris::cookie_header(st.session.value_or(""))}};
  }
  call->done = [handle = caf::actor_cast<polaris_source_impl>(self), step,
                poll = st.poll](UpstreamResult result) {
    caf::anon_send(handle, step_done_atom::value, step, poll, std::move(result));
  };
  self->send(st.context.upstream, fetch_atom::value, std::move(call));
}

// Hands the config actor a new set (or none: only the status) and, when it differs from what
// the config actor holds, asks the registry for a pass - except for the start, whose answer
// precedes the server's first load.
void push(source_pointer self, config::RemoteSnapshotPtr snapshot) {
  auto& st = self->state;
  auto update = std::make_shared<RemoteUpdate>(RemoteUpdate{std::move(snapshot), st.status});
  const bool starting = st.start_promise.pending();
  hand_over(self, st.context, std::move(update), "polaris", [=](bool differs) {
    auto& state = self->state;
    if (!starting) return differs && !state.stopped;
    state.start_promise.deliver(state.status.loaded);
    return false;
  });
}

void schedule(source_pointer self, milliseconds delay) {
  auto& st = self->state;
  st.polling = false;
  if (!st.stopped) self->delayed_send(self, delay, poll_atom::value, ++st.poll);
}

void start_poll(source_pointer self) {
  auto& st = self->state;
  st.polling = true;
  st.renewed = false;
  send_step(self, st.session ? PolarisStep::download : PolarisStep::login);
}

// A poll failed: the status says so (once per kind of failure), the last good set stays in
// force, and the poll is retried after the backoff.
void failed(source_pointer self, const std::string& kind, std::string error,
            bool operator_error = false) {
  auto& st = self->state;
  const bool new_kind = kind != st.failure;
  if (new_kind)
    log::write(operator_error ? config::LogLevel::error : config::LogLevel::warn,
               "polaris_unavailable",
               {{"url", st.base},
                {"error", error},
                {"retry", "after " + std::to_string(st.backoff.count()) + " ms, backing off"}});
  else
    log::debug("polaris_unavailable", {{"url", st.base}, {"error", error}});
  st.failure = kind;
  if (new_kind || st.start_promise.pending()) {
    config::SourceStatus next = st.status;
    next.connected = false;
    next.error = std::move(error);
    if (st.status.update(std::move(next)) || st.start_promise.pending()) push(self, nullptr);
  }
  schedule(self, std::min(st.backoff, st.interval));
  st.backoff = std::min(st.backoff * 2, st.interval);
}

void downloaded(source_pointer self, const UpstreamResult& result) {
  auto& st = self->state;
  auto snapshot = std::make_shared<config::RemoteSnapshot>();
  std::string error;
  if (!polaris::parse_download(result.body, st.filter.config_name, *snapshot, error))
    return failed(self, "download:content", "polaris " + st.base + ": " + error, true);
  if (!st.failure.empty()) log::info("polaris_available", {{"url", st.base}});
  st.failure.clear();
  st.backoff = kFirstBackoff;
  const bool new_content = !st.applied || !st.applied->same_content(*snapshot);
  config::SourceStatus next = st.status;
  next.connected = true;
  next.loaded = true;
  next.error.clear();
  next.version = snapshot->version;
  const bool status_changed = st.status.update(std::move(next));
  if (new_content) {
    log::info("polaris_config", {{"version", snapshot->version},
                                 {"keys", std::to_string(snapshot->values.size())}});
    st.applied = snapshot;
    push(self, std::move(snapshot));
  } else if (status_changed || st.start_promise.pending()) {
    push(self, nullptr);
  }  // else an unchanged download: nothing to hand over, no pass
  schedule(self, st.interval);
}

// "polaris <base>: <step>: " - the start of every error message about an exchange.
std::string where(const PolarisSourceState& st, PolarisStep step) {
  return "polaris " + st.base + ": " + (step == PolarisStep::login ? "login" : "download") + ": ";
}

void answered(source_pointer self, PolarisStep step, const UpstreamResult& result) {
  auto& st = self->state;
  const std::string step_name = step == PolarisStep::login ? "login" : "download";
  if (result.error == UpstreamResult::Error::timeout)
    return failed(self, step_name + ":timeout",
                  where(st, step) + "no answer within " + std::to_string(st.timeout.count()) +
                      " ms (CONFIG_SOURCE_TIMEOUT_MS)");
  if (result.error != UpstreamResult::Error::none)
    return failed(self, step_name + ":" + to_string(result.error),
                  where(st, step) + result.error_text +
                      " (is POLARIS_URL right and the centre up?)");
  const bool ok = result.status >= 200 && result.status <= 299;
  const std::string kind = step_name + ":" + std::to_string(result.status);
  if (step == PolarisStep::login) {
    const std::string& user = st.context.config->settings.polaris_username;
    if (!ok) {
      const bool refused = result.status == 401 || result.status == 403;
      return failed(self, kind,
                    where(st, step) + "as \"" + user + "\": " +
                        polaris::http_error(result.status, result.body) +
                        (refused ? " (check POLARIS_USERNAME and POLARIS_PASSWORD)" : ""),
                    refused);
    }
    st.session = polaris::session_cookie(result.headers);
    if (!st.session)
      return failed(self, "login:cookie",
                    where(st, step) + "as \"" + user + "\": login succeeded (HTTP " +
                        std::to_string(result.status) + ") but no JSESSIONID cookie was set",
                    true);
    return send_step(self, PolarisStep::download);
  }
  if (polaris::session_expired(result.status, result.headers)) {
    st.session.reset();
    if (st.renewed)
      return failed(self, "download:session",
                    where(st, step) + polaris::http_error(result.status, result.body) +
                        " with a session just logged in: the centre does not accept it",
                    true);
    log::debug("polaris_session", {{"url", st.base}, {"state", "expired; logging in again"}});
    st.renewed = true;
    return send_step(self, PolarisStep::login);
  }
  if (!ok) {
    const auto& f = st.filter;
    const bool not_found = result.status == 404 || result.status == 400;
    return failed(self, kind,
                  where(st, step) + polaris::http_error(result.status, result.body) +
                      (not_found ? " (the filter: project=\"" + f.project + "\" cluster=\"" +
                                       f.cluster + "\" service=\"" + f.service + "\" version=\"" +
                                       f.version + "\" configName=\"" + f.config_name +
                                       "\"; check PROJECT_NAME, POLARIS_CLUSTER, SERVICE_SUB, "
                                       "VERSION and CONFIG_FILE)"
                                 : ""),
                  not_found);
  }
  downloaded(self, result);
}

polaris_source_impl::behavior_type polaris_source(source_pointer self, SourceContext context) {
  auto& st = self->state;
  const config::Settings& settings = context.config->settings;
  st.base = settings.polaris_url;
  st.filter = polaris::filter_from(settings, context.config->path);
  st.timeout = settings.config_source_timeout;
  st.interval = settings.config_watch_interval;
  st.status.source = "polaris";
  st.status.endpoint = st.base;
  st.context = std::move(context);
  return {
      [=](start_atom) {
        auto& state = self->state;
        state.start_promise = self->make_response_promise<bool>();
        // The interval applies live: follow the served config.
        self->request(state.context.registry, caf::infinite, subscribe_atom::value,
                      caf::actor_cast<state_subscriber>(self))
            .then([](const ServedStatePtr&) {});
        start_poll(self);
        return state.start_promise;
      },
      [=](ready_atom, const std::string&, const std::string&) {},
      [=](publish_atom, const ServedStatePtr& served) {
        auto& state = self->state;
        if (!served->config) return served->generation;
        const milliseconds interval = served->config->settings.config_watch_interval;
        if (interval != state.interval) {
          state.interval = interval;
          state.backoff = std::min(state.backoff, interval);
          // A poll waiting for the old interval waits for the new one from now; a retry
          // keeps its backoff.
          if (!state.polling && state.failure.empty() && !state.stopped) schedule(self, interval);
        }
        return served->generation;
      },
      [=](drain_atom) {
        auto& state = self->state;
        state.stopped = true;
        ++state.poll;  // answers and timers still on their way are stale
        if (state.start_promise.pending()) state.start_promise.deliver(false);
        return true;
      },
      [=](step_done_atom, PolarisStep step, uint64_t poll, const UpstreamResult& result) {
        if (poll == self->state.poll && !self->state.stopped) answered(self, step, result);
      },
      [=](poll_atom, uint64_t poll) {
        auto& state = self->state;
        if (poll == state.poll && !state.polling && !state.stopped) start_poll(self);
      },
  };
}

}  // namespace

config_source_actor spawn_polaris_source(caf::actor_system& system, const SourceContext& context) {
  return system.spawn(polaris_source, context);
}

}  // namespace aitools
