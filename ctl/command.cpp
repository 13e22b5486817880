#include "ctl/command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ctl/transport.hpp"

namespace aitools::ctl {

CommandArgs command_args(const Invocation& invocation, const std::set<std::string>& value_flags,
                         const std::set<std::string>& switch_flags, bool takes_operands) {
  const std::string& command = invocation.command;
  const auto& args = invocation.args;
  CommandArgs parsed;
  bool flags_end = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!flags_end && arg == "--") {
      flags_end = true;
      continue;
    }
    if (flags_end || arg.size() < 2 || arg[0] != '-') {
      if (!takes_operands) throw UsageError(command + " takes no argument \"" + arg + "\"");
      parsed.paths.push_back(arg);
      continue;
    }
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    if (switch_flags.count(arg)) {
      if (value) throw UsageError(arg + " takes no value");
      parsed.switches.insert(arg);
      continue;
    }
    if (!value_flags.count(arg)) throw UsageError("unknown option \"" + arg + "\" for " + command);
    if (!value) {
      if (i + 1 >= args.size()) throw UsageError("option " + arg + " needs a value");
      value = args[++i];
    }
    parsed.values[arg] = *value;
  }
  return parsed;
}

std::optional<uint64_t> number_arg(const CommandArgs& parsed, const std::string& flag,
                                   uint64_t min, uint64_t max, const std::string& what) {
  const auto found = parsed.values.find(flag);
  if (found == parsed.values.end()) return std::nullopt;
  const std::string& value = found->second;
  const bool number =
      !value.empty() && value.size() <= 18 &&
      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!number || std::stoull(value) < min || std::stoull(value) > max)
    throw UsageError(flag + ": expected " + what + ", got \"" + value + "\"");
  return std::stoull(value);
}

std::chrono::milliseconds wait_timeout_arg(const CommandArgs& parsed,
                                           std::chrono::milliseconds fallback) {
  const auto given = parsed.values.find("--timeout");
  if (given == parsed.values.end()) return fallback;
  const auto seconds = parse_seconds(given->second, 600);
  if (!seconds)
    throw UsageError("--timeout: expected seconds from 0 to 600, got \"" + given->second + "\"");
  return *seconds;
}

std::string read_text_file(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (!in || !(content << in.rdbuf()))
    throw Failure("cannot read " + path + ": " + std::strerror(errno ? errno : EIO));
  return content.str();
}

int run_guarded(std::ostream& err, const std::function<int()>& command) {
  try {
    return command();
  } catch (const UsageError& e) {
    err << "aitools-ctl: " << e.what() << "\n\n" << kUsage;
    return kFailed;
  } catch (const Failure& e) {
    err << "aitools-ctl: " << e.what() << "\n";
    return kFailed;
  } catch (const Unreachable& e) {
    err << "aitools-ctl: " << e.what() << "\n";
    return kUnreachable;
  }
}

}  // namespace aitools::ctl
