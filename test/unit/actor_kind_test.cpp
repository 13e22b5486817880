// The actor-backed kind: requests reach a service actor as immutable values through the
// service caller, and come back as the HTTP answer; slow actors map to 504, dead ones and
// dropped requests to 502.
#include <atomic>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <rapidjson/document.h>

#include "actors/echo_service.hpp"
#include "actors/service_caller.hpp"
#include "http/request_value.hpp"
#include "services/actor_kind.hpp"
#include "test/unit/call_handler.hpp"
#include "util/log.hpp"

using namespace aitools;

namespace {

struct PostRequest final : http::Request {
  std::string_view method() const override { return "POST"; }
  std::string_view path() const override { return "/v1/items/7"; }
  http::HeaderList query() const override { return {{"q", "x y"}}; }
  http::HeaderList headers() const override { return {{"Content-Type", "application/json"}}; }
  std::optional<std::string> header(std::string_view name) const override {
    if (http::iequals(name, "content-type")) return "application/json";
    return std::nullopt;
  }
  std::string_view body() const override { return R"({"n":1})"; }
};

// A service actor that never answers: it keeps every request's promise and drops them only
// when it exits.
service_actor::behavior_type silent_behavior(service_actor::stateful_pointer<
                                             std::vector<caf::typed_response_promise<http::Response>>> self) {
  return {
      [=](const http::RequestValuePtr&) {
        self->state.push_back(self->make_response_promise<http::Response>());
        return self->state.back();
      },
  };
}

// A service actor that drops every request without answering: its promise is discarded.
service_actor::behavior_type forgetful_behavior(service_actor::pointer self) {
  return {
      [=](const http::RequestValuePtr&) -> caf::typed_response_promise<http::Response> {
        self->make_response_promise<http::Response>();
        return {};
      },
  };
}

struct ActorKindFixture {
  const config::LogLevel saved_level = log::level();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  ServiceCaller caller{sys};
  std::vector<caf::actor> spawned{caf::actor_cast<caf::actor>(caller.actor())};

  ActorKindFixture() { log::set_level(config::LogLevel::error); }
  ~ActorKindFixture() {
    for (const auto& actor : spawned) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
    log::set_level(saved_level);
  }

  services::RouteHandlerPtr compile(const service_actor& service, const char* options_json) {
    spawned.push_back(caf::actor_cast<caf::actor>(service));
    auto kind = services::make_actor_kind("mine", service, caller);
    rapidjson::Document options;
    if (options_json) options.Parse(options_json);
    std::string error;
    auto handler = kind->compile(options_json ? &options : nullptr, {"/v1/items/{id}", {"id"}}, error);
    BOOST_REQUIRE_MESSAGE(handler, error);
    return handler;
  }
};

std::string compile_error(const char* options_json) {
  auto kind = services::make_actor_kind("mine", service_actor{}, ServiceCaller{});
  rapidjson::Document options;
  options.Parse(options_json);
  std::string error;
  BOOST_TEST(!kind->compile(&options, {"/x", {}}, error));
  return error;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(actor_kind)

BOOST_AUTO_TEST_CASE(request_value_owns_a_copy_of_the_request_and_params) {
  std::string id = "7";
  http::RequestValue value(PostRequest{}, {{"id", id}});
  id = "changed";
  BOOST_TEST(value.method() == "POST");
  BOOST_TEST(value.path() == "/v1/items/7");
  BOOST_TEST(value.body() == R"({"n":1})");
  BOOST_TEST(value.header("CONTENT-TYPE").value_or("") == "application/json");
  BOOST_TEST(!value.header("Accept"));
  BOOST_REQUIRE(value.params().size() == 1u);
  BOOST_TEST(value.params()[0].first == "id");
  BOOST_TEST(value.params()[0].second == "7");
}

BOOST_AUTO_TEST_CASE(the_service_actor_answers_the_request, *boost::unit_test::timeout(10)) {
  ActorKindFixture f;
  auto handler = f.compile(spawn_echo_service(f.sys), nullptr);
  test::WaitingDeferral deferral;
  BOOST_TEST(!handler->handle(PostRequest{}, {{"id", "7"}}, deferral));  // answered later
  BOOST_TEST(deferral.taken());
  const http::Response response = deferral.wait();
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body ==
             R"({"method":"POST","path":"/v1/items/7","params":{"id":"7"},"query":{"q":"x y"},)"
             R"("headers":{"Content-Type":"application/json"},"body":{"n":1}})");
}

BOOST_AUTO_TEST_CASE(a_silent_actor_times_out_with_504, *boost::unit_test::timeout(10)) {
  ActorKindFixture f;
  auto handler = f.compile(f.sys.spawn(silent_behavior), R"({"timeout_ms": 30})");
  const http::Response response = test::call(*handler, PostRequest{}, {{"id", "7"}});
  BOOST_TEST(response.status == 504);
  BOOST_TEST(response.body.find("within 30 ms") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_dead_actor_answers_502, *boost::unit_test::timeout(10)) {
  ActorKindFixture f;
  auto service = spawn_echo_service(f.sys);
  auto handler = f.compile(service, nullptr);
  caf::scoped_actor self{f.sys};
  self->monitor(service);
  self->send_exit(service, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  const http::Response response = test::call(*handler, PostRequest{}, {{"id", "7"}});
  BOOST_TEST(response.status == 502);
}

BOOST_AUTO_TEST_CASE(an_actor_dropping_the_request_answers_502, *boost::unit_test::timeout(10)) {
  ActorKindFixture f;
  auto handler = f.compile(f.sys.spawn(forgetful_behavior), nullptr);
  const http::Response response = test::call(*handler, PostRequest{}, {{"id", "7"}});
  BOOST_TEST(response.status == 502);
}

// Calls come from every HTTP thread at once; each gets its own answer.
BOOST_AUTO_TEST_CASE(concurrent_calls_each_get_their_answer, *boost::unit_test::timeout(30)) {
  ActorKindFixture f;
  auto handler = f.compile(spawn_echo_service(f.sys), R"({"timeout_ms": 5000})");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        const http::Response response = test::call(*handler, PostRequest{}, {{"id", id}});
        if (response.status != 200 ||
            response.body.find("\"params\":{\"id\":\"" + id + "\"}") == std::string::npos)
          ++wrong;
      }
    });
  for (auto& thread : threads) thread.join();
  BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_CASE(options_are_validated) {
  BOOST_TEST(compile_error(R"({"timeout_ms": 0})") == "timeout_ms: expected an integer 1-600000");
  BOOST_TEST(compile_error(R"({"timeout_ms": "5"})") == "timeout_ms: expected an integer 1-600000");
  BOOST_TEST(compile_error(R"({"body": 1})") == "body: unknown option; mine takes only timeout_ms");
}

BOOST_AUTO_TEST_SUITE_END()
