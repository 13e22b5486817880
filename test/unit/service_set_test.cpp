// The registry's reload pass without CAF: ServiceSet::apply on in-memory manifest files and
// configs, checked through what the resulting state serves. Also read_services_dir on disk.
#include "actors/service_set.hpp"
#include "test/unit/call_handler.hpp"

#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
namespace config = aitools::config;
namespace http = aitools::http;
using aitools::ConfigLoad;
using aitools::ManifestFile;
using aitools::ServedState;
using aitools::ServedStatePtr;
using aitools::ServiceSet;
using aitools::ServiceStatus;
using aitools::Trigger;
using Names = std::vector<std::string>;

namespace {

// ---- configs -----------------------------------------------------------------------------

using Environment = std::map<std::string, std::string>;

// A ConfigLoad as the config actor answers it for a valid env file `text`, with `environment`
// standing in for the process environment.
ConfigLoad config_load(const std::string& text, Environment environment = {}) {
  config::EnvLookup lookup = [environment = std::move(environment)](const std::string& key) {
    auto it = environment.find(key);
    return it == environment.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto result = config::build_config(text, "/virtual/aitools.env", {}, lookup);
  BOOST_REQUIRE_MESSAGE(result.ok(), "invalid test config: " << text);
  ConfigLoad load;
  load.config = result.snapshot;
  return load;
}

// ---- manifests ---------------------------------------------------------------------------

// One `static` route answering `body` (plain text: no quotes or backslashes).
std::string route(const std::string& method, const std::string& path, const std::string& body) {
  return R"({"method": ")" + method + R"(", "path": ")" + path +
         R"(", "kind": "static", "options": {"body": ")" + body + R"("}})";
}

// A manifest with `routes`, after the top-level `fields` (e.g. R"("name": "x")").
std::string manifest(const Names& routes, const std::string& fields = "") {
  std::string text = "{" + fields + (fields.empty() ? "" : ", ") + "\"routes\": [";
  for (size_t i = 0; i < routes.size(); ++i) text += (i ? ", " : "") + routes[i];
  return text + "]}\n";
}

std::string named(const std::string& name) { return R"("name": ")" + name + R"(")"; }

// ---- what a state serves -----------------------------------------------------------------

const std::string kNoRoute = "<no route>";

struct FakeRequest final : http::Request {
  std::string method_name;
  std::string target;
  FakeRequest(std::string method, std::string path)
      : method_name(std::move(method)), target(std::move(path)) {}
  std::string_view method() const override { return method_name; }
  std::string_view path() const override { return target; }
  http::HeaderList query() const override { return {}; }
  http::HeaderList headers() const override { return {}; }
  std::optional<std::string> header(std::string_view) const override { return std::nullopt; }
  std::string_view body() const override { return {}; }
};

// The body `state` answers to `method path`, or kNoRoute when no route has that method.
std::string serve(const ServedState& state, const std::string& path,
                  http::Method method = http::Method::GET) {
  BOOST_REQUIRE(state.routes);
  http::ParamValues values;
  const auto match = state.routes->match(method, path, values);
  if (match.status != http::MatchResult::Status::found) return kNoRoute;
  const http::RouteEntry& entry = state.routes->route(match.route);
  http::Params params;
  for (size_t i = 0; i < values.size() && i < entry.pattern.param_names().size(); ++i)
    params.emplace_back(entry.pattern.param_names()[i], values[i]);
  const FakeRequest request(std::string(http::to_string(method)), path);
  return aitools::test::call(*entry.handler, request, params).body;
}

const ServiceStatus& status_of(const ServedState& state, const std::string& file) {
  auto it = std::find_if(state.services.begin(), state.services.end(),
                         [&](const ServiceStatus& s) { return s.file == file; });
  BOOST_REQUIRE_MESSAGE(it != state.services.end(), "no status for " << file);
  return *it;
}

std::string state_of(const ServedState& state, const std::string& file) {
  return aitools::to_string(status_of(state, file).state);
}

