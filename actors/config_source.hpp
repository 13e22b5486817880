#pragma once
// A config source actor follows a store beyond the env file - a Polaris config centre
// (actors/polaris_source.cpp, polled) or an etcd cluster (actors/etcd_source.cpp, watched) -
// and keeps the config actor's remote set current:
//   source --(remote_atom, RemoteUpdate)--> config actor --(true: it differs)-->
//   source --(reload_atom, Trigger::remote)--> registry (one pass, like any other reload).
// All network I/O goes through its own upstream actor (actors/upstream.hpp), so no CAF
// worker or HTTP thread ever waits on the store. docs/cluster.md describes both sources.
#include <string>

#include <caf/fwd.hpp>

#include "actors/config_actor.hpp"
#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "actors/upstream.hpp"

namespace aitools {

using config_source_actor = caf::typed_actor<
    // The first fetch, bounded by CONFIG_SOURCE_TIMEOUT_MS, before the server's first load.
    // Answers true once the remote set is with the config actor, false when the source could
    // not be read: the server then starts on the env file and the source keeps retrying with
    // backoff (the status says so).
    caf::replies_to<start_atom>::with<bool>,
    // The node serves as `node` (NODE_ID, or <hostname>:<port> once bound) at `address`
    // (host:port of its HTTP listener); the etcd source starts writing its acknowledgements.
    // The Polaris source ignores it.
    caf::reacts_to<ready_atom, std::string, std::string>,
    // Shutdown: stop following; the etcd source revokes its lease so the node's ack disappears
    // at once. Answers when done (bounded by CONFIG_SOURCE_TIMEOUT_MS).
    caf::replies_to<drain_atom>::with<bool>>;

struct SourceContext {
  config::ConfigSnapshotPtr config;  // the startup config: the source's own settings
  config_actor config_owner;
  registry_actor registry;
  upstream_actor upstream;  // the source's own; Server stops it after the source
};

config_source_actor spawn_polaris_source(caf::actor_system& system, const SourceContext& context);
config_source_actor spawn_etcd_source(caf::actor_system& system, const SourceContext& context);

}  // namespace aitools
