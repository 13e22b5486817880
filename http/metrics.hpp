#pragma once
// Prometheus metrics, rendered in the text exposition format 0.0.4 (docs/metrics.md).
//
// The request side is updated on the HTTP reactor threads (and, for deferred responses, on
// the thread that completes them) with relaxed atomics only: no lock, no allocation. Per-route
// counters live in the route table's entries, so their cardinality is bounded by the routes
// (RouteTable::build carries them across reloads); everything else lives in Metrics.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "http/method.hpp"

namespace aitools {
struct ReloadReport;
struct ServedState;
}  // namespace aitools

namespace aitools::http {

// Requests answered by status class (1xx..5xx), for one method of one route or for the
// requests no route served.
class StatusCounters {
 public:
  static constexpr size_t kClasses = 5;

  void count(int status) noexcept {
    // Statuses outside 100-599 (a handler's bug) count in the nearest class.
    const int index = status < 200 ? 0 : status >= 500 ? 4 : status / 100 - 1;
    by_class_[static_cast<size_t>(index)].fetch_add(1, std::memory_order_relaxed);
  }
  // `index` 0 is 1xx, 4 is 5xx.
  uint64_t value(size_t index) const noexcept {
    return by_class_[index].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, kClasses> by_class_{};
};

// A histogram of durations with fixed bucket bounds. observe() is lock-free; a reader sees each
// bucket at some moment, so `_sum` may be ahead of or behind the buckets by the observations
// in progress, while `_count` (the sum of the buckets) always equals the `+Inf` bucket.
class Histogram {
 public:
  static constexpr size_t kMaxBounds = 16;

  // Bucket upper bounds in seconds, ascending, at most kMaxBounds; `+Inf` is implied.
  explicit Histogram(std::initializer_list<double> bounds);

  void observe(std::chrono::nanoseconds elapsed) noexcept {
    const int64_t ns = elapsed.count() > 0 ? elapsed.count() : 0;
    size_t bucket = 0;
    while (bucket < size_ && ns > bounds_ns_[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
  }

  size_t bounds() const { return size_; }
  double bound(size_t index) const { return bounds_[index]; }
  // Observations in bucket `index` alone (not cumulative); index bounds() is `+Inf`.
  uint64_t in_bucket(size_t index) const { return buckets_[index].load(std::memory_order_relaxed); }
  double sum_seconds() const { return double(sum_ns_.load(std::memory_order_relaxed)) / 1e9; }

 private:
  std::array<double, kMaxBounds> bounds_{};
  std::array<int64_t, kMaxBounds> bounds_ns_{};
  size_t size_ = 0;
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// The server's metrics: created once by Server::start and shared by the HTTP front (request
// side), the registry (record_reload) and the admin actor (render, for GET /metrics).
class Metrics {
 public:
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // ---- request side: any thread, lock-free ----

  // Requests fully received whose response is not yet handed to Pistache: the in-flight
  // gauge, and what the front's drain waits for at shutdown.
  std::atomic<int64_t>& in_flight() noexcept { return in_flight_; }
  // Counters of requests no route served (404 and 405 from the router, 501, and the front's
  // own 400/413/503), by request method; no method (TRACE, CONNECT) counts as "OTHER".
  StatusCounters& unmatched(std::optional<Method> method) noexcept {
    return unmatched_[method ? static_cast<size_t>(*method) : size_t{kMethodCount}];
  }
  // From the start of the front's handler to the response being handed to Pistache.
  void observe_request(std::chrono::steady_clock::duration elapsed) noexcept {
    request_duration_.observe(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));
  }

  // ---- the registry actor only, once per finished pass ----
  void record_reload(const ReloadReport& report);

  // ---- any thread ----
  // The exposition: the counters above, the per-route counters of `state.routes`, and the
  // gauges `state` describes (generation, routes, services by state).
  std::string render(const ServedState& state) const;

 private:
  static constexpr size_t kTriggers = 8;  // every value of aitools::Trigger
  static constexpr size_t kResults = 3;   // changed, unchanged, failed
  static constexpr size_t kPhases = 4;    // parse, validate, build, swap

  std::atomic<int64_t> in_flight_{0};
  std::array<StatusCounters, kMethodCount + 1> unmatched_{};
  Histogram request_duration_;

  std::array<std::atomic<uint64_t>, kTriggers * kResults> reloads_{};
  std::array<Histogram, kPhases> phase_durations_;
  std::atomic<uint64_t> config_errors_{0};
  std::atomic<int64_t> last_success_ns_{0};  // unix time, 0 until a pass succeeded
  double start_time_s_;                      // unix time
};

}  // namespace aitools::http