// The report's error for `file`, or "" when it has none.
std::string report_error(const ServedState& state, const std::string& file) {
  for (const auto& e : state.last_reload.errors)
    if (e.file == file) return e.error;
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Checks the pass's report against the expected generation and changed services.
void check_report(const ServedState& state, uint64_t generation, const Names& added,
                  const Names& removed, const Names& updated) {
  const auto& report = state.last_reload;
  BOOST_TEST(state.generation == generation);
  BOOST_TEST(report.generation == generation);
  BOOST_TEST(report.added == added, boost::test_tools::per_element());
  BOOST_TEST(report.removed == removed, boost::test_tools::per_element());
  BOOST_TEST(report.updated == updated, boost::test_tools::per_element());
}

// ---- the fixture: a ServiceSet, the config it is given and the "disk" it reads ------------

struct ReloadPass {
  ServiceSet services{aitools::services::Catalog::builtin(), "/virtual/services"};
  ConfigLoad config = config_load("GREETING=hello\n");
  std::map<std::string, std::optional<std::string>> disk;  // nullopt: cannot be read
  bool published_change = false;                           // of the last pass

  ServedStatePtr pass() {
    std::vector<ManifestFile> files;
    for (const auto& [name, content] : disk)
      files.push_back({name, content, content ? "" : "cannot read file"});
    aitools::add_remote_manifests(files, config);
    auto outcome = services.apply(config, files, Trigger::file, std::chrono::steady_clock::now());
    BOOST_REQUIRE(outcome.state);
    BOOST_REQUIRE(outcome.state == services.state());
    published_change = outcome.published_change;
    return outcome.state;
  }
};

// ---- a real directory for read_services_dir -----------------------------------------------

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "aitools-reload-pass-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(reload_pass, ReloadPass)

// ---- generations -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(first_pass_is_generation_one_with_every_file_active) {
  disk["greeter.json"] = manifest({route("GET", "/hello/{name}", "hi {name}")});
  disk["status.json"] = manifest({route("GET", "/status", "ok")}, named("health"));
  const auto state = pass();

  check_report(*state, 1, {"greeter", "health"}, {}, {});
  BOOST_TEST(state->last_reload.changed);
  BOOST_TEST(state->last_reload.errors.empty());
  BOOST_TEST(published_change);
  BOOST_TEST(state->services.size() == 2u);
  BOOST_TEST(state_of(*state, "greeter.json") == "active");
  BOOST_TEST(state_of(*state, "status.json") == "active");
  BOOST_TEST(status_of(*state, "status.json").name == "health");
  BOOST_TEST(serve(*state, "/hello/bob") == "hi bob");
  BOOST_TEST(serve(*state, "/status") == "ok");
  BOOST_TEST(serve(*state, "/missing") == kNoRoute);
}

BOOST_AUTO_TEST_CASE(identical_pass_keeps_generation_and_route_table) {
  disk["a.json"] = manifest({route("GET", "/a", "A")});
  const auto first = pass();
  const auto second = pass();

  check_report(*second, 1, {}, {}, {});
  BOOST_TEST(!second->last_reload.changed);
  BOOST_TEST(!published_change);
  BOOST_TEST(second->routes == first->routes);
}

BOOST_AUTO_TEST_CASE(whitespace_only_edit_is_no_new_generation) {
  disk["a.json"] =
      R"({"name":"a","routes":[{"method":"GET","path":"/a","kind":"static","options":{"body":"A"}}]})";
  const auto first = pass();
  disk["a.json"] = R"(
{
  "name": "a",
  "routes": [
    { "method": "GET", "path": "/a", "kind": "static",
      "options": { "body": "A" } }
  ]
}
)";
  const auto second = pass();

  check_report(*second, 1, {}, {}, {});
  BOOST_TEST(!second->last_reload.changed);
  BOOST_TEST(!published_change);
  BOOST_TEST(second->routes == first->routes);
}

BOOST_AUTO_TEST_CASE(each_added_removed_or_updated_file_is_one_generation) {
  disk["a.json"] = manifest({route("GET", "/a", "A")});
  pass();

  disk["b.json"] = manifest({route("GET", "/b", "B")});
  auto state = pass();
  check_report(*state, 2, {"b"}, {}, {});
  BOOST_TEST(state->last_reload.changed);
  BOOST_TEST(serve(*state, "/b") == "B");

  disk.erase("b.json");
  state = pass();
  check_report(*state, 3, {}, {"b"}, {});
  BOOST_TEST(serve(*state, "/b") == kNoRoute);
  BOOST_TEST(state->services.size() == 1u);

  disk["a.json"] = manifest({route("GET", "/a", "A2")});
  state = pass();
  check_report(*state, 4, {}, {}, {"a"});
  BOOST_TEST(serve(*state, "/a") == "A2");
}

