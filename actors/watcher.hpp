#pragma once
// The watcher actor owns file watching. It watches the services directory and the env
// file's directory (directories, not files: atomic renames, vim-style saves, create,
// delete and rename are all seen) and turns relevant events into reload requests to the
// registry, which debounces them. Queue overflow and a lost watch become a rescan; a
// periodic rescan (RESCAN_INTERVAL_S) catches anything missed. HOT_RELOAD_ENABLE=false
// stops both; it follows the served config, so both settings apply live.
#include <string>

#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "actors/registry.hpp"

namespace aitools {

using watcher_actor = state_subscriber::extend<
    // Internal: periodic rescan timer of a given arming.
    caf::reacts_to<tick_atom, uint64_t>>;

watcher_actor spawn_watcher(caf::actor_system& system, registry_actor registry,
                            ServedStatePtr initial);

}  // namespace aitools
