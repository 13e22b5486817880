// http::Metrics: the exposition text (families, escaping, histograms), per-route counters kept
// across RouteTable::build, and what a reload pass records.
#include "http/metrics.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "actors/served_state.hpp"
#include "http/route_table.hpp"

using namespace aitools;
using namespace aitools::http;
using namespace std::chrono_literals;

namespace {

RouteEntry route(std::string service, std::string_view path, std::initializer_list<Method> methods) {
  PathPattern pattern;
  std::string error;
  BOOST_REQUIRE_MESSAGE(PathPattern::parse(path, pattern, error), error);
  MethodSet set;
  for (Method m : methods) set.add(m);
  return {std::move(service), "static", set, pattern, nullptr};
}

StatusCounters& counters(const RouteTablePtr& table, size_t index, Method method) {
  const auto& counters = table->route(static_cast<uint32_t>(index)).counters[static_cast<size_t>(method)];
  BOOST_REQUIRE_MESSAGE(counters, "route " << index << " has no " << to_string(method) << " counters");
  return *counters;
}

ServedState state_of(RouteTablePtr table, uint64_t generation = 1) {
  ServedState state;
  state.generation = generation;
  state.routes = std::move(table);
  return state;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The value of the sample whose series (name and labels, as rendered) is exactly `series`.
std::optional<std::string> value_of(const std::string& text, const std::string& series) {
  for (const auto& line : lines(text))
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return line.substr(series.size() + 1);
  return std::nullopt;
}

std::string requests(std::string_view service, std::string_view path, std::string_view method,
                     std::string_view status) {
  std::ostringstream out;
  out << "aitools_http_requests_total{service=\"" << service << "\",route=\"" << path
      << "\",method=\"" << method << "\",status=\"" << status << "\"}";
  return out.str();
}

ReloadReport report(Trigger trigger, bool changed, bool failed = false) {
  ReloadReport report;
  report.trigger = trigger;
  report.changed = changed;
  report.failed = failed;
  report.at = std::chrono::system_clock::time_point(1700000000s);
  report.phases.parse = 120us;
  report.phases.validate = 30us;
  report.phases.build = changed ? 2ms : 0us;
  report.phases.swap = changed ? 40us : 0us;
  return report;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(requests_count_per_route_method_and_status_class) {
  Metrics metrics;
  auto table = RouteTable::build({route("greeter", "/v1/hello/{name}", {Method::GET}),
                                  route("greeter", "/v1/echo", {Method::POST, Method::PUT})});
  for (int i = 0; i < 3; ++i) counters(table, 0, Method::GET).count(200);
  counters(table, 0, Method::GET).count(404);   // a route's own 404 counts on the route
  counters(table, 0, Method::HEAD).count(204);  // HEAD is served from GET
  counters(table, 1, Method::POST).count(201);
  counters(table, 1, Method::POST).count(503);
  counters(table, 1, Method::POST).count(99);   // out of range: nearest class
  metrics.unmatched(Method::GET).count(404);
  metrics.unmatched(Method::GET).count(404);
  metrics.unmatched(Method::DELETE).count(405);
  metrics.unmatched(std::nullopt).count(501);

  const std::string text = metrics.render(state_of(table));
  BOOST_TEST(value_of(text, requests("greeter", "/v1/hello/{name}", "GET", "2xx")).value_or("") == "3");
  BOOST_TEST(value_of(text, requests("greeter", "/v1/hello/{name}", "GET", "4xx")).value_or("") == "1");
  BOOST_TEST(value_of(text, requests("greeter", "/v1/hello/{name}", "HEAD", "2xx")).value_or("") == "1");
  BOOST_TEST(value_of(text, requests("greeter", "/v1/echo", "POST", "2xx")).value_or("") == "1");
  BOOST_TEST(value_of(text, requests("greeter", "/v1/echo", "POST", "5xx")).value_or("") == "1");
  BOOST_TEST(value_of(text, requests("greeter", "/v1/echo", "POST", "1xx")).value_or("") == "1");
  BOOST_TEST(value_of(text, requests("", "", "GET", "4xx")).value_or("") == "2");
  BOOST_TEST(value_of(text, requests("", "", "DELETE", "4xx")).value_or("") == "1");
  BOOST_TEST(value_of(text, requests("", "", "OTHER", "5xx")).value_or("") == "1");
  // A series appears with its first request.
  BOOST_TEST(!value_of(text, requests("greeter", "/v1/echo", "PUT", "2xx")));
  BOOST_TEST(!value_of(text, requests("greeter", "/v1/hello/{name}", "GET", "3xx")));
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped) {
  Metrics metrics;
  auto table = RouteTable::build({route("we\"ird\\name\nx", "/a\"b\\c", {Method::GET})});
  counters(table, 0, Method::GET).count(200);
  const std::string text = metrics.render(state_of(table));
  const std::string series = R"(aitools_http_requests_total{service="we\"ird\\name\nx",)"
                             R"(route="/a\"b\\c",method="GET",status="2xx"})";
  BOOST_TEST(value_of(text, series).value_or("") == "1", text);
}