// ---- quarantine --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(broken_edit_of_live_file_keeps_last_good_version_serving) {
  disk["a.json"] = manifest({route("GET", "/a", "A")}, named("alpha"));
  const auto good = pass();
  disk["a.json"] = R"({"name": "alpha", "routes": [)";
  const auto state = pass();

  check_report(*state, 1, {}, {}, {});
  BOOST_TEST(!state->last_reload.changed);
  BOOST_TEST(published_change);  // the status changed, not what is served
  BOOST_TEST(state_of(*state, "a.json") == "quarantined");
  const ServiceStatus& status = status_of(*state, "a.json");
  BOOST_TEST(status.name == "alpha");  // the name of its last good version
  BOOST_TEST(contains(status.error, "line 1"));
  BOOST_TEST(status.routes == 1u);  // its last good version's routes
  BOOST_TEST(report_error(*state, "a.json") == status.error);
  BOOST_TEST(serve(*state, "/a") == "A");
  BOOST_TEST(state->routes == good->routes);
}

BOOST_AUTO_TEST_CASE(broken_edit_does_not_block_another_files_change) {
  disk["a.json"] = manifest({route("GET", "/a", "A")});
  disk["b.json"] = manifest({route("GET", "/b", "B")});
  pass();
  disk["a.json"] = R"({"routes": 5})";
  disk["b.json"] = manifest({route("GET", "/b", "B2")});
  const auto state = pass();

  check_report(*state, 2, {}, {}, {"b"});
  BOOST_TEST(state_of(*state, "a.json") == "quarantined");
  BOOST_TEST(status_of(*state, "a.json").error == "routes: expected an array of routes, got 5");
  BOOST_TEST(state_of(*state, "b.json") == "active");
  BOOST_TEST(serve(*state, "/a") == "A");  // the rebuilt table still has a's last good version
  BOOST_TEST(serve(*state, "/b") == "B2");
}

BOOST_AUTO_TEST_CASE(broken_new_file_is_quarantined_until_fixed) {
  disk["a.json"] = manifest({route("GET", "/a", "A")});
  pass();
  disk["c.json"] = R"({"routes": [{"method": "FETCH", "path": "/c", "kind": "static"}]})";
  auto state = pass();

  check_report(*state, 1, {}, {}, {});  // nothing served changed
  BOOST_TEST(state_of(*state, "c.json") == "quarantined");
  BOOST_TEST(status_of(*state, "c.json").name == "c");  // its file name stem
  BOOST_TEST(contains(status_of(*state, "c.json").error, "routes[0].method"));
  BOOST_TEST(status_of(*state, "c.json").routes == 0u);
  BOOST_TEST(serve(*state, "/c") == kNoRoute);

  disk["c.json"] = manifest({route("GET", "/c", "C")});
  state = pass();
  check_report(*state, 2, {"c"}, {}, {});
  BOOST_TEST(state_of(*state, "c.json") == "active");
  BOOST_TEST(state->last_reload.errors.empty());
  BOOST_TEST(serve(*state, "/c") == "C");
}

BOOST_AUTO_TEST_CASE(unreadable_file_keeps_last_good_version) {
  const std::string text = manifest({route("GET", "/a", "A")});
  disk["a.json"] = text;
  pass();
  disk["a.json"] = std::nullopt;
  auto state = pass();

  check_report(*state, 1, {}, {}, {});
  BOOST_TEST(state_of(*state, "a.json") == "quarantined");
  BOOST_TEST(status_of(*state, "a.json").error == "cannot read file");
  BOOST_TEST(serve(*state, "/a") == "A");

  disk["a.json"] = text;  // readable again, same content: the same version
  state = pass();
  check_report(*state, 1, {}, {}, {});
  BOOST_TEST(state_of(*state, "a.json") == "active");
  BOOST_TEST(state->last_reload.errors.empty());
}

