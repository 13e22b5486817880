// The debouncer's coalescing rules (core-contract-decisions.md, decision 1), driven with
// injected time points: no clock, no sleeps.
#include "actors/debouncer.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <vector>

using aitools::Debouncer;
using Clock = Debouncer::clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kWindow{50};

// Test time: milliseconds after an arbitrary origin.
Clock::time_point at(int ms) { return Clock::time_point{} + milliseconds(ms); }

milliseconds since_origin(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t - Clock::time_point{});
}

std::vector<int> in_ms(const std::vector<Clock::time_point>& times) {
  std::vector<int> out;
  for (auto t : times) out.push_back(static_cast<int>(since_origin(t).count()));
  return out;
}

// What happened when a series of changes went through a debouncer.
struct Replay {
  std::vector<Clock::time_point> passes;  // when each reload pass ran
  milliseconds max_lag{0};                // longest time a change waited for its pass
  size_t unapplied = 0;                   // changes still waiting after the last pass
};

// Drives `debouncer` the way the registry actor does: a leading change runs a pass at once; a
// timer fires at every deadline() (before a change that arrives at the same instant) and runs
// a pass when take_due() releases the held changes. After the last change, the remaining
// timers fire.
Replay replay(Debouncer& debouncer, const std::vector<Clock::time_point>& changes) {
  Replay out;
  std::vector<Clock::time_point> waiting;  // changes not yet covered by a pass
  auto run_pass = [&](Clock::time_point now) {
    out.passes.push_back(now);
    for (auto change : waiting)
      out.max_lag = std::max(out.max_lag, std::chrono::duration_cast<milliseconds>(now - change));
    waiting.clear();
  };
  auto fire_timers_until = [&](Clock::time_point limit) {
    while (auto due = debouncer.deadline()) {
      if (*due > limit) break;
      BOOST_REQUIRE(debouncer.take_due(*due));
      run_pass(*due);
    }
  };
  for (auto change : changes) {
    fire_timers_until(change);
    waiting.push_back(change);
    if (debouncer.on_change(change)) run_pass(change);
  }
  fire_timers_until(Clock::time_point::max());
  out.unapplied = waiting.size();
  return out;
}

// `count` changes, `spacing_ms` apart, the first at `start_ms`.
std::vector<Clock::time_point> burst(int start_ms, int count, int spacing_ms) {
  std::vector<Clock::time_point> changes;
  for (int i = 0; i < count; ++i) changes.push_back(at(start_ms + i * spacing_ms));
  return changes;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(debounce)

BOOST_AUTO_TEST_CASE(first_change_applies_at_once) {
  Debouncer debouncer(kWindow);
  BOOST_TEST(debouncer.on_change(at(1000)));
  BOOST_TEST(!debouncer.deadline().has_value());
  BOOST_TEST(!debouncer.take_due(at(5000)));  // nothing is held
}

BOOST_AUTO_TEST_CASE(change_within_window_is_held_until_last_change_plus_window) {
  Debouncer debouncer(kWindow);
  BOOST_REQUIRE(debouncer.on_change(at(0)));

  BOOST_TEST(!debouncer.on_change(at(10)));
  BOOST_REQUIRE(debouncer.deadline().has_value());
  BOOST_TEST(since_origin(*debouncer.deadline()).count() == 60);

  // A later change in the window pushes the deadline to its own time + window.
  BOOST_TEST(!debouncer.on_change(at(30)));
  BOOST_REQUIRE(debouncer.deadline().has_value());
  BOOST_TEST(since_origin(*debouncer.deadline()).count() == 80);

  BOOST_TEST(!debouncer.take_due(at(79)));
  BOOST_TEST(debouncer.take_due(at(80)));
  BOOST_TEST(!debouncer.deadline().has_value());
  BOOST_TEST(!debouncer.take_due(at(200)));  // released once only
}

BOOST_AUTO_TEST_CASE(short_burst_gives_leading_and_one_trailing_pass) {
  Debouncer debouncer(kWindow);
  const Replay result = replay(debouncer, burst(0, 4, 10));  // t = 0, 10, 20, 30
  BOOST_TEST(in_ms(result.passes) == std::vector<int>({0, 80}), boost::test_tools::per_element());
  BOOST_TEST(result.unapplied == 0u);
}

BOOST_AUTO_TEST_CASE(non_stop_changes_are_forced_out_every_ten_windows) {
  // 100 saves 10 ms apart (t = 0 .. 990 ms) with a 50 ms window: the window never passes
  // quietly, so only the 10 x window bound releases held changes.
  Debouncer debouncer(kWindow);
  const Replay result = replay(debouncer, burst(0, 100, 10));

  // t=0 leading; t=510 forced (first held change at 10 + 500); t=1010 forced again (first
  // held change at 510 + 500, before the quiet deadline 990 + 50), and it covers the last save.
  BOOST_TEST(in_ms(result.passes) == std::vector<int>({0, 510, 1010}),
             boost::test_tools::per_element());
  BOOST_TEST(result.unapplied == 0u);
  BOOST_TEST(result.max_lag.count() <= Debouncer::kMaxLagWindows * kWindow.count());
  BOOST_TEST(result.max_lag.count() == 500);  // the first held save (t=10) waits for t=510
}

BOOST_AUTO_TEST_CASE(change_after_quiet_period_applies_at_once_again) {
  Debouncer debouncer(kWindow);
  const Replay first = replay(debouncer, burst(0, 100, 10));
  BOOST_REQUIRE(first.unapplied == 0u);

  BOOST_TEST(debouncer.on_change(at(2000)));  // long after the last save at 990
  BOOST_TEST(!debouncer.on_change(at(2049)));  // 49 ms later: inside the window
  BOOST_TEST(debouncer.take_due(at(2099)));
  BOOST_TEST(debouncer.on_change(at(2099)));  // exactly one window after the last change: quiet
}

BOOST_AUTO_TEST_CASE(zero_window_applies_every_change_at_once) {
  Debouncer debouncer(milliseconds(0));
  for (int t : {0, 0, 1, 2, 2, 3}) {
    BOOST_TEST(debouncer.on_change(at(t)), "change at " << t << " ms");
    BOOST_TEST(!debouncer.deadline().has_value());
  }
  const Replay result = replay(debouncer, burst(10, 100, 10));
  BOOST_TEST(result.passes.size() == 100u);
  BOOST_TEST(result.max_lag.count() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
