#pragma once
// The `proxy` kind: forwards each request to an upstream URL (http or https) through the
// upstream actor (actors/upstream.hpp) and relays the answer. Upstream failures answer the
// AITools envelope (http/envelope.hpp) with 45100/45101/45102 and 502/504. No HTTP thread or
// CAF worker waits for the upstream. Options: docs/manifests.md.
//
// The options (the URL and credentials with their ${KEY}s rendered) are compiled into the
// route's handler, so a changed key recompiles the route: the next request uses the new
// value, requests in flight finish with the old one.
#include <memory>

#include "actors/upstream.hpp"
#include "services/service_kind.hpp"

namespace aitools::services {

std::shared_ptr<const ServiceKind> make_proxy_kind(upstream_actor upstream);

}  // namespace aitools::services