BOOST_AUTO_TEST_CASE(every_sample_belongs_to_a_family_with_help_and_type) {
  Metrics metrics;
  auto table = RouteTable::build({route("greeter", "/v1/hello/{name}", {Method::GET})});
  counters(table, 0, Method::GET).count(200);
  metrics.unmatched(Method::GET).count(404);
  metrics.observe_request(1ms);
  metrics.record_reload(report(Trigger::startup, true));
  const std::string text = metrics.render(state_of(table));
  BOOST_REQUIRE(!text.empty());
  BOOST_TEST(text.back() == '\n');

  std::map<std::string, std::string> types;  // family -> type
  std::string help, family, type;
  for (const auto& line : lines(text)) {
    BOOST_TEST_CONTEXT(line) {
      BOOST_TEST_REQUIRE(!line.empty());
      std::istringstream words(line);
      if (line.rfind("# HELP ", 0) == 0) {
        std::string hash, keyword;
        words >> hash >> keyword >> help;
        BOOST_TEST(line.size() > 8 + help.size());  // has a text
        continue;
      }
      if (line.rfind("# TYPE ", 0) == 0) {
        std::string hash, keyword;
        words >> hash >> keyword >> family >> type;
        BOOST_TEST(family == help);  // HELP comes first
        BOOST_TEST(types.emplace(family, type).second, "family declared twice");
        BOOST_TEST((type == "counter" || type == "gauge" || type == "histogram"));
        continue;
      }
      const std::string name = line.substr(0, line.find_first_of("{ "));
      std::string base = name;
      if (type == "histogram") {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          const std::string s = suffix;
          if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
            base = name.substr(0, name.size() - s.size());
        }
        BOOST_TEST(base != name, "a histogram sample needs _bucket, _sum or _count");
      }
      BOOST_TEST(base == family, "sample outside its family");
      if (type == "counter") BOOST_TEST(name.rfind("_total") == name.size() - 6);
      const std::string value = line.substr(line.rfind(' ') + 1);
      BOOST_TEST(value.find_first_not_of("0123456789.") == std::string::npos);
    }
  }
  const std::map<std::string, std::string> expected = {
      {"aitools_http_requests_total", "counter"},
      {"aitools_http_request_duration_seconds", "histogram"},
      {"aitools_http_requests_in_flight", "gauge"},
      {"aitools_reloads_total", "counter"},
      {"aitools_reload_phase_duration_seconds", "histogram"},
      {"aitools_config_reload_errors_total", "counter"},
      {"aitools_last_reload_success_timestamp_seconds", "gauge"},
      {"aitools_generation", "gauge"},
      {"aitools_routes", "gauge"},
      {"aitools_services", "gauge"},
      {"process_start_time_seconds", "gauge"}};
  BOOST_TEST(types == expected);
}

