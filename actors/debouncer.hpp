#pragma once
// Leading edge + trailing window coalescing of file changes (docs/architecture.md):
// a change after a quiet period (no change for `window`) applies at once; changes that
// follow are held until `window` passes without a change, then applied in one trailing
// pass; under non-stop changes the trailing pass is due at most 10 x window after the
// first held change, so the served state never lags the disk by more than that.
// Pure logic with injected time, so tests need no clock.
#include <algorithm>
#include <chrono>
#include <optional>

namespace aitools {

class Debouncer {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr int kMaxLagWindows = 10;

  explicit Debouncer(std::chrono::milliseconds window) : window_(window) {}
  void set_window(std::chrono::milliseconds window) { window_ = window; }

  // A change was seen at `now`. True: apply it at once. False: it is held until deadline().
  bool on_change(clock::time_point now) {
    const bool quiet = !last_change_ || now - *last_change_ >= window_;
    last_change_ = now;
    if (quiet && !first_held_) return true;
    if (!first_held_) first_held_ = now;
    return false;
  }

  // When the held changes are due, if any are held.
  std::optional<clock::time_point> deadline() const {
    if (!first_held_) return std::nullopt;
    return std::min(*last_change_ + window_, *first_held_ + kMaxLagWindows * window_);
  }

  // True if held changes are due at `now`; they are then released to the caller's pass.
  bool take_due(clock::time_point now) {
    const auto due = deadline();
    if (!due || now < *due) return false;
    first_held_.reset();
    return true;
  }

 private:
  std::chrono::milliseconds window_;
  std::optional<clock::time_point> last_change_;
  std::optional<clock::time_point> first_held_;
};

}  // namespace aitools
