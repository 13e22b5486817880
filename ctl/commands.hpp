#pragma once
// The aitools-ctl commands: each one sends its admin request(s) through a Transport and
// prints the answer as text tables, or unchanged with --json.
#include <ostream>

#include "ctl/cli.hpp"
#include "ctl/transport.hpp"

namespace aitools::ctl {

// Runs invocation.command; returns the exit status (cli.hpp). Output goes to `out`, errors
// to `err` (one line each, prefixed "aitools-ctl: ").
int run_command(const Invocation& invocation, Transport& transport, std::ostream& out,
                std::ostream& err);

}  // namespace aitools::ctl