BOOST_AUTO_TEST_CASE(request_duration_histogram_is_cumulative) {
  Metrics metrics;
  metrics.observe_request(300us);
  metrics.observe_request(500us);  // on a bound: le is inclusive
  metrics.observe_request(2ms);
  metrics.observe_request(20s);  // beyond the last bound
  const std::string text = metrics.render(state_of(RouteTable::build({})));
  auto bucket = [&](const char* le) {
    return value_of(text, std::string("aitools_http_request_duration_seconds_bucket{le=\"") + le + "\"}")
        .value_or("missing");
  };
  BOOST_TEST(bucket("0.0005") == "2");
  BOOST_TEST(bucket("0.001") == "2");
  BOOST_TEST(bucket("0.0025") == "3");
  BOOST_TEST(bucket("5") == "3");
  BOOST_TEST(bucket("10") == "3");
  BOOST_TEST(bucket("+Inf") == "4");
  BOOST_TEST(value_of(text, "aitools_http_request_duration_seconds_count").value_or("") == "4");
  BOOST_TEST(value_of(text, "aitools_http_request_duration_seconds_sum").value_or("") == "20.0028");

  // Buckets in ascending order, ending with +Inf.
  std::vector<std::string> les;
  for (const auto& line : lines(text)) {
    const std::string prefix = "aitools_http_request_duration_seconds_bucket{le=\"";
    if (line.rfind(prefix, 0) == 0)
      les.push_back(line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size()));
  }
  const std::vector<std::string> expected = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                             "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                             "1",      "2.5",   "5",      "10",    "+Inf"};
  BOOST_TEST(les == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(in_flight_gauge_reads_the_shared_counter) {
  Metrics metrics;
  const auto state = state_of(RouteTable::build({}));
  BOOST_TEST(value_of(metrics.render(state), "aitools_http_requests_in_flight").value_or("") == "0");
  metrics.in_flight().fetch_add(2);
  BOOST_TEST(value_of(metrics.render(state), "aitools_http_requests_in_flight").value_or("") == "2");
}

BOOST_AUTO_TEST_CASE(reload_passes_count_by_trigger_and_result) {
  Metrics metrics;
  metrics.record_reload(report(Trigger::startup, true));
  metrics.record_reload(report(Trigger::file, true));
  auto invalid_env = report(Trigger::file, false);
  invalid_env.config_error = "aitools.env:3: expected KEY=VALUE";
  invalid_env.at = std::chrono::system_clock::time_point(1700000100500ms);
  metrics.record_reload(invalid_env);
  // A failed pass carries the previous report's details: only its result counts.
  auto failed = report(Trigger::rescan, false, true);
  failed.config_error = "stale";
  failed.at = std::chrono::system_clock::time_point(1700000200s);
  metrics.record_reload(failed);

  const std::string text = metrics.render(state_of(RouteTable::build({})));
  auto reloads = [&](const char* trigger, const char* result) {
    return value_of(text, std::string("aitools_reloads_total{trigger=\"") + trigger +
                              "\",result=\"" + result + "\"}")
        .value_or("missing");
  };
  BOOST_TEST(reloads("startup", "changed") == "1");
  BOOST_TEST(reloads("file", "changed") == "1");
  BOOST_TEST(reloads("file", "unchanged") == "1");
  BOOST_TEST(reloads("rescan", "failed") == "1");
  // Every trigger and result is listed, counted or not.
  BOOST_TEST(reloads("admin", "changed") == "0");
  BOOST_TEST(reloads("rollback", "failed") == "0");

  BOOST_TEST(value_of(text, "aitools_config_reload_errors_total").value_or("") == "1");
  BOOST_TEST(value_of(text, "aitools_last_reload_success_timestamp_seconds").value_or("") ==
             "1700000100.5");

  // Phases that ran: parse and validate in every pass that did not fail, build and swap in
  // the two that changed something.
  auto phase = [&](const char* name, const std::string& suffix) {
    return value_of(text, std::string("aitools_reload_phase_duration_seconds") + suffix +
                              "{phase=\"" + name + "\"}")
        .value_or("missing");
  };
  BOOST_TEST(phase("parse", "_count") == "3");
  BOOST_TEST(phase("validate", "_count") == "3");
  BOOST_TEST(phase("build", "_count") == "2");
  BOOST_TEST(phase("swap", "_count") == "2");
  BOOST_TEST(phase("build", "_sum") == "0.004");
  BOOST_TEST(value_of(text, R"(aitools_reload_phase_duration_seconds_bucket{phase="parse",le="0.0001"})")
                 .value_or("") == "0");
  BOOST_TEST(value_of(text, R"(aitools_reload_phase_duration_seconds_bucket{phase="parse",le="0.00025"})")
                 .value_or("") == "3");
}

BOOST_AUTO_TEST_CASE(gauges_describe_the_served_state) {
  Metrics metrics;
  ServedState state = state_of(RouteTable::build({route("a", "/a", {Method::GET}),
                                                  route("a", "/b", {Method::GET, Method::POST})}),
                               7);
  using State = ServiceStatus::State;
  state.services = {{"a", "a.json", State::active, 2, ""},
                    {"b", "b.json", State::quarantined, 0, "line 1: oops"},
                    {"c", "c.json", State::active, 0, ""}};
  const std::string text = metrics.render(state);
  BOOST_TEST(value_of(text, "aitools_generation").value_or("") == "7");
  BOOST_TEST(value_of(text, "aitools_routes").value_or("") == "2");
  BOOST_TEST(value_of(text, R"(aitools_services{state="active"})").value_or("") == "2");
  BOOST_TEST(value_of(text, R"(aitools_services{state="quarantined"})").value_or("") == "1");
  BOOST_TEST(value_of(text, R"(aitools_services{state="disabled"})").value_or("") == "0");
  BOOST_TEST(value_of(text, "aitools_last_reload_success_timestamp_seconds").value_or("") == "0");

  const double started = std::stod(value_of(text, "process_start_time_seconds").value_or("0"));
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  BOOST_TEST(started <= now);
  BOOST_TEST(started > now - 60);
}

BOOST_AUTO_TEST_CASE(build_carries_counters_over_by_service_pattern_and_method) {
  auto first = RouteTable::build({route("s1", "/a", {Method::GET}),
                                  route("s1", "/b/{id}", {Method::GET, Method::POST}),
                                  route("s2", "/c", {Method::GET})});
  for (int i = 0; i < 5; ++i) counters(first, 0, Method::GET).count(200);
  counters(first, 1, Method::POST).count(201);
  counters(first, 2, Method::GET).count(200);

  // /a unchanged; /b loses POST; /c moves to another service; /d is new.
  auto second = RouteTable::build({route("s1", "/a", {Method::GET}),
                                   route("s1", "/b/{id}", {Method::GET}),
                                   route("s3", "/c", {Method::GET}),
                                   route("s1", "/d", {Method::GET})},
                                  first.get());
  BOOST_TEST(counters(second, 0, Method::GET).value(1) == 5u);
  BOOST_TEST(!second->route(1).counters[static_cast<size_t>(Method::POST)]);
  BOOST_TEST(counters(second, 2, Method::GET).value(1) == 0u);
  BOOST_TEST(counters(second, 3, Method::GET).value(1) == 0u);
  // Shared, not copied: a request still served by the old table counts in the new one.
  counters(first, 0, Method::GET).count(200);
  BOOST_TEST(counters(second, 0, Method::GET).value(1) == 6u);

  // POST on /b left in `second`: it comes back from zero.
  auto third = RouteTable::build({route("s1", "/a", {Method::GET}),
                                  route("s1", "/b/{id}", {Method::GET, Method::POST})},
                                 second.get());
  BOOST_TEST(counters(third, 0, Method::GET).value(1) == 6u);
  BOOST_TEST(counters(third, 1, Method::POST).value(1) == 0u);

  // Without a previous table everything starts from zero.
  auto fresh = RouteTable::build({route("s1", "/a", {Method::GET})});
  BOOST_TEST(counters(fresh, 0, Method::GET).value(1) == 0u);
}

BOOST_AUTO_TEST_CASE(counters_follow_the_routers_head) {
  // GET answers HEAD unless a route of the same shape declares HEAD.
  auto table = RouteTable::build({route("s", "/x/{a}", {Method::GET}),
                                  route("s", "/x/{b}", {Method::HEAD}),
                                  route("s", "/y", {Method::GET, Method::POST})});
  auto has = [&](size_t index, Method m) {
    return bool(table->route(static_cast<uint32_t>(index)).counters[static_cast<size_t>(m)]);
  };
  BOOST_TEST(has(0, Method::GET));
  BOOST_TEST(!has(0, Method::HEAD));
  BOOST_TEST(has(1, Method::HEAD));
  BOOST_TEST(!has(1, Method::GET));
  BOOST_TEST(has(2, Method::HEAD));
  BOOST_TEST(!has(2, Method::PUT));

  // Wherever the router sends a request, that route counts it.
  ParamValues params;
  for (const auto& [method, path] : std::vector<std::pair<Method, std::string>>{
           {Method::GET, "/x/1"}, {Method::HEAD, "/x/1"}, {Method::GET, "/y"},
           {Method::HEAD, "/y"}, {Method::POST, "/y"}}) {
    const MatchResult match = table->match(method, path, params);
    BOOST_TEST_REQUIRE((match.status == MatchResult::Status::found));
    BOOST_TEST(has(match.route, method), to_string(method) << " " << path);
  }
}

BOOST_AUTO_TEST_SUITE_END()
