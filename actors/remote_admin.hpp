#pragma once
// The admin API over CAF, for another CAF node: aitools-ctl --node, or a user's own program.
// The server publishes this actor on CAF_ADMIN_HOST:CAF_ADMIN_PORT (docs/operations.md); a
// client connects with
//
//   caf::actor_system_config cfg;
//   cfg.load<caf::io::middleman>();
//   aitools::add_remote_admin_types(cfg);
//   caf::actor_system system{cfg};
//   auto admin = system.middleman().remote_actor<aitools::remote_admin_actor>("127.0.0.1", port);
//
// and sends the messages below. Every message carries the admin token ("" when ADMIN_TOKEN is
// unset) and is answered with what the HTTP admin API answers to the same request: its status
// and JSON body (docs/admin-api.md), so one client can speak both.
#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/admin.hpp"
#include "actors/messages.hpp"

namespace aitools {

// What the admin HTTP API answers to the same request.
struct AdminAnswer {
  uint16_t status = 0;
  std::string body;  // JSON
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AdminAnswer& x) {
  return f(caf::meta::type_name("aitools.AdminAnswer"), x.status, x.body);
}

// A manifest given by content, for validate.
struct ManifestText {
  std::string name;  // file name, e.g. "greeter.json"
  std::string content;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ManifestText& x) {
  return f(caf::meta::type_name("aitools.ManifestText"), x.name, x.content);
}

using status_atom = caf::atom_constant<caf::atom("status")>;
using routes_atom = caf::atom_constant<caf::atom("routes")>;
using config_atom = caf::atom_constant<caf::atom("config")>;

using remote_admin_actor = caf::typed_actor<
    // GET /admin/status
    caf::replies_to<status_atom, std::string>::with<AdminAnswer>,
    // GET /admin/status?wait_for=GENERATION&timeout_ms=TIMEOUT_MS
    caf::replies_to<wait_atom, std::string, uint64_t, uint32_t>::with<AdminAnswer>,
    // GET /admin/routes, GET /admin/config, GET /admin/history
    caf::replies_to<routes_atom, std::string>::with<AdminAnswer>,
    caf::replies_to<config_atom, std::string>::with<AdminAnswer>,
    caf::replies_to<history_atom, std::string>::with<AdminAnswer>,
    // POST /admin/reload
    caf::replies_to<reload_atom, std::string>::with<AdminAnswer>,
    // POST /admin/rollback?to=TO (0: the state before the live one)
    caf::replies_to<rollback_atom, std::string, uint64_t>::with<AdminAnswer>,
    // POST /admin/validate with files by content, paths on the server, and `replace`
    caf::replies_to<validate_atom, std::string, std::vector<ManifestText>, std::vector<std::string>,
                    bool>::with<AdminAnswer>>;

// Announces the message types above; call it on every side's config before the system starts.
void add_remote_admin_types(caf::actor_system_config& config);

// Answers through `admin` (the same checks, token included, as the HTTP listener).
remote_admin_actor spawn_remote_admin(caf::actor_system& system, admin_actor admin);

}  // namespace aitools
