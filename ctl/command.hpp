#pragma once
// What every aitools-ctl command shares: its own arguments, the errors that end it and the
// exit status they map to (cli.hpp).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctl/cli.hpp"

namespace aitools::ctl {

// The command line asks for something impossible: the message, then the usage (exit 1).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The command failed for a reason the message gives (exit 1).
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CommandArgs {
  std::map<std::string, std::string> values;  // --flag VALUE or --flag=VALUE
  std::set<std::string> switches;             // --flag
  std::vector<std::string> paths;             // the rest, in order ("--" ends the flags)
};

// invocation.args split by the flags the command knows; UsageError for any other flag, a
// flag without its value, or an operand when `takes_operands` is false.
CommandArgs command_args(const Invocation& invocation, const std::set<std::string>& value_flags,
                         const std::set<std::string>& switch_flags = {},
                         bool takes_operands = false);

// `flag`'s value as a whole number in [min, max] ("--nodes: expected ... got ..." otherwise);
// nullopt when the flag is absent. `what` names the expected value: "a generation number".
std::optional<uint64_t> number_arg(const CommandArgs& parsed, const std::string& flag,
                                   uint64_t min, uint64_t max, const std::string& what);
// --timeout S of a wait, at most 600 s; `fallback` when absent.
std::chrono::milliseconds wait_timeout_arg(const CommandArgs& parsed,
                                           std::chrono::milliseconds fallback);

// A whole file; Failure naming the path and the reason when it cannot be read.
std::string read_text_file(const std::string& path);

// Runs `command` and maps what it throws to the exit status: UsageError (message and usage)
// and Failure -> 1, Unreachable (transport.hpp) -> 2, each as one "aitools-ctl: " line on
// `err`.
int run_guarded(std::ostream& err, const std::function<int()>& command);

}  // namespace aitools::ctl