BOOST_AUTO_TEST_CASE(broken_file_does_not_take_the_status_key_of_a_live_service) {
  // b.json serves the service "a"; a new file a.json cannot be parsed and would be reported
  // under its stem "a". The live owner keeps the key (decision 11: live keeps a name).
  disk["b.json"] = manifest({route("GET", "/b", "B")}, named("a"));
  pass();
  disk["a.json"] = "{";
  const auto state = pass();

  auto keyed_a = std::find_if(state->services.begin(), state->services.end(),
                              [](const ServiceStatus& s) { return s.name == "a"; });
  BOOST_REQUIRE(keyed_a != state->services.end());
  BOOST_TEST(keyed_a->file == "b.json");
  BOOST_TEST(aitools::to_string(keyed_a->state) == std::string("active"));
  BOOST_TEST(state_of(*state, "a.json") == "quarantined");
}

// ---- conflicts ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(route_conflict_live_file_keeps_the_route) {
  // The live file is the lexicographically later one, so only "live wins" explains the result.
  disk["z.json"] = manifest({route("GET", "/a/{x}", "Z")});
  pass();
  disk["a.json"] = manifest({route("GET", "/a/{y}", "A"), route("GET", "/only-a", "only")});
  auto state = pass();

  check_report(*state, 1, {}, {}, {});
  BOOST_TEST(state_of(*state, "z.json") == "active");
  BOOST_TEST(state_of(*state, "a.json") == "quarantined");
  const std::string& error = status_of(*state, "a.json").error;
  BOOST_TEST(contains(error, "GET /a/{y}"));
  BOOST_TEST(contains(error, "z.json"));
  BOOST_TEST(serve(*state, "/a/1") == "Z");
  BOOST_TEST(serve(*state, "/only-a") == kNoRoute);  // a loser serves nothing of its version

  // Once the owner is gone, the waiting file serves without being edited.
  disk.erase("z.json");
  state = pass();
  check_report(*state, 2, {"a"}, {"z"}, {});
  BOOST_TEST(state_of(*state, "a.json") == "active");
  BOOST_TEST(serve(*state, "/a/1") == "A");
}

BOOST_AUTO_TEST_CASE(route_conflict_between_new_files_first_file_name_wins) {
  disk["c.json"] = manifest({route("GET", "/a/{y}", "C")});
  disk["b.json"] = manifest({route("GET", "/a/{x}", "B")});
  const auto state = pass();

  check_report(*state, 1, {"b"}, {}, {});
  BOOST_TEST(state_of(*state, "b.json") == "active");
  BOOST_TEST(state_of(*state, "c.json") == "quarantined");
  BOOST_TEST(contains(status_of(*state, "c.json").error, "b.json"));
  BOOST_TEST(report_error(*state, "c.json") == status_of(*state, "c.json").error);
  BOOST_TEST(serve(*state, "/a/1") == "B");
}

BOOST_AUTO_TEST_CASE(same_shape_with_different_methods_is_no_conflict) {
  disk["a.json"] = manifest({route("GET", "/a/{x}", "A")});
  disk["b.json"] = manifest({route("POST", "/a/{y}", "B")});
  const auto state = pass();

  BOOST_TEST(state->last_reload.errors.empty());
  BOOST_TEST(serve(*state, "/a/1", http::Method::GET) == "A");
  BOOST_TEST(serve(*state, "/a/1", http::Method::POST) == "B");
}

BOOST_AUTO_TEST_CASE(route_moves_between_files_in_one_pass) {
  disk["a.json"] = manifest({route("GET", "/a", "A"), route("GET", "/shared", "from a")});
  disk["b.json"] = manifest({route("GET", "/b", "B")});
  pass();
  disk["a.json"] = manifest({route("GET", "/a", "A")});
  disk["b.json"] = manifest({route("GET", "/b", "B"), route("GET", "/shared", "from b")});
  const auto state = pass();

  check_report(*state, 2, {}, {}, {"a", "b"});
  BOOST_TEST(state->last_reload.errors.empty());
  BOOST_TEST(serve(*state, "/shared") == "from b");
  BOOST_TEST(serve(*state, "/a") == "A");
}

BOOST_AUTO_TEST_CASE(name_conflict_live_file_keeps_the_name) {
  disk["z.json"] = manifest({route("GET", "/z", "Z")}, named("svc"));
  pass();
  disk["a.json"] = manifest({route("GET", "/a", "A")}, named("svc"));
  const auto state = pass();

  check_report(*state, 1, {}, {}, {});
  BOOST_TEST(state_of(*state, "z.json") == "active");
  BOOST_TEST(status_of(*state, "z.json").name == "svc");
  BOOST_TEST(state_of(*state, "a.json") == "quarantined");
  BOOST_TEST(status_of(*state, "a.json").name == "a.json");  // a name-conflict loser
  BOOST_TEST(contains(status_of(*state, "a.json").error, "z.json"));
  BOOST_TEST(serve(*state, "/a") == kNoRoute);
}

