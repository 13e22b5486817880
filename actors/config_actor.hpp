#pragma once
// The config actor owns the current immutable config snapshot and re-reads the env file
// when the registry asks (one load per reload pass). A config source actor (Polaris, etcd:
// actors/config_source.hpp) hands it the remote key/value set and manifests, which every load
// merges: flags > process environment > remote > env file. An invalid file or remote value
// never replaces the last good snapshot; restart-only keys keep their running values and are
// reported.
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"

namespace aitools {

using config_actor = caf::typed_actor<
    // Re-read and validate the env file; answers the config to apply.
    caf::replies_to<load_atom>::with<ConfigLoadPtr>,
    // The snapshot in force.
    caf::replies_to<caf::get_atom>::with<config::ConfigSnapshotPtr>,
    // From the config source: a new remote set (or null: unchanged) and the source's status.
    // Answers whether either differs from what the actor holds, i.e. whether the sender
    // should ask the registry for a pass (Trigger::remote).
    caf::replies_to<remote_atom, RemoteUpdatePtr>::with<bool>>;

// `initial` is the validated startup snapshot; its restart-only keys stay fixed.
config_actor spawn_config_actor(caf::actor_system& system, config::ConfigSnapshotPtr initial);

}  // namespace aitools
