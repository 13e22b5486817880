#include "ctl/cli.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace aitools::ctl {

const char* const kUsage = R"(Usage: aitools-ctl [OPTIONS] COMMAND [ARGS]

Controls a running aitools-server through its admin API, and a cluster of them through
etcd (docs/ctl.md).

Commands (admin API):
  status                 generation, last reload, config error, services and their state
  routes                 the served routes: METHOD PATH SERVICE KIND
  config                 the settings in force (secrets redacted)
  reload                 rescan the services directory and the env file now
  validate [--server-paths] PATH...
                         check manifests without applying them: one line per file
  diff [--server-paths] PATH...
                         what serving PATH... would change: routes added, removed and
                         changed, conflicts, overlaps
  history                the recent generations and what each one changed
  rollback [--to N]      serve generation N again [the one before the live one]
  wait --generation N [--timeout S]
                         wait until generation N or a later one is served [30 s]

Commands (cluster, through etcd):
  cluster status         the live nodes: generation, applied revision, LAG, quarantined
                         services, config error, age of the ack; the cluster's revision
  cluster wait [--revision R] [--nodes N] [--timeout S]
                         wait until every live node (and at least N) has applied revision R
                         [the current one; 30 s]
  put-service FILE [--name NAME.json] [--wait [--timeout S]]
                         validate the manifest here as a node would, then store it as
                         <prefix>/services/NAME.json [the file's name]; prints the revision
  delete-service NAME [--wait [--timeout S]]
                         delete <prefix>/services/NAME[.json]
  set-config [--force] KEY=VALUE... [--wait [--timeout S]]
                         validate and store <prefix>/config/KEY (one transaction);
                         a restart-only key needs --force
  unset-config KEY... [--wait [--timeout S]]
                         delete <prefix>/config/KEY (one transaction)

Options (before or after the command):
  --admin URL            admin listener, http://HOST[:PORT]
                         [AITOOLS_ADMIN, else http://127.0.0.1:18669]
  --node HOST:PORT       talk to the server over CAF instead (its CAF_ADMIN_PORT)
  --token T              admin token, sent as "Authorization: Bearer T" [AITOOLS_ADMIN_TOKEN]
  --etcd URL[,URL...]    etcd's client URLs, the first that answers is used (cluster
                         commands only) [AITOOLS_ETCD, else http://127.0.0.1:2379]
  --prefix P             the cluster's keys in etcd, as the nodes' ETCD_PREFIX (cluster
                         commands only) [AITOOLS_ETCD_PREFIX, else /aitools/default]
  --json                 print the JSON answer, for scripts
  --timeout S            request timeout in seconds [10]
  --help                 show this help

PATH is a manifest file, or a directory: its *.json files then stand for the whole services
directory, so a service missing from it counts as removed. Files are read here and sent by
content (the server may be remote); --server-paths sends the paths for the server to read.

Exit status:
  0  ok
  1  the command failed: an error answer (4xx/5xx, a missing or wrong token), an invalid
     manifest or conflict (validate, diff, put-service), a reload that quarantined a file or
     found a config error, a wait that timed out (cluster wait names the lagging nodes), a
     service or key to delete that does not exist, a usage error
  2  the server or etcd cannot be reached: connection refused, unknown host, no answer
     within the timeout, an answer that is not HTTP
)";

namespace {

const char* const kAdminCommands[] = {"status", "routes",  "config",   "reload", "validate",
                                      "diff",   "history", "rollback", "wait"};
const char* const kEtcdCommands[] = {"cluster", "put-service", "delete-service", "set-config",
                                     "unset-config"};

template <size_t N>
bool one_of(const char* const (&names)[N], const std::string& name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// Whether a --timeout after the command is the command's own: the wait's. `all` is the whole
// command line (a --wait may follow the --timeout).
bool command_waits(const Invocation& invocation, const std::vector<std::string>& all) {
  const auto& command = invocation.command;
  const auto& args = invocation.args;
  if (command == "wait") return true;
  if (command == "cluster") return std::find(args.begin(), args.end(), "wait") != args.end();
  return is_etcd_command(command) && std::find(all.begin(), all.end(), "--wait") != all.end();
}

}  // namespace

bool is_etcd_command(const std::string& command) { return one_of(kEtcdCommands, command); }

std::optional<std::chrono::milliseconds> parse_seconds(const std::string& text,
                                                       double max_seconds) {
  const bool plain = !text.empty() &&
                     std::all_of(text.begin(), text.end(),
                                 [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
                     std::count(text.begin(), text.end(), '.') <= 1 && text != ".";
  if (!plain) return std::nullopt;
  const double seconds = std::strtod(text.c_str(), nullptr);
  if (!(seconds <= max_seconds)) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
}

std::string seconds_text(std::chrono::milliseconds ms) {
  std::string text = std::to_string(ms.count() / 1000);
  if (const auto rest = ms.count() % 1000) {
    std::string fraction = std::to_string(1000 + rest).substr(1);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    text += "." + fraction;
  }
  return text + " s";
}

std::string duration_text(uint64_t total) {
  const uint64_t days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60,
                 secs = total % 60;
  if (days)
    return std::to_string(days) + "d " + std::to_string(hours) + "h " + std::to_string(minutes) +
           "m";
  if (hours)
    return std::to_string(hours) + "h " + std::to_string(minutes) + "m " + std::to_string(secs) +
           "s";
  if (minutes) return std::to_string(minutes) + "m " + std::to_string(secs) + "s";
  return std::to_string(secs) + "s";
}

bool parse_command_line(const std::vector<std::string>& args, const Environment& environment,
                        Invocation& invocation, std::string& error) {
  if (environment.admin && !environment.admin->empty()) invocation.admin = *environment.admin;
  if (environment.token) invocation.token = *environment.token;
  if (environment.etcd && !environment.etcd->empty()) invocation.etcd = *environment.etcd;
  if (environment.etcd_prefix && !environment.etcd_prefix->empty())
    invocation.etcd_prefix = *environment.etcd_prefix;
  std::string etcd_option;  // the first --etcd or --prefix given, for the check at the end
  bool options_end = false;  // after "--", everything belongs to the command
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (options_end || arg.size() < 2 || arg[0] != '-') {
      if (invocation.command.empty())
        invocation.command = arg;
      else
        invocation.args.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_end = true;
      if (!invocation.command.empty()) invocation.args.push_back(arg);
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      invocation.help = true;
      continue;
    }
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    if (arg == "--json") {
      if (value) return error = "--json takes no value", false;
      invocation.json = true;
      continue;
    }
    const bool global =
        arg == "--admin" || arg == "--node" || arg == "--token" || arg == "--etcd" ||
        arg == "--prefix" ||
        (arg == "--timeout" && (invocation.command.empty() || !command_waits(invocation, args)));
    if (!global) {
      if (invocation.command.empty()) return error = "unknown option \"" + arg + "\"", false;
      invocation.args.push_back(args[i]);  // the command's own; it checks them
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return error = "option " + arg + " needs a value", false;
      value = args[++i];
    }
    if (arg == "--admin") {
      invocation.admin = *value;
    } else if (arg == "--node") {
      invocation.node = *value;
    } else if (arg == "--etcd" || arg == "--prefix") {
      (arg == "--etcd" ? invocation.etcd : invocation.etcd_prefix) = *value;
      if (etcd_option.empty()) etcd_option = arg;
    } else if (arg == "--token") {
      if (std::any_of(value->begin(), value->end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7F; }))
        return error = "--token: the token must not contain control characters", false;
      invocation.token = *value;
    } else {
      const auto timeout = parse_seconds(*value, 86400);
      if (!timeout || timeout->count() == 0)
        return error = "--timeout: expected seconds greater than 0, like 10 or 0.5, got \"" +
                       *value + "\"",
               false;
      invocation.timeout = *timeout;
    }
  }
  if (invocation.help) return true;
  if (invocation.command.empty()) return error = "no command given", false;
  if (invocation.command == "help") return invocation.help = true, true;
  const bool etcd = is_etcd_command(invocation.command);
  if (!etcd && !one_of(kAdminCommands, invocation.command))
    return error = "unknown command \"" + invocation.command + "\"", false;
  if (!etcd && !etcd_option.empty())
    return error = etcd_option + " is for the cluster commands (cluster, put-service, "
                                 "delete-service, set-config, unset-config), not " +
                   invocation.command,
           false;
  return true;
}

}  // namespace aitools::ctl