BOOST_AUTO_TEST_CASE(name_conflict_between_new_files_first_file_name_wins) {
  disk["c.json"] = manifest({route("GET", "/c", "C")}, named("svc"));
  disk["b.json"] = manifest({route("GET", "/b", "B")}, named("svc"));
  const auto state = pass();

  check_report(*state, 1, {"svc"}, {}, {});
  BOOST_TEST(status_of(*state, "b.json").name == "svc");
  BOOST_TEST(state_of(*state, "c.json") == "quarantined");
  BOOST_TEST(status_of(*state, "c.json").name == "c.json");
  BOOST_TEST(contains(status_of(*state, "c.json").error, "b.json"));
  BOOST_TEST(serve(*state, "/b") == "B");
  BOOST_TEST(serve(*state, "/c") == kNoRoute);
}

BOOST_AUTO_TEST_CASE(disabled_service_serves_no_routes) {
  disk["a.json"] = manifest({route("GET", "/a", "A")});
  disk["off.json"] = manifest({route("GET", "/off", "off")}, R"("enabled": false)");
  auto state = pass();
  BOOST_TEST(state_of(*state, "off.json") == "disabled");
  BOOST_TEST(status_of(*state, "off.json").routes == 0u);
  BOOST_TEST(serve(*state, "/off") == kNoRoute);

  // Disabling a live service takes its routes away: a new generation.
  disk["a.json"] = manifest({route("GET", "/a", "A")}, R"("enabled": false)");
  state = pass();
  BOOST_TEST(state->generation == 2u);
  BOOST_TEST(state_of(*state, "a.json") == "disabled");
  BOOST_TEST(serve(*state, "/a") == kNoRoute);
}

// ---- ${KEY} rendering and the config -----------------------------------------------------

BOOST_AUTO_TEST_CASE(config_change_of_used_key_rerenders_the_service) {
  disk["greeter.json"] = manifest({route("GET", "/hello/{name}", "${GREETING} {name}")});
  auto state = pass();
  BOOST_TEST(serve(*state, "/hello/bob") == "hello bob");

  config = config_load("GREETING=howdy\n");
  state = pass();
  check_report(*state, 2, {}, {}, {"greeter"});
  BOOST_TEST(state->last_reload.changed);
  BOOST_TEST(serve(*state, "/hello/bob") == "howdy bob");
}

BOOST_AUTO_TEST_CASE(environment_wins_over_env_file_in_rendering) {
  config = config_load("GREETING=hello\n", {{"GREETING", "from env"}});
  disk["greeter.json"] = manifest({route("GET", "/hello", "${GREETING}")});
  const auto state = pass();
  BOOST_TEST(serve(*state, "/hello") == "from env");
}

BOOST_AUTO_TEST_CASE(config_change_of_unused_key_applies_config_but_keeps_service_version) {
  config = config_load("GREETING=hello\nOTHER=1\n");
  disk["greeter.json"] = manifest({route("GET", "/hello", "${GREETING}")});
  const auto first = pass();

  config = config_load("GREETING=hello\nOTHER=2\n");
  const auto state = pass();
  check_report(*state, 2, {}, {}, {});  // the config was applied; greeter is the same version
  BOOST_TEST(state->last_reload.changed);
  BOOST_TEST(state->routes == first->routes);
  BOOST_TEST(state->config == config.config);
  BOOST_TEST(state->config->lookup("OTHER").value_or("") == "2");
}

BOOST_AUTO_TEST_CASE(missing_key_quarantines_until_it_is_set) {
  disk["region.json"] = manifest({route("GET", "/region", "${REGION}")});
  auto state = pass();
  BOOST_TEST(state_of(*state, "region.json") == "quarantined");
  BOOST_TEST(contains(status_of(*state, "region.json").error, "${REGION}"));
  BOOST_TEST(serve(*state, "/region") == kNoRoute);

  config = config_load("GREETING=hello\nREGION=eu-west\n");  // no manifest edit
  state = pass();
  check_report(*state, 2, {"region"}, {}, {});
  BOOST_TEST(state_of(*state, "region.json") == "active");
  BOOST_TEST(serve(*state, "/region") == "eu-west");
}

