#pragma once
// Atoms and message types shared by the actors' typed interfaces. Snapshots travel as
// shared_ptr<const T>: immutable, so sharing them between actors and threads is safe.
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/served_state.hpp"

namespace aitools {

using reload_atom = caf::atom_constant<caf::atom("reload")>;        // run a reload pass
using changed_atom = caf::atom_constant<caf::atom("changed")>;      // files changed on disk
using rescan_atom = caf::atom_constant<caf::atom("rescan")>;        // periodic/overflow rescan
using publish_atom = caf::atom_constant<caf::atom("publish")>;      // a new served state
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;  // follow served states
using load_atom = caf::atom_constant<caf::atom("load")>;            // re-read the env file
using start_atom = caf::atom_constant<caf::atom("start")>;          // bind listeners
using drain_atom = caf::atom_constant<caf::atom("drain")>;          // stop taking new work
using tick_atom = caf::atom_constant<caf::atom("tick")>;            // internal timers
using respond_atom = caf::atom_constant<caf::atom("respond")>;      // a deferred response
using ready_atom = caf::atom_constant<caf::atom("ready")>;          // startup finished
using run_atom = caf::atom_constant<caf::atom("run")>;              // start a scheduled pass
using nudge_atom = caf::atom_constant<caf::atom("nudge")>;          // wake a reactor again
using call_atom = caf::atom_constant<caf::atom("call")>;            // ask a service actor
using retire_atom = caf::atom_constant<caf::atom("retire")>;        // free an old snapshot
using kind_atom = caf::atom_constant<caf::atom("kind")>;            // add a service kind
using unkind_atom = caf::atom_constant<caf::atom("unkind")>;        // remove a service kind
using history_atom = caf::atom_constant<caf::atom("history")>;      // applied states
using rollback_atom = caf::atom_constant<caf::atom("rollback")>;    // re-apply an old state
using validate_atom = caf::atom_constant<caf::atom("validate")>;    // dry-run manifests
using wait_atom = caf::atom_constant<caf::atom("wait")>;            // until a generation
using answer_atom = caf::atom_constant<caf::atom("answer")>;        // answer by reply
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;          // an upstream request
using remote_atom = caf::atom_constant<caf::atom("remote")>;        // a config source's update

// Every actor that follows the served state implements this. The registry waits for each
// subscriber's answer (the generation it now holds) before it reports a pass as applied,
// which is what makes POST /admin/reload read-your-writes.
using state_subscriber =
    caf::typed_actor<caf::replies_to<publish_atom, ServedStatePtr>::with<uint64_t>>;

}  // namespace aitools

// Local-only message types (they hold pointers; never serialized).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::Trigger)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::ChangedFile)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::ServedStatePtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::ReloadReportPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::ConfigLoadPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::RemoteUpdatePtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::config::ConfigSnapshotPtr)
