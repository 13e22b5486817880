#pragma once
// The registry actor owns the route table and is the single place where reloads are applied,
// one pass at a time. Every reload request - file change, rescan, SIGHUP, admin API, a CAF
// message - arrives here; requests that arrive while a pass runs are coalesced into one more
// pass afterwards, never dropped.
#include <string>

#include <caf/fwd.hpp>

#include "actors/config_actor.hpp"
#include "actors/history.hpp"
#include "actors/messages.hpp"
#include "actors/service_actor.hpp"
#include "actors/service_caller.hpp"
#include "http/metrics.hpp"
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
    // Serve routes of kind `name` with an embedder's actor (replacing an earlier one of that
    // name; built-in kinds cannot be replaced). Answers once the pass applying it is served
    // (at once before the first load, which then includes it).
    // The registry monitors the actor: when it terminates, its kind is removed.
    caf::replies_to<kind_atom, std::string, service_actor>::with<ReloadReportPtr>,
    // Remove an embedder's kind: the routes that use it stop serving (their files are
    // quarantined) until it is registered again.
    caf::replies_to<unkind_atom, std::string>::with<ReloadReportPtr>,
    // The applied states kept (HISTORY_SIZE), newest first.
    caf::replies_to<history_atom>::with<HistoryViewPtr>,
    // Re-apply the state of generation `to` (0: the one before the newest) as a new
    // generation; it holds until the next file change or reload. Answers once served.
    caf::replies_to<rollback_atom, uint64_t>::with<ReloadReportPtr>,
    // A pass over the given manifests that applies nothing, against what is served.
    caf::replies_to<validate_atom, ValidationRequestPtr>::with<ValidationResultPtr>,
    // Answers the served state once its generation is at least `generation`, or
    // sec::request_timeout after `timeout_ms`.
    caf::replies_to<wait_atom, uint64_t, uint32_t>::with<ServedStatePtr>,
    // Internal: debounce timer and scheduled passes.
    caf::reacts_to<tick_atom>, caf::reacts_to<run_atom>,
    // Internal: a wait's deadline.
    caf::reacts_to<wait_atom, uint64_t>>;

// The registry compiles manifests with its own copy of `catalog`; kinds registered by message
// call their actors through `caller`. Every pass is recorded in `metrics`.
registry_actor spawn_registry(caf::actor_system& system, config_actor config,
                              std::string services_dir, services::Catalog catalog,
                              ServiceCaller caller, std::shared_ptr<http::Metrics> metrics);

}  // namespace aitools

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::HistoryViewPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::ValidationRequestPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::ValidationResultPtr)
