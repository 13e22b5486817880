#pragma once
// The message interface of an actor that serves routes (a kind registered with
// services::make_actor_kind): it receives an immutable copy of each request and replies with
// the response. It may reply later (a response promise) and runs on CAF's workers, never on
// an HTTP thread.
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "http/request.hpp"
#include "http/request_value.hpp"

namespace aitools {

using service_actor =
    caf::typed_actor<caf::replies_to<http::RequestValuePtr>::with<http::Response>>;

}  // namespace aitools

// Local-only message types (never serialized).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::RequestValuePtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::Response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::CompletionPtr)
