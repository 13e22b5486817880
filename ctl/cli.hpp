#pragma once
// aitools-ctl's command line: the global options, the command and its own arguments.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace aitools::ctl {

// What scripts rely on (aitools-ctl --help, docs/ctl.md).
enum Exit : int {
  kOk = 0,
  kFailed = 1,       // an error answer, an invalid manifest, a wait that timed out, bad usage
  kUnreachable = 2,  // refused, unknown host, timed out, not an HTTP answer
};

extern const char* const kUsage;

// Defaults taken from the environment (AITOOLS_ADMIN, AITOOLS_ADMIN_TOKEN).
struct Environment {
  std::optional<std::string> admin;
  std::optional<std::string> token;
};

struct Invocation {
  std::string admin = "http://127.0.0.1:18669";
  std::string node;  // HOST:PORT of the server's CAF admin actor; "" = over HTTP (admin)
  std::string token;
  bool json = false;
  std::chrono::milliseconds timeout{10000};
  bool help = false;
  std::string command;
  std::vector<std::string> args;  // the command's own arguments, flags included
};

// `args` without the program name. --admin, --token and --json may come before or after
// the command; --timeout after `wait` is the wait's own (left in `args`). False with `error`
// for an unknown option, a missing value, or no/unknown command (unless --help).
bool parse_command_line(const std::vector<std::string>& args, const Environment& environment,
                        Invocation& invocation, std::string& error);

// Seconds as "10" or "0.5", in [0, max_seconds], to milliseconds; nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_seconds(const std::string& text, double max_seconds);
// The other way: "10 s", "0.5 s".
std::string seconds_text(std::chrono::milliseconds ms);

}  // namespace aitools::ctl