BOOST_AUTO_TEST_CASE(config_error_keeps_previous_config_and_is_reported) {
  disk["greeter.json"] = manifest({route("GET", "/hello", "${GREETING}")});
  const auto first = pass();

  auto invalid = config::build_config("SERVICE_PORT=abc\n", "/virtual/aitools.env", {},
                                      [](const std::string&) { return std::nullopt; });
  BOOST_REQUIRE(!invalid.ok());
  const std::string message = invalid.errors.front();
  config.error = message;  // the config actor answers the last good config and the error
  auto state = pass();

  check_report(*state, 1, {}, {}, {});
  BOOST_TEST(!state->last_reload.changed);
  BOOST_TEST(published_change);
  BOOST_TEST(state->config == first->config);
  BOOST_TEST(state->config_error.value_or("") == message);
  BOOST_TEST(state->last_reload.config_error.value_or("") == message);
  BOOST_TEST(serve(*state, "/hello") == "hello");

  config.error.reset();  // the file is fixed (same values as before)
  state = pass();
  BOOST_TEST(state->generation == 1u);
  BOOST_TEST(!state->config_error.has_value());
  BOOST_TEST(published_change);
}

BOOST_AUTO_TEST_CASE(restart_required_is_carried_into_the_report) {
  disk["a.json"] = manifest({route("GET", "/a", "A")});
  pass();
  config.restart_required = {"SERVICE_PORT"};
  const auto state = pass();

  BOOST_TEST(state->last_reload.restart_required == Names({"SERVICE_PORT"}),
             boost::test_tools::per_element());
  BOOST_TEST(state->restart_required == Names({"SERVICE_PORT"}), boost::test_tools::per_element());
  BOOST_TEST(state->generation == 1u);  // nothing was applied
  BOOST_TEST(published_change);
}

// Fails a pass the way running out of memory would.
class ThrowingKind final : public aitools::services::ServiceKind {
 public:
  std::string_view name() const override { return "throwing"; }
  aitools::services::RouteHandlerPtr compile(const rapidjson::Value*,
                                             const aitools::services::RouteInfo&,
                                             std::string&) const override {
    throw std::bad_alloc();
  }
};

BOOST_AUTO_TEST_CASE(a_pass_that_throws_changes_nothing_and_the_next_one_recovers) {
  aitools::services::Catalog catalog;
  const auto* builtin_static = aitools::services::Catalog::builtin().find("static");
  catalog.add(std::shared_ptr<const aitools::services::ServiceKind>(builtin_static, [](auto*) {}));
  catalog.add(std::make_shared<ThrowingKind>());
  ServiceSet guarded(catalog, "/virtual/services");
  const auto load = config_load("");
  const auto now = [] { return std::chrono::steady_clock::now(); };
  std::vector<ManifestFile> files{{"a.json", manifest({route("GET", "/a", "one")}), ""}};
  const auto first = guarded.apply(load, files, Trigger::startup, now()).state;

  files = {{"a.json", manifest({route("GET", "/a", "two")}), ""},
           {"b.json", R"({"routes": [{"method": "GET", "path": "/b", "kind": "throwing"}]})", ""}};
  BOOST_CHECK_THROW(guarded.apply(load, files, Trigger::file, now()), std::bad_alloc);
  BOOST_TEST(guarded.state() == first);
  BOOST_TEST(serve(*guarded.state(), "/a") == "one");

  files.pop_back();
  const auto next = guarded.apply(load, files, Trigger::file, now()).state;
  BOOST_TEST(serve(*next, "/a") == "two");
  BOOST_TEST(next->generation == 2u);
  BOOST_TEST(next->last_reload.updated == Names{"a"}, boost::test_tools::per_element());
}

// ---- read_services_dir on a real directory -----------------------------------------------

