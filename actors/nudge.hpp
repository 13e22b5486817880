#pragma once
// Actors that answer HTTP requests from their own thread re-wake Pistache's reactor until each
// response is written: see http::PendingWrite for the Pistache race this works around.
#include <cstdint>

#include <caf/allowed_unsafe_message_type.hpp>

#include "actors/messages.hpp"
#include "http/pistache_adapter.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::PendingWritePtr)

namespace aitools {

// The message an actor handles with on_nudge().
using nudge_handler = caf::reacts_to<nudge_atom, http::PendingWritePtr, uint32_t>;

template <class Self>
void nudge_until_written(Self* self, http::PendingWritePtr write, uint32_t after_ms = 1) {
  if (write && !write->settled)
    self->delayed_send(self, std::chrono::milliseconds(after_ms), nudge_atom::value,
                       std::move(write), after_ms);
}

template <class Self>
void on_nudge(Self* self, const http::PendingWritePtr& write, uint32_t after_ms) {
  if (http::nudge(*write)) nudge_until_written(self, write, after_ms * 2);
}

}  // namespace aitools
