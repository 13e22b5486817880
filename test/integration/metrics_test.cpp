// GET /metrics on the admin listener: request counters per route and status class, the
// duration histogram, reload counters and gauges across live edits, and the admin token.
// Scrapes are parsed as the Prometheus text format; samples are looked up by name and labels.
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"

namespace {

using namespace std::chrono_literals;

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// Parses the text exposition format 0.0.4; throws naming the line when one is malformed.
std::vector<Sample> parse_exposition(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto fail = [&](const std::string& what) {
      throw std::runtime_error("metrics line \"" + line + "\": " + what);
    };
    auto name_char = [](char c, bool first) {
      return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
             (!first && std::isdigit(static_cast<unsigned char>(c)));
    };
    Sample sample;
    size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) ++i;
    if (i == 0) fail("expected a metric name");
    sample.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t start = i;
        while (i < line.size() && name_char(line[i], i == start)) ++i;
        const std::string label = line.substr(start, i - start);
        if (label.empty() || line.compare(i, 2, "=\"") != 0) fail("expected label=\"value\"");
        i += 2;
        std::string value;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] != '\\') {
            value += line[i];
            continue;
          }
          if (++i == line.size()) fail("unfinished escape");
          if (line[i] == 'n') value += '\n';
          else if (line[i] == '\\' || line[i] == '"') value += line[i];
          else fail("unknown escape");
        }
        if (i == line.size()) fail("unterminated label value");
        ++i;
        if (!sample.labels.emplace(label, value).second) fail("label repeated");
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i == line.size()) fail("expected '}'");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') fail("expected a space before the value");
    const std::string value = line.substr(i + 1, line.find(' ', i + 1) - i - 1);
    size_t used = 0;
    try {
      sample.value = std::stod(value, &used);
    } catch (const std::exception&) {
      fail("value is not a number");
    }
    if (used != value.size()) fail("value is not a number");
    samples.push_back(std::move(sample));
  }
  return samples;
}

// One GET /metrics, parsed.
class Scrape {
 public:
  explicit Scrape(const it::ServerProcess& server) {
    const auto response = it::admin_get(server, "/metrics");
    if (response.status != 200)
      throw std::runtime_error("GET /metrics answered " + std::to_string(response.status));
    content_type_ = response.header("Content-Type").value_or("");
    samples_ = parse_exposition(response.body);
  }

  // The sample `name` with exactly `labels`.
  std::optional<double> find(const std::string& name, const Labels& labels = {}) const {
    for (const auto& sample : samples_)
      if (sample.name == name && sample.labels == labels) return sample.value;
    return std::nullopt;
  }
  // A counter's value; a series that has not counted anything yet is absent, i.e. 0.
  double count(const std::string& name, const Labels& labels = {}) const {
    return find(name, labels).value_or(0);
  }
  // Every value label `label` takes.
  std::set<std::string> label_values(const std::string& name, const std::string& label) const {
    std::set<std::string> values;
    for (const auto& sample : samples_) {
      auto it = sample.labels.find(label);
      if (sample.name == name && it != sample.labels.end()) values.insert(it->second);
    }
    return values;
  }
  const std::string& content_type() const { return content_type_; }

 private:
  std::string content_type_;
  std::vector<Sample> samples_;
};

Labels requests(const std::string& service, const std::string& route, const std::string& method,
                const std::string& status) {
  return {{"service", service}, {"route", route}, {"method", method}, {"status", status}};
}

Labels reloads(const std::string& trigger, const std::string& result) {
  return {{"trigger", trigger}, {"result", result}};
}

constexpr const char* kRequests = "aitools_http_requests_total";
constexpr const char* kDuration = "aitools_http_request_duration_seconds";
constexpr const char* kReloads = "aitools_reloads_total";

constexpr const char* kGreeter = R"({
  "name": "greeter",
  "prefix": "/v1",
  "routes": [
    {"method": "GET", "path": "/hello/{name}", "kind": "static", "options": {"body": "hello {name}"}},
    {"method": "POST", "path": "/echo", "kind": "actor_echo"},
    {"method": "GET", "path": "/slow", "kind": "static", "options": {"body": "slow", "delay_ms": 50}}
  ]
})";

std::string other_manifest(const std::string& body) {
  return R"({"routes": [{"method": "GET", "path": "/other", "kind": "static", "options": {"body": ")" +
         body + R"("}}]})";
}

// Watching on with a short debounce and no periodic rescan: only the edits under test run passes.
it::Env watched_env() {
  return {{"HOT_RELOAD_ENABLE", "true"}, {"RELOAD_DEBOUNCE_MS", "20"}, {"RESCAN_INTERVAL_S", "0"}};
}

