#include "http/metrics.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "actors/served_state.hpp"

namespace aitools::http {

namespace {

// Request durations: from well under a millisecond (a static route) to actor-backed calls.
constexpr std::initializer_list<double> kRequestBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                          0.025,  0.05,  0.1,    0.25,  0.5,
                                                          1,      2.5,   5,      10};
// Reload phases: a pass over a few unchanged files takes tens of microseconds.
constexpr std::initializer_list<double> kPhaseBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                        0.005,  0.01,    0.025,  0.05,  0.1,
                                                        0.25,   0.5,     1,      2.5,   5,
                                                        10};

constexpr Trigger kTriggerValues[] = {Trigger::startup, Trigger::file,   Trigger::signal,
                                      Trigger::admin,   Trigger::message, Trigger::rescan,
                                      Trigger::rollback, Trigger::remote};
constexpr const char* kResultNames[] = {"changed", "unchanged", "failed"};
constexpr const char* kPhaseNames[] = {"parse", "validate", "build", "swap"};
constexpr const char* kClassNames[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr ServiceStatus::State kServiceStates[] = {ServiceStatus::State::active,
                                                   ServiceStatus::State::quarantined,
                                                   ServiceStatus::State::disabled};

// ---- the text format ----

using Label = std::pair<std::string_view, std::string_view>;

// `name="value",...` with values escaped as the format requires (\\, \", \n).
std::string labels(std::initializer_list<Label> list) {
  std::string out;
  for (const auto& [name, value] : list) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    for (char c : value) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '"';
  }
  return out;
}

void append_number(std::string& out, uint64_t value) { out += std::to_string(value); }
void append_number(std::string& out, int64_t value) { out += std::to_string(value); }
// Shortest text that reads back as `value`, never in exponent notation.
void append_number(std::string& out, double value) {
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  out.append(buffer, result.ec == std::errc{} ? result.ptr : buffer);
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class T>
void sample(std::string& out, std::string_view name, std::string_view label_text, T value) {
  out += name;
  if (!label_text.empty()) {
    out += '{';
    out += label_text;
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

// One series per status class that has counted a request (a series appears with its first
// request, as client libraries do).
void status_samples(std::string& out, std::string_view service, std::string_view route,
                    std::string_view method, const StatusCounters& counters) {
  for (size_t c = 0; c < StatusCounters::kClasses; ++c) {
    const uint64_t value = counters.value(c);
    if (value == 0) continue;
    sample(out, "aitools_http_requests_total",
           labels({{"service", service}, {"route", route}, {"method", method},
                   {"status", kClassNames[c]}}),
           value);
  }
}

// `_bucket` (cumulative, up to `+Inf`), `_sum` and `_count` of one histogram's series.
void histogram_samples(std::string& out, const std::string& name, const std::string& label_text,
                       const Histogram& histogram) {
  const std::string prefix = label_text.empty() ? "" : label_text + ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= histogram.bounds(); ++i) {
    cumulative += histogram.in_bucket(i);
    std::string le = "+Inf";
    if (i < histogram.bounds()) {
      le.clear();
      append_number(le, histogram.bound(i));
    }
    sample(out, name + "_bucket", prefix + labels({{"le", le}}), cumulative);
  }
  sample(out, name + "_sum", label_text, histogram.sum_seconds());
  sample(out, name + "_count", label_text, cumulative);
}

double unix_seconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration<double>(at.time_since_epoch()).count();
}

}  // namespace

Histogram::Histogram(std::initializer_list<double> bounds) {
  if (bounds.size() > kMaxBounds) throw std::invalid_argument("Histogram: too many buckets");
  for (double bound : bounds) {
    bounds_[size_] = bound;
    bounds_ns_[size_] = std::llround(bound * 1e9);
    ++size_;
  }
}

Metrics::Metrics()
    : request_duration_(kRequestBounds),
      phase_durations_{Histogram(kPhaseBounds), Histogram(kPhaseBounds), Histogram(kPhaseBounds),
                       Histogram(kPhaseBounds)},
      start_time_s_(unix_seconds(std::chrono::system_clock::now())) {
  static_assert(std::size(kTriggerValues) == kTriggers, "a Trigger is missing from kTriggerValues");
}

void Metrics::record_reload(const ReloadReport& report) {
  const auto trigger = static_cast<size_t>(report.trigger);
  const size_t result = report.failed ? 2 : report.changed ? 0 : 1;
  if (trigger < kTriggers)
    reloads_[trigger * kResults + result].fetch_add(1, std::memory_order_relaxed);
  // A failed pass carries the previous pass's details: nothing else of it is new.
  if (report.failed) return;
  if (report.config_error) config_errors_.fetch_add(1, std::memory_order_relaxed);
  last_success_ns_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(report.at.time_since_epoch()).count(),
      std::memory_order_relaxed);
  const std::chrono::microseconds phases[kPhases] = {report.phases.parse, report.phases.validate,
                                                     report.phases.build, report.phases.swap};
  // A phase that did not run (the route table was reused, nothing was published) is not a
  // zero-length sample.
  for (size_t i = 0; i < kPhases; ++i)
    if (phases[i].count() > 0) phase_durations_[i].observe(phases[i]);
}

