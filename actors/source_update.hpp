#pragma once
// What both config source actors (actors/polaris_source.cpp, actors/etcd_source.cpp) do with a
// new remote set or status. Include after <caf/all.hpp>: only those two files use it.
#include <string>
#include <utility>

#include "actors/config_source.hpp"
#include "util/log.hpp"

namespace aitools {

// Hands `update` to the config actor. `answered(differs)` gets its answer (false when the
// config actor could not be asked, which is logged); when it returns true the registry is
// asked for a pass (Trigger::remote), without waiting for it.
template <class Self, class Answered>
void hand_over(Self* self, const SourceContext& context, RemoteUpdatePtr update,
               const std::string& source, Answered answered) {
  self->request(context.config_owner, caf::infinite, remote_atom::value, std::move(update))
      .then(
          [=](bool differs) {
            if (!answered(differs)) return;
            self->request(context.registry, caf::infinite, reload_atom::value, Trigger::remote)
                .then([](const ReloadReportPtr&) {},
                      [=](caf::error& error) {
                        log::warn("config_source_reload_failed",
                                  {{"source", source}, {"error", self->system().render(error)}});
                      });
          },
          [=](caf::error& error) {
            log::error("config_source_update_failed",
                       {{"source", source}, {"error", self->system().render(error)}});
            answered(false);
          });
}

}  // namespace aitools