constexpr auto kPatience = 10s;

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(requests_count_by_route_pattern_and_status_class) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"RESCAN_INTERVAL_S", "0"}}, {{"greeter.json", kGreeter}});
  server.start();
  const Scrape before(server);
  BOOST_TEST(before.content_type() == "text/plain; version=0.0.4; charset=utf-8");

  it::HttpClient client(server.port());
  constexpr int kHello = 7;
  for (int i = 0; i < kHello; ++i)
    BOOST_TEST_REQUIRE(client.get("/v1/hello/x" + std::to_string(i)).status == 200);
  BOOST_TEST_REQUIRE(client.request("HEAD", "/v1/hello/h").status == 200);
  for (int i = 0; i < 3; ++i)
    BOOST_TEST_REQUIRE(client.get("/nope/" + std::to_string(i)).status == 404);
  for (int i = 0; i < 2; ++i)
    BOOST_TEST_REQUIRE(client.request("DELETE", "/v1/hello/x").status == 405);
  const auto echoed = client.request("POST", "/v1/echo", {{"Content-Type", "application/json"}}, "{}");
  BOOST_TEST_REQUIRE(echoed.status == 200);
  BOOST_TEST_REQUIRE(client.get("/v1/slow").status == 200);
  const int total = kHello + 1 + 3 + 2 + 1 + 1;

  const Scrape after(server);
  auto delta = [&](const std::string& name, const Labels& labels) {
    return after.count(name, labels) - before.count(name, labels);
  };
  BOOST_TEST(delta(kRequests, requests("greeter", "/v1/hello/{name}", "GET", "2xx")) == kHello);
  BOOST_TEST(delta(kRequests, requests("greeter", "/v1/hello/{name}", "HEAD", "2xx")) == 1);
  BOOST_TEST(delta(kRequests, requests("", "", "GET", "4xx")) == 3);
  BOOST_TEST(delta(kRequests, requests("", "", "DELETE", "4xx")) == 2);
  // Deferred (actor-backed) and delayed responses count when they complete.
  BOOST_TEST(delta(kRequests, requests("greeter", "/v1/echo", "POST", "2xx")) == 1);
  BOOST_TEST(delta(kRequests, requests("greeter", "/v1/slow", "GET", "2xx")) == 1);
  // Labels come from the route table, never from request paths.
  const std::set<std::string> routes = {"", "/v1/hello/{name}", "/v1/echo", "/v1/slow"};
  BOOST_TEST(after.label_values(kRequests, "route") == routes, boost::test_tools::per_element());

  // Every request above is in the histogram once; only /v1/slow took 50 ms or more.
  const std::string count = std::string(kDuration) + "_count";
  const std::string bucket = std::string(kDuration) + "_bucket";
  BOOST_TEST(delta(count, {}) == total);
  BOOST_TEST(delta(bucket, {{"le", "+Inf"}}) == total);
  BOOST_TEST(delta(bucket, {{"le", "0.025"}}) <= total - 1);
  BOOST_TEST(delta(std::string(kDuration) + "_sum", {}) >= 0.05);
  BOOST_TEST(after.find("aitools_http_requests_in_flight").value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(refused_requests_count_without_a_route) {
  it::TempDir dir;
  it::ServerProcess server(dir, it::Env{{"RESCAN_INTERVAL_S", "0"}, {"MAX_REQUEST_BYTES", "64"}},
                           {{"greeter.json", kGreeter}});
  server.start();
  const Scrape before(server);
  // The front refuses the body before any route runs: 413, counted with service="" and route="".
  const auto refused = it::http_request(server.port(), "POST", "/v1/echo", {}, std::string(200, 'x'));
  BOOST_TEST_REQUIRE(refused.status == 413);
  const Scrape after(server);
  const auto unmatched = requests("", "", "POST", "4xx");
  BOOST_TEST(after.count(kRequests, unmatched) - before.count(kRequests, unmatched) == 1);
  BOOST_TEST(!after.find(kRequests, requests("greeter", "/v1/echo", "POST", "4xx")));
}

BOOST_AUTO_TEST_CASE(reloads_move_counters_and_gauges_but_not_route_counters) {
  it::TempDir dir;
  it::ServerProcess server(dir, watched_env(),
                           {{"greeter.json", kGreeter}, {"other.json", other_manifest("one")}});
  server.start();
  it::HttpClient client(server.port());
  for (int i = 0; i < 4; ++i) BOOST_TEST_REQUIRE(client.get("/v1/hello/a").status == 200);
  for (int i = 0; i < 2; ++i) BOOST_TEST_REQUIRE(client.get("/other").status == 200);
  const auto hello = requests("greeter", "/v1/hello/{name}", "GET", "2xx");
  const auto other = requests("other", "/other", "GET", "2xx");

  const Scrape before(server);
  BOOST_TEST(before.count(kReloads, reloads("startup", "changed")) == 1);
  BOOST_TEST(before.find("aitools_generation").value_or(0) == 1);
  BOOST_TEST(before.find("aitools_routes").value_or(0) == 4);
  BOOST_TEST(before.find("aitools_services", {{"state", "active"}}).value_or(0) == 2);
  BOOST_TEST(before.find("aitools_last_reload_success_timestamp_seconds").value_or(0) > 0);

  // An edit: a new generation, one more file pass; unchanged routes keep counting from where
  // they were, and so does the edited route (same service, pattern and method).
  dir.write_atomic("services/other.json", other_manifest("two"));
  BOOST_TEST_REQUIRE(it::wait_for_generation(server, 2, kPatience), server.log());
  BOOST_TEST_REQUIRE(it::wait_until([&] {
    return Scrape(server).count(kReloads, reloads("file", "changed")) >= 1;
  }, kPatience));
  const Scrape edited(server);
  BOOST_TEST(edited.count(kReloads, reloads("file", "changed")) == 1);
  BOOST_TEST(edited.find("aitools_generation").value_or(0) == double(it::status_generation(server)));
  BOOST_TEST(edited.count(kRequests, hello) == 4);
  BOOST_TEST(edited.count(kRequests, other) == 2);
  BOOST_TEST(client.get("/other").body == "two");
  BOOST_TEST(Scrape(server).count(kRequests, other) == 3);
  const Labels swap = {{"phase", "swap"}};
  BOOST_TEST(edited.count("aitools_reload_phase_duration_seconds_count", swap) >
             before.count("aitools_reload_phase_duration_seconds_count", swap));
  BOOST_TEST(edited.count("aitools_last_reload_success_timestamp_seconds") >=
             before.count("aitools_last_reload_success_timestamp_seconds"));

  // A broken file is quarantined: no new generation, but the services gauge shows it.
  dir.write_atomic("services/broken.json", R"({"routes": [)");
  BOOST_TEST_REQUIRE(it::wait_until([&] {
    return Scrape(server).find("aitools_services", {{"state", "quarantined"}}).value_or(0) == 1;
  }, kPatience), server.log());
  const Scrape quarantined(server);
  BOOST_TEST(quarantined.find("aitools_generation").value_or(0) == 2);
  BOOST_TEST(quarantined.count(kRequests, hello) == 4);

  // A removed route's series goes; when the route comes back it starts from zero.
  dir.remove("services/other.json");
  BOOST_TEST_REQUIRE(it::wait_for_generation(server, 3, kPatience), server.log());
  const Scrape removed(server);
  BOOST_TEST(!removed.find(kRequests, other));
  BOOST_TEST(removed.find("aitools_routes").value_or(0) == 3);
  dir.write_atomic("services/other.json", other_manifest("three"));
  BOOST_TEST_REQUIRE(it::wait_for_generation(server, 4, kPatience), server.log());
  BOOST_TEST(client.get("/other").body == "three");
  const Scrape back(server);
  BOOST_TEST(back.count(kRequests, other) == 1);
  BOOST_TEST(back.count(kRequests, hello) == 4);
}

BOOST_AUTO_TEST_CASE(an_invalid_env_file_counts_as_a_config_error) {
  it::TempDir dir;
  it::ServerProcess server(dir, watched_env(), {{"greeter.json", kGreeter}});
  server.start();
  BOOST_TEST(Scrape(server).count("aitools_config_reload_errors_total") == 0);
  dir.append("aitools.env", "this line has no equals sign\n");
  BOOST_TEST(it::wait_until([&] {
    return Scrape(server).count("aitools_config_reload_errors_total") >= 1;
  }, kPatience), server.log());
  // The pass itself ran: it did not fail.
  BOOST_TEST(Scrape(server).count(kReloads, reloads("file", "failed")) == 0);
}

BOOST_AUTO_TEST_CASE(token_required_when_admin_token_is_set) {
  it::TempDir dir;
  const std::string token = "metrics-token";
  it::ServerProcess server(dir, it::Env{{"ADMIN_TOKEN", token}}, {{"greeter.json", kGreeter}});
  server.start();
  const auto anonymous = it::http_get(server.admin_port(), "/metrics");
  BOOST_TEST(anonymous.status == 401);
  BOOST_TEST(anonymous.body.find("aitools_") == std::string::npos);
  BOOST_TEST(it::http_get(server.admin_port(), "/metrics", it::bearer("wrong")).status == 401);
  const auto authorized = it::http_get(server.admin_port(), "/metrics", it::bearer(token));
  BOOST_TEST(authorized.status == 200);
  BOOST_TEST(!parse_exposition(authorized.body).empty());
  BOOST_TEST(it::http_request(server.admin_port(), "POST", "/metrics", it::bearer(token)).status == 405);
}

BOOST_AUTO_TEST_SUITE_END()
