#include "actors/watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include <caf/all.hpp>

#include "config/manifest.hpp"
#include "util/log.hpp"

namespace aitools {

namespace {

namespace fs = std::filesystem;

// inotify on the two directories, read by a dedicated thread that blocks in poll() (so an
// event reaches the registry at once) and is woken through an eventfd to stop.
class DirectoryWatch {
 public:
  DirectoryWatch(registry_actor registry, std::string services_dir, std::string config_path)
      : registry_(std::move(registry)),
        services_dir_(std::move(services_dir)),
        config_dir_(fs::path(config_path).parent_path().string()),
        config_name_(fs::path(config_path).filename().string()) {
    if (config_dir_.empty()) config_dir_ = ".";
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inotify_fd_ < 0 || wake_fd_ < 0) {
      log::error("watch_failed", {{"error", std::strerror(errno)}});
      return;
    }
    add_watches();
    thread_ = std::thread([this] { run(); });
  }

  ~DirectoryWatch() {
    if (thread_.joinable()) {
      const uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
      thread_.join();
    }
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  DirectoryWatch(const DirectoryWatch&) = delete;
  DirectoryWatch& operator=(const DirectoryWatch&) = delete;

 private:
  static constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

  // Returns true if every directory is watched.
  bool add_watches() {
    services_wd_ = add_watch(services_dir_, services_wd_);
    config_wd_ = add_watch(config_dir_, config_wd_);
    return services_wd_ >= 0 && config_wd_ >= 0;
  }

  int add_watch(const std::string& dir, int current) {
    if (current >= 0) return current;
    const int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
    if (wd < 0) log::warn("watch_failed", {{"dir", dir}, {"error", std::strerror(errno)}});
    else log::debug("watching", {{"dir", dir}});
    return wd;
  }

  // What the registry needs to hear after a batch of events.
  struct News {
    bool manifest = false;
    bool env_file = false;
    bool rescan = false;
  };

  void note(const inotify_event& event, News& news) const {
    if (event.len == 0) return;
    const std::string_view name(event.name);
    if (event.wd == services_wd_ && !config::is_ignored_manifest_name(name)) news.manifest = true;
    if (event.wd == config_wd_ && name == config_name_) news.env_file = true;
  }

  // Reads every queued event.
  News drain_events() {
    alignas(inotify_event) char buffer[16 * 1024];
    News news;
    for (;;) {
      const ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
      if (n <= 0) break;
      for (char* p = buffer; p < buffer + n;) {
        const auto& event = *reinterpret_cast<const inotify_event*>(p);
        p += sizeof(inotify_event) + event.len;
        if (event.mask & IN_Q_OVERFLOW) {
          news.rescan = true;
        } else if (event.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
          // A watched directory went away: forget it and retry until it is back.
          if (event.wd == services_wd_) services_wd_ = -1;
          if (event.wd == config_wd_) config_wd_ = -1;
          news.rescan = true;
        } else {
          note(event, news);
        }
      }
    }
    return news;
  }

  void run() {
    for (;;) {
      pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      const bool complete = services_wd_ >= 0 && config_wd_ >= 0;
      const int ready = ::poll(fds, 2, complete ? -1 : 1000);
      if (ready < 0 && errno != EINTR) {
        log::error("watch_failed", {{"error", std::strerror(errno)}});
        return;
      }
      if (fds[1].revents & POLLIN) return;
      News news = fds[0].revents & POLLIN ? drain_events() : News{};
      if (!complete && add_watches()) news.rescan = true;  // a directory is back
      if (news.rescan) {
        caf::anon_send(registry_, rescan_atom::value);  // re-reads everything
      } else if (news.env_file) {
        caf::anon_send(registry_, changed_atom::value, ChangedFile::env_file);
      } else if (news.manifest) {
        caf::anon_send(registry_, changed_atom::value, ChangedFile::manifest);
      }
    }
  }

  registry_actor registry_;
  std::string services_dir_;
  std::string config_dir_;
  std::string config_name_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  int services_wd_ = -1;
  int config_wd_ = -1;
  std::thread thread_;
};

struct WatcherState {
  registry_actor registry;
  std::unique_ptr<DirectoryWatch> watch;  // present while HOT_RELOAD_ENABLE is true
  std::chrono::seconds rescan_interval{0};
  uint64_t rescan_arming = 0;  // bumped whenever the timer is re-armed or cancelled
  static inline const char* name = "aitools.watcher";
};

using watcher_pointer = watcher_actor::stateful_pointer<WatcherState>;

void arm_rescan(watcher_pointer self) {
  auto& st = self->state;
  ++st.rescan_arming;
  if (st.watch && st.rescan_interval.count() > 0)
    self->delayed_send(self, st.rescan_interval, tick_atom::value, st.rescan_arming);
}

void follow(watcher_pointer self, const ServedState& state) {
  auto& st = self->state;
  const auto& settings = state.config->settings;
  const bool was_enabled = st.watch != nullptr;
  if (settings.hot_reload_enable && !st.watch) {
    st.watch = std::make_unique<DirectoryWatch>(st.registry, state.services_dir, state.config->path);
  } else if (!settings.hot_reload_enable && st.watch) {
    st.watch.reset();
  }
  if (was_enabled != settings.hot_reload_enable)
    log::info("hot_reload", {{"enabled", settings.hot_reload_enable ? "true" : "false"}});
  if (was_enabled != settings.hot_reload_enable || st.rescan_interval != settings.rescan_interval) {
    st.rescan_interval = settings.rescan_interval;
    arm_rescan(self);
  }
}

watcher_actor::behavior_type watcher_behavior(watcher_pointer self, registry_actor registry,
                                              ServedStatePtr initial) {
  self->state.registry = registry;
  follow(self, *initial);
  self->request(registry, caf::infinite, subscribe_atom::value,
                caf::actor_cast<state_subscriber>(self))
      .then([=](ServedStatePtr state) {
        if (state) follow(self, *state);
      });
  return {
      [=](publish_atom, const ServedStatePtr& state) {
        follow(self, *state);
        return state->generation;
      },
      [=](tick_atom, uint64_t arming) {
        if (arming != self->state.rescan_arming) return;  // superseded timer
        self->send(self->state.registry, rescan_atom::value);
        arm_rescan(self);
      },
  };
}

}  // namespace

watcher_actor spawn_watcher(caf::actor_system& system, registry_actor registry,
                            ServedStatePtr initial) {
  return system.spawn(watcher_behavior, std::move(registry), std::move(initial));
}

}  // namespace aitools
