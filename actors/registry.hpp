#pragma once
// The registry actor owns the route table and is the single place where reloads are applied,
// one pass at a time. Every reload request - file change, rescan, SIGHUP, admin API, a CAF
// message - arrives here; requests that arrive while a pass runs are coalesced into one more
// pass afterwards, never dropped.
#include <string>

#include <caf/fwd.hpp>

#include "actors/config_actor.hpp"
#include "actors/messages.hpp"
#include "services/catalog.hpp"

namespace aitools {

using registry_actor = caf::typed_actor<
    // Re-read the config and every manifest; answers once the pass is served.
    caf::replies_to<reload_atom, Trigger>::with<ReloadReportPtr>,
    // A file changed (from the watcher): debounced, see actors/debouncer.hpp.
    caf::reacts_to<changed_atom, ChangedFile>,
    // Periodic or overflow rescan: a pass that only counts if content differs.
    caf::reacts_to<rescan_atom>,
    // The state currently served.
    caf::replies_to<caf::get_atom>::with<ServedStatePtr>,
    // Follow every served state; answers the current one.
    caf::replies_to<subscribe_atom, state_subscriber>::with<ServedStatePtr>,
    // Internal: debounce timer and scheduled passes.
    caf::reacts_to<tick_atom>, caf::reacts_to<run_atom>>;

// The registry compiles manifests with its own copy of `catalog`.
registry_actor spawn_registry(caf::actor_system& system, config_actor config,
                              std::string services_dir, services::Catalog catalog);

}  // namespace aitools
