#pragma once
// aitools-ctl's command line: the global options, the command and its own arguments.
#include <chrono>
#include <cstdint>
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

// Defaults taken from the environment (AITOOLS_ADMIN, AITOOLS_ADMIN_TOKEN, AITOOLS_ETCD,
// AITOOLS_ETCD_PREFIX).
struct Environment {
  std::optional<std::string> admin;
  std::optional<std::string> token;
  std::optional<std::string> etcd = std::nullopt;
  std::optional<std::string> etcd_prefix = std::nullopt;
};

struct Invocation {
  std::string admin = "http://127.0.0.1:18669";
  std::string node;  // HOST:PORT of the server's CAF admin actor; "" = over HTTP (admin)
  std::string token;
  // The etcd commands (is_etcd_command): comma-separated client URLs, the cluster's prefix.
  std::string etcd = "http://127.0.0.1:2379";
  std::string etcd_prefix = "/aitools/default";
  bool json = false;
  std::chrono::milliseconds timeout{10000};
  bool help = false;
  std::string command;
  std::vector<std::string> args;  // the command's own arguments, flags included
};

// cluster, put-service, delete-service, set-config, unset-config: they talk to etcd, not to
// a server's admin API.
bool is_etcd_command(const std::string& command);

// `args` without the program name. --admin, --token, --etcd, --prefix and --json may come
// before or after the command; --timeout after `wait`, `cluster wait` or a command given
// --wait is the wait's own (left in `args`). False with `error` for an unknown option, a
// missing value, --etcd/--prefix with a command that does not use etcd, or no/unknown
// command (unless --help).
bool parse_command_line(const std::vector<std::string>& args, const Environment& environment,
                        Invocation& invocation, std::string& error);

// Seconds as "10" or "0.5", in [0, max_seconds], to milliseconds; nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_seconds(const std::string& text, double max_seconds);
// The other way: "10 s", "0.5 s".
std::string seconds_text(std::chrono::milliseconds ms);
// A duration for people: "42s", "3m 4s", "2h 5m 0s", "1d 2h 3m".
std::string duration_text(uint64_t seconds);

}  // namespace aitools::ctl