BOOST_FIXTURE_TEST_CASE(read_services_dir_keeps_only_json_files_sorted_by_name, TempDir) {
  write("b.json", "B");
  write("a.json", "A");
  write("empty.json", "");
  for (const char* ignored : {".x.json", "x.json~", "x.json.tmp", "x.swp", ".x.json.swp",
                              "notes.txt", "json"})
    write(ignored, "ignored");
  fs::create_directory(path / "sub");
  write("sub/inner.json", "inner");
  fs::create_directory(path / "dir.json");  // a directory with a manifest's name

  std::vector<ManifestFile> files{{"stale.json", std::string("x"), ""}};
  std::string error;
  BOOST_REQUIRE(aitools::read_services_dir(path.string(), files, error));

  Names names;
  for (const auto& file : files) names.push_back(file.name);
  BOOST_TEST(names == Names({"a.json", "b.json", "empty.json"}), boost::test_tools::per_element());
  BOOST_REQUIRE(files.size() == 3u);
  BOOST_TEST(files[0].content.value_or("<unread>") == "A");
  BOOST_TEST(files[1].content.value_or("<unread>") == "B");
  BOOST_TEST(files[2].content.value_or("<unread>") == "");  // read, and empty
  BOOST_TEST(error.empty());
}

BOOST_FIXTURE_TEST_CASE(read_services_dir_refuses_oversized_files_without_reading_them, TempDir) {
  write("huge.json", "");
  fs::resize_file(path / "huge.json", (uintmax_t{64} << 20) + 1);  // sparse: costs no disk
  write("small.json", "S");
  std::vector<ManifestFile> files;
  std::string error;
  BOOST_REQUIRE(aitools::read_services_dir(path.string(), files, error));
  BOOST_REQUIRE(files.size() == 2u);
  BOOST_TEST(!files[0].content.has_value());
  BOOST_TEST(contains(files[0].read_error, "larger than 64 MiB"));
  BOOST_TEST(files[1].content.value_or("<unread>") == "S");
}

BOOST_FIXTURE_TEST_CASE(read_services_dir_of_missing_directory_fails_with_error, TempDir) {
  const std::string missing = (path / "does-not-exist").string();
  std::vector<ManifestFile> files;
  std::string error;
  BOOST_TEST(!aitools::read_services_dir(missing, files, error));
  BOOST_TEST(contains(error, missing));
  BOOST_TEST(files.empty());
}

// ---- a config source's manifests and status (etcd) ----------------------------------------

namespace {
config::RemoteManifest remote_manifest(const std::string& name, std::optional<std::string> content,
                                       const std::string& error = "") {
  return {name, std::move(content), error, "/c/services/" + name};
}
}  // namespace

BOOST_AUTO_TEST_CASE(remote_manifests_join_the_directory_and_win_on_a_file_name_clash) {
  disk["a.json"] = manifest({route("GET", "/a", "disk")});
  disk["b.json"] = manifest({route("GET", "/b", "disk")});
  auto remote = std::make_shared<config::RemoteSnapshot>();
  remote->manifests = {remote_manifest("b.json", manifest({route("GET", "/b", "etcd")})),
                       remote_manifest("c.json", manifest({route("GET", "/c", "etcd")})),
                       remote_manifest("bad name", std::nullopt, "expected <name>.json")};
  auto source = std::make_shared<config::SourceStatus>();
  source->source = "etcd";
  source->revision = 7;
  config.remote = remote;
  config.source = source;
  const auto state = pass();
  BOOST_TEST(serve(*state, "/a") == "disk");
  BOOST_TEST(serve(*state, "/b") == "etcd");
  BOOST_TEST(serve(*state, "/c") == "etcd");
  BOOST_TEST(state_of(*state, "etcd:b.json") == "active");
  BOOST_TEST(report_error(*state, "etcd:bad name") == "/c/services/bad name: expected <name>.json");
  BOOST_TEST(state->source == source);

  // The source's status alone (a new revision, connectivity) publishes the same generation.
  auto moved = std::make_shared<config::SourceStatus>(*source);
  moved->revision = 8;
  config.source = moved;
  const auto next = pass();
  BOOST_TEST(next->generation == state->generation);
  BOOST_TEST(published_change);
  BOOST_TEST(next->source->revision == 8);
  pass();
  BOOST_TEST(!published_change);

  config.remote = std::make_shared<config::RemoteSnapshot>();  // every etcd manifest deleted
  const auto after = pass();
  BOOST_TEST(serve(*after, "/b") == "disk");
  BOOST_TEST(serve(*after, "/c") == kNoRoute);
}

BOOST_AUTO_TEST_SUITE_END()