std::string Metrics::render(const ServedState& state) const {
  const size_t routes = state.routes ? state.routes->routes().size() : 0;
  std::string out;
  out.reserve(8192 + routes * 160);

  family(out, "aitools_http_requests_total", "counter",
         "Requests answered on the service listener, by route and status class. "
         "Requests no route served have service=\"\" and route=\"\".");
  if (state.routes) {
    for (const RouteEntry& route : state.routes->routes()) {
      for (size_t m = 0; m < size_t{kMethodCount}; ++m) {
        if (route.counters[m])
          status_samples(out, route.service, route.pattern.text(), to_string(Method(m)),
                         *route.counters[m]);
      }
    }
  }
  for (size_t m = 0; m <= size_t{kMethodCount}; ++m) {
    status_samples(out, "", "", m < size_t{kMethodCount} ? to_string(Method(m)) : "OTHER",
                   unmatched_[m]);
  }

  family(out, "aitools_http_request_duration_seconds", "histogram",
         "Time from the start of the request handler to the response being handed to the HTTP "
         "layer (for deferred and delayed responses: to their completion).");
  histogram_samples(out, "aitools_http_request_duration_seconds", "", request_duration_);

  family(out, "aitools_http_requests_in_flight", "gauge",
         "Requests received whose response is not yet handed to the HTTP layer.");
  const int64_t in_flight = in_flight_.load(std::memory_order_relaxed);
  sample(out, "aitools_http_requests_in_flight", "", in_flight > 0 ? in_flight : 0);

  family(out, "aitools_reloads_total", "counter",
         "Reload passes finished, by trigger and result (changed: a new generation; unchanged; "
         "failed: the pass could not run).");
  for (size_t t = 0; t < kTriggers; ++t) {
    for (size_t r = 0; r < kResults; ++r) {
      sample(out, "aitools_reloads_total",
             labels({{"trigger", to_string(kTriggerValues[t])}, {"result", kResultNames[r]}}),
             reloads_[t * kResults + r].load(std::memory_order_relaxed));
    }
  }

  family(out, "aitools_reload_phase_duration_seconds", "histogram",
         "Time reload passes spent per phase: reading and parsing files, compiling and "
         "resolving conflicts, building the route table, handing the state to the HTTP front.");
  for (size_t p = 0; p < kPhases; ++p) {
    histogram_samples(out, "aitools_reload_phase_duration_seconds",
                      labels({{"phase", kPhaseNames[p]}}), phase_durations_[p]);
  }

  family(out, "aitools_config_reload_errors_total", "counter",
         "Reload passes that found the env file invalid (the last good config stayed in force).");
  sample(out, "aitools_config_reload_errors_total", "",
         config_errors_.load(std::memory_order_relaxed));

  family(out, "aitools_last_reload_success_timestamp_seconds", "gauge",
         "Unix time of the last reload pass that did not fail (0: none yet).");
  const int64_t last_success_ns = last_success_ns_.load(std::memory_order_relaxed);
  // Whole seconds apart: a double holds a unix time in nanoseconds only approximately.
  sample(out, "aitools_last_reload_success_timestamp_seconds", "",
         double(last_success_ns / 1000000000) + double(last_success_ns % 1000000000) / 1e9);

  family(out, "aitools_generation", "gauge", "The generation being served.");
  sample(out, "aitools_generation", "", state.generation);

  family(out, "aitools_routes", "gauge",
         "Routes being served (a route that declares several methods counts once).");
  sample(out, "aitools_routes", "", uint64_t{routes});

  family(out, "aitools_services", "gauge", "Service files by state.");
  for (const auto service_state : kServiceStates) {
    uint64_t count = 0;
    for (const auto& service : state.services) count += service.state == service_state;
    sample(out, "aitools_services", labels({{"state", to_string(service_state)}}), count);
  }

  if (state.source) {
    family(out, "aitools_config_source_connected", "gauge",
           "1 while the last exchange with the config source succeeded (CONFIG_SOURCE).");
    sample(out, "aitools_config_source_connected",
           labels({{"source", state.source->source}}), uint64_t{state.source->connected});
    family(out, "aitools_config_source_revision", "gauge",
           "The config source's revision the served state reflects (etcd).");
    sample(out, "aitools_config_source_revision", labels({{"source", state.source->source}}),
           uint64_t(std::max<int64_t>(0, state.source->revision)));
  }

  family(out, "process_start_time_seconds", "gauge", "Unix time the server started.");
  sample(out, "process_start_time_seconds", "", start_time_s_);
  return out;
}

}  // namespace aitools::http
