// Reloads under load: client threads hammer the server over keep-alive connections while the
// main thread rewrites a manifest 100 times. No request may fail, and every response must be
// served whole by one generation that never goes backwards on a connection.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "harness.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string manifest(const std::string& path, const std::string& body) {
  return "{\"routes\": [{\"method\": \"GET\", \"path\": \"" + path +
         "\", \"kind\": \"static\", \"options\": {\"body\": \"" + body + "\"}}]}\n";
}

// Generation 1 serves v0; the i-th rewrite makes generation 1 + i serve v<i>.
std::string changing_body(uint64_t generation) { return "v" + std::to_string(generation - 1); }

// What one client thread saw. Written by that thread only, read after join().
struct ClientLog {
  uint64_t requests = 0;
  uint64_t failures = 0;            // status other than 200
  uint64_t torn = 0;                // /changing body not the one of its generation
  uint64_t regressions = 0;         // generation lower than the last one on this connection
  std::vector<std::string> errors;  // socket and protocol errors (harness exceptions)
  std::string first_problem;
  int connects = 0;

  void note(const std::string& problem) {
    if (first_problem.empty()) first_problem = problem;
  }
};

// Alternates the stable and the changing route until `stop`. Boost.Test assertions are not
// thread-safe, so everything is recorded and checked by the main thread.
void hammer(uint16_t port, const std::atomic<bool>& stop, ClientLog& log) {
  it::HttpClient client(port);
  uint64_t last_generation = 0;
  int connection = 0;
  while (!stop.load()) {
    const bool changing = log.requests % 2 == 1;
    const std::string path = changing ? "/changing" : "/stable";
    try {
      const auto response = client.get(path);
      ++log.requests;
      if (client.connects() != connection) {  // a new connection starts its own sequence
        connection = client.connects();
        last_generation = 0;
      }
      const uint64_t generation = std::stoull(response.header("X-Route-Generation").value_or("0"));
      if (response.status != 200) {
        ++log.failures;
        log.note(path + " answered " + std::to_string(response.status) + ": " + response.body);
      }
      if (generation < last_generation) {
        ++log.regressions;
        log.note(path + " generation " + std::to_string(generation) + " after " +
                 std::to_string(last_generation));
      }
      last_generation = std::max(last_generation, generation);
      if (changing && response.body != changing_body(generation)) {
        ++log.torn;
        log.note("generation " + std::to_string(generation) + " served \"" + response.body + "\"");
      }
    } catch (const std::exception& e) {
      ++log.requests;
      log.errors.push_back(e.what());
    }
  }
  log.connects = client.connects();
}

// Stops and joins the clients however the test body leaves.
struct Clients {
  std::atomic<bool> stop{false};
  std::vector<ClientLog> logs;
  std::vector<std::thread> threads;

  Clients(uint16_t port, size_t count) : logs(count) {
    for (auto& log : logs) threads.emplace_back(hammer, port, std::cref(stop), std::ref(log));
  }
  ~Clients() { join(); }
  void join() {
    stop = true;
    for (auto& thread : threads)
      if (thread.joinable()) thread.join();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(load)

BOOST_AUTO_TEST_CASE(concurrent_clients_see_no_failure_during_reloads) {
  it::TempDir dir;
  it::ServerProcess server(dir,
                           {{"HOT_RELOAD_ENABLE", "true"},
                            {"RELOAD_DEBOUNCE_MS", "5"},
                            {"RESCAN_INTERVAL_S", "0"},
                            {"HTTP_THREADS", "2"}},  // clients spread over reactor threads
                           {{"stable.json", manifest("/stable", "steady")},
                            {"changing.json", manifest("/changing", changing_body(1))}});
  server.start();
  const uint64_t first = it::status_generation(server);
  BOOST_TEST_REQUIRE(first == 1u);

  const auto started = Clock::now();
  const auto deadline = started + 25s;  // the whole test stays under 30 s
  const uint64_t reloads = 100;
  uint64_t reached = first;
  {
    Clients clients(server.port(), 4);
    for (uint64_t i = 1; i <= reloads && Clock::now() < deadline; ++i) {
      // Each rewrite changes the body, so each is exactly one new generation.
      dir.write_atomic("services/changing.json", manifest("/changing", changing_body(first + i)));
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (!it::wait_for_generation(server, first + i, std::max(left, 1ms))) break;
      reached = first + i;
    }
    clients.join();

    uint64_t total = 0;
    for (size_t c = 0; c < clients.logs.size(); ++c) {
      const auto& log = clients.logs[c];
      BOOST_TEST_CONTEXT("client " << c << ", first problem: " << log.first_problem) {
        total += log.requests;
        BOOST_TEST(log.requests > 0u);
        BOOST_TEST(log.failures == 0u);
        BOOST_TEST(log.regressions == 0u);
        BOOST_TEST(log.torn == 0u);
        BOOST_TEST(log.errors.empty(), "socket errors: " << log.errors.size() << ", first: "
                                                         << (log.errors.empty() ? "" : log.errors[0]));
        BOOST_TEST(log.connects == 1, "keep-alive connection reopened " << log.connects - 1 << " times");
      }
    }
    BOOST_TEST_MESSAGE(total << " requests during " << reached - first << " reloads in "
                             << std::chrono::duration_cast<std::chrono::milliseconds>(
                                    Clock::now() - started).count() << " ms");
    BOOST_TEST(total > reloads);
  }

  BOOST_TEST(reached == first + reloads, "stalled at generation " << reached << "; log:\n"
                                                                  << server.log());
  BOOST_TEST(it::status_generation(server) == first + reloads);
  const auto response = it::http_get(server.port(), "/changing");
  BOOST_TEST(response.body == changing_body(first + reloads));
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  BOOST_TEST(elapsed.count() < 30000);
}

BOOST_AUTO_TEST_SUITE_END()
