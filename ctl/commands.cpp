#include "ctl/commands.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "ctl/command.hpp"
#include "ctl/table.hpp"
#include "http/validation_request.hpp"

namespace aitools::ctl {

namespace {

namespace fs = std::filesystem;
using Json = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

struct Context {
  const Invocation& invocation;
  Transport& transport;
  std::ostream& out;
  std::ostream& err;
};

// ---- reading answers without trusting their shape: a missing member reads as "-" ----

const Json* member(const Json* object, const char* key) {
  if (!object || !object->IsObject()) return nullptr;
  const auto found = object->FindMember(key);
  return found == object->MemberEnd() ? nullptr : &found->value;
}

std::vector<const Json*> items(const Json* array) {
  std::vector<const Json*> out;
  if (array && array->IsArray())
    for (const auto& item : array->GetArray()) out.push_back(&item);
  return out;
}

bool flag(const Json* value) { return value && value->IsBool() && value->GetBool(); }

bool present(const Json* value) {
  return value && !value->IsNull() && !(value->IsArray() && value->Empty()) &&
         !(value->IsString() && value->GetStringLength() == 0);
}

// Strings as they are, numbers, true/false, arrays joined with ", "; "-" for nothing.
std::string text(const Json* value) {
  if (!present(value)) return "-";
  if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
  if (value->IsBool()) return value->GetBool() ? "true" : "false";
  if (value->IsUint64()) return std::to_string(value->GetUint64());
  if (value->IsInt64()) return std::to_string(value->GetInt64());
  if (value->IsNumber()) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << value->GetDouble();
    return out.str();
  }
  if (value->IsArray()) {
    std::string joined;
    for (const Json* item : items(value)) joined += (joined.empty() ? "" : ", ") + text(item);
    return joined;
  }
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  value->Accept(w);
  return buffer.GetString();
}

std::string text(const Json& object, const char* key) { return text(member(&object, key)); }

std::string plural(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// ---- talking to the server ----

std::string describe(const AdminRequest& request) { return request.method + " " + request.target; }

// The server's reason for an error answer: its "detail", else the start of the body.
std::string detail(const std::string& body) {
  rapidjson::Document document;
  document.Parse(body.c_str(), body.size());
  if (!document.HasParseError()) {
    if (const Json* found = member(&document, "detail"); found && found->IsString())
      return text(found);
  }
  if (body.empty()) return "(no body)";
  std::string start = body.substr(0, 200);
  std::replace_if(
      start.begin(), start.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return start;
}

struct Answer {
  int status = 0;
  rapidjson::Document json;
};

// Sends `request` and, with --json, prints the answer's body unchanged. A status not in
// `expected` is a Failure with the server's reason; a body that is not JSON means whatever
// answered is not the admin API.
Answer exchange(Context& ctx, const AdminRequest& request,
                std::initializer_list<int> expected = {200}) {
  const AdminAnswer answer = ctx.transport.send(request);
  if (ctx.invocation.json && !answer.body.empty()) {
    ctx.out << answer.body;
    if (answer.body.back() != '\n') ctx.out << '\n';
  }
  if (answer.status == 401)
    throw Failure(
        ctx.invocation.token.empty()
            ? "the admin API needs a token (401 Unauthorized): pass --token or set "
              "AITOOLS_ADMIN_TOKEN"
            : "the admin API refused the token (401 Unauthorized): --token or AITOOLS_ADMIN_TOKEN "
              "must be the server's ADMIN_TOKEN");
  if (std::find(expected.begin(), expected.end(), answer.status) == expected.end())
    throw Failure(describe(request) + " answered " + std::to_string(answer.status) + ": " +
                  detail(answer.body));
  Answer parsed{answer.status, {}};
  parsed.json.Parse(answer.body.c_str(), answer.body.size());
  if (parsed.json.HasParseError() || !(parsed.json.IsObject() || parsed.json.IsArray()))
    throw Unreachable(describe(request) + " answered " + std::to_string(answer.status) +
                      " with a body that is not JSON (is --admin the admin listener?)");
  return parsed;
}

std::optional<uint64_t> generation_arg(const CommandArgs& parsed, const std::string& flag) {
  return number_arg(parsed, flag, 1, 999999999999999999, "a generation number (1, 2, ...)");
}

// ---- status, routes, config ----

std::string uptime_text(const Json* seconds) {
  if (!seconds || !seconds->IsNumber()) return "-";
  return duration_text(static_cast<uint64_t>(std::max(0.0, seconds->GetDouble())));
}

std::string rollback_text(const Json& rollback) {
  return "serving generation " + text(rollback, "to") + " again; " +
         (flag(member(&rollback, "disk_differs"))
              ? "the files on disk differ (a reload or the next file change serves them)"
              : "the files on disk are the same");
}

// "etcd http://10.0.0.5:2379, connected, revision 42" or "..., unreachable since T: why".
std::string config_source_text(const Json& source) {
  std::string line = text(source, "source") + " " + text(source, "endpoint") + ", ";
  if (flag(member(&source, "connected")))
    line += "connected";
  else
    line += "unreachable since " + text(source, "since") + ": " + text(source, "error");
  line += flag(member(&source, "loaded")) ? ", version " + text(source, "version")
                                          : ", never loaded (serving the env file alone)";
  return line;
}

void print_status(std::ostream& out, const Json& status) {
  Table summary;
  summary.add({"generation", text(status, "generation")});
  summary.add({"uptime", uptime_text(member(&status, "uptime_s"))});
  if (const Json* last = member(&status, "last_reload"); last && last->IsObject())
    summary.add({"last reload", text(*last, "at") + ", " + text(*last, "trigger") + ", " +
                                    text(*last, "duration_ms") + " ms, " +
                                    (flag(member(last, "changed")) ? "changed" : "unchanged")});
  summary.add({"config error", text(status, "config_error")});
  summary.add({"restart required", text(status, "restart_required")});
  if (const Json* rollback = member(&status, "rollback"); rollback && rollback->IsObject())
    summary.add({"rollback", rollback_text(*rollback)});
  if (const Json* source = member(&status, "config_source"); source && source->IsObject())
    summary.add({"config source", config_source_text(*source)});
  summary.print(out);
  out << '\n';
  Table services({"SERVICE", "STATE", "FILE", "ROUTES", "ERROR"});
  if (const Json* all = member(&status, "services"); all && all->IsObject())
    for (const auto& service : all->GetObject())
      services.add({text(&service.name), text(service.value, "state"), text(service.value, "file"),
                    text(service.value, "routes"), text(service.value, "error")});
  if (services.empty())
    out << "no services\n";
  else
    services.print(out);
}

int status(Context& ctx) {
  command_args(ctx.invocation, {});
  const Answer answer = exchange(ctx, {"GET", "/admin/status", {}});
  if (!ctx.invocation.json) print_status(ctx.out, answer.json);
  return kOk;
}

int routes(Context& ctx) {
  command_args(ctx.invocation, {});
  const Answer answer = exchange(ctx, {"GET", "/admin/routes", {}});
  if (ctx.invocation.json) return kOk;
  Table table({"METHOD", "PATH", "SERVICE", "KIND"});
  for (const Json* route : items(&answer.json))
    table.add({text(*route, "method"), text(*route, "path"), text(*route, "service"),
               text(*route, "kind")});
  if (table.empty())
    ctx.out << "no routes are served\n";
  else
    table.print(ctx.out);
  return kOk;
}

int config(Context& ctx) {
  command_args(ctx.invocation, {});
  const Answer answer = exchange(ctx, {"GET", "/admin/config", {}});
  if (ctx.invocation.json) return kOk;
  Table summary;
  summary.add({"file", text(answer.json, "file")});
  summary.add({"config error", text(answer.json, "config_error")});
  summary.add({"restart required", text(answer.json, "restart_required")});
  summary.print(ctx.out);
  ctx.out << '\n';
  Table values({"KEY", "VALUE"});
  if (const Json* all = member(&answer.json, "values"); all && all->IsObject())
    for (const auto& value : all->GetObject()) values.add({text(&value.name), text(&value.value)});
  values.print(ctx.out);
  return kOk;
}

// ---- reload and rollback ----

// The reload answer (also rollback's): what changed, on stdout.
void print_report(std::ostream& out, const Json& report) {
  Table table;
  table.add({"generation", text(report, "generation") +
                               (flag(member(&report, "changed")) ? " (changed)" : " (unchanged)")});
  table.add({"trigger", text(report, "trigger") + ", " + text(report, "duration_ms") + " ms"});
  table.add({"added", text(report, "added")});
  table.add({"removed", text(report, "removed")});
  table.add({"updated", text(report, "updated")});
  if (present(member(&report, "restart_required")))
    table.add({"restart required", text(report, "restart_required")});
  // What failed, by name; print_report_errors gives the reasons on stderr.
  std::string failed;
  for (const Json* error : items(member(&report, "errors")))
    failed += (failed.empty() ? "" : ", ") + text(*error, "file");
  if (present(member(&report, "config_error")))
    failed += failed.empty() ? "env file" : ", env file";
  if (!failed.empty()) table.add({"errors", failed});
  table.print(out);
}

// The report's errors on stderr, one line each; true when there was any.
bool print_report_errors(Context& ctx, const Json& report) {
  bool any = false;
  for (const Json* error : items(member(&report, "errors"))) {
    ctx.err << "aitools-ctl: " << text(*error, "file") << ": " << text(*error, "error")
            << " (its last good version, if any, keeps serving)\n";
    any = true;
  }
  if (present(member(&report, "config_error"))) {
    ctx.err << "aitools-ctl: env file: " << text(report, "config_error")
            << " (the last good settings stay in force)\n";
    any = true;
  }
  return any;
}

int reload(Context& ctx) {
  command_args(ctx.invocation, {});
  const Answer answer = exchange(ctx, {"POST", "/admin/reload", {}});
  if (!ctx.invocation.json) print_report(ctx.out, answer.json);
  return print_report_errors(ctx, answer.json) ? kFailed : kOk;
}

int rollback(Context& ctx) {
  const auto parsed = command_args(ctx.invocation, {"--to"});
  const auto to = generation_arg(parsed, "--to");
  const std::string target =
      "/admin/rollback" + (to ? "?to=" + std::to_string(*to) : std::string());
  const Answer answer = exchange(ctx, {"POST", target, {}});
  if (!ctx.invocation.json) {
    ctx.out << "rolled back to generation " << text(answer.json, "rollback_to")
            << ", now served as generation " << text(answer.json, "generation") << "\n";
    print_report(ctx.out, answer.json);
  }
  print_report_errors(ctx, answer.json);  // reported, but the rollback itself is done
  return kOk;
}

// ---- history ----

std::string changes_text(const Json& entry) {
  std::string changes;
  auto add = [&](const std::string& part) { changes += (changes.empty() ? "" : " ") + part; };
  if (present(member(&entry, "rollback_of")))
    add("rollback to " + text(entry, "rollback_of") + ":");
  for (const auto& [key, sign] : {std::pair{"added", "+"}, {"removed", "-"}, {"updated", "~"}})
    for (const Json* name : items(member(&entry, key))) add(sign + text(name));
  if (present(member(&entry, "config_error")))
    add("(config error: " + text(entry, "config_error") + ")");
  return changes.empty() ? "-" : changes;
}

int history(Context& ctx) {
  command_args(ctx.invocation, {});
  const Answer answer = exchange(ctx, {"GET", "/admin/history", {}});
  if (ctx.invocation.json) return kOk;
  Table summary;
  summary.add({"generation", text(answer.json, "generation") + " (live)"});
  summary.add({"kept", "the last " + text(answer.json, "history_size") + " generations"});
  if (const Json* rollback = member(&answer.json, "rollback"); rollback && rollback->IsObject())
    summary.add({"rollback", rollback_text(*rollback)});
  summary.print(ctx.out);
  ctx.out << '\n';
  Table table({"GENERATION", "AT", "TRIGGER", "CHANGES"});
  for (const Json* entry : items(member(&answer.json, "entries")))
    table.add({text(*entry, "generation") + (flag(member(entry, "live")) ? " (live)" : ""),
               text(*entry, "at"), text(*entry, "trigger"), changes_text(*entry)});
  table.print(ctx.out);
  return kOk;
}

// ---- validate and diff ----

bool manifest_name(const std::string& name) {
  return name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0 && name.front() != '.' &&
         name.back() != '~';
}

// The /admin/validate request for PATH...: the files' content, or the paths themselves.
// A directory stands for the whole services directory ("replace": true).
std::string validation_body(const CommandArgs& parsed) {
  const bool server_paths = parsed.switches.count("--server-paths") > 0;
  bool replace = false;
  std::vector<std::pair<std::string, std::string>> files;  // name, content
  std::map<std::string, std::string> origin;               // name -> the path it came from
  auto add = [&](const fs::path& path) {
    const std::string name = path.filename().string();
    if (const auto earlier = origin.find(name); earlier != origin.end())
      throw Failure(name + " is given twice: " + earlier->second + " and " + path.string());
    origin[name] = path.string();
    files.emplace_back(name, read_text_file(path.string()));
  };
  for (const auto& path : parsed.paths) {
    std::error_code ec;
    const bool directory = fs::is_directory(path, ec);
    if (server_paths) {
      replace = replace || directory || path.back() == '/';
      continue;
    }
    if (!directory) {
      if (!fs::exists(path, ec)) throw Failure(path + ": no such file or directory");
      add(path);
      continue;
    }
    replace = true;
    std::vector<fs::path> manifests;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code unreadable;  // a dangling link is skipped, as the server skips it
      if (manifest_name(it->path().filename().string()) && it->is_regular_file(unreadable))
        manifests.push_back(it->path());
    }
    if (ec) throw Failure("cannot list " + path + ": " + ec.message());
    if (manifests.empty()) throw Failure(path + " holds no *.json manifest");
    std::sort(manifests.begin(), manifests.end());
    for (const auto& manifest : manifests) add(manifest);
  }
  return http::validation_request_json(files, server_paths ? parsed.paths : std::vector<std::string>{},
                                       replace);
}

// Sends PATH... to /admin/validate.
Answer validate_paths(Context& ctx) {
  const auto parsed = command_args(ctx.invocation, {}, {"--server-paths"}, true);
  if (parsed.paths.empty()) throw UsageError(ctx.invocation.command + " needs at least one PATH");
  return exchange(ctx, {"POST", "/admin/validate", validation_body(parsed)});
}

// Per file: OK, INVALID (does not parse or compile) or CONFLICT (with what is served).
struct FileVerdict {
  std::string file, verdict, detail;
};

std::vector<FileVerdict> verdicts(const Json& result) {
  std::vector<FileVerdict> out;
  std::multimap<std::string, std::string> conflicts;
  for (const Json* conflict : items(member(member(&result, "diff"), "conflicts")))
    conflicts.emplace(text(*conflict, "file"), text(*conflict, "error"));
  for (const Json* file : items(member(&result, "files"))) {
    const std::string name = text(*file, "file");
    if (const auto conflict = conflicts.find(name); conflict != conflicts.end()) {
      out.push_back({name, "CONFLICT", conflict->second});
      conflicts.erase(conflict);
    } else if (!flag(member(file, "valid"))) {
      out.push_back({name, "INVALID", text(*file, "error")});
    } else {
      const auto routes = member(file, "routes");
      out.push_back(
          {name, "OK",
           "service " + text(*file, "service") + ", " +
               plural(routes && routes->IsUint64() ? routes->GetUint64() : 0, "route", "routes")});
    }
  }
  for (const auto& [file, error] : conflicts) out.push_back({file, "CONFLICT", error});
  return out;
}

// Exit status of validate and diff, with the reason on stderr when invalid.
int validity(Context& ctx, const Json& result, const std::vector<FileVerdict>& files) {
  if (flag(member(&result, "valid"))) return kOk;
  const auto bad =
      std::count_if(files.begin(), files.end(), [](const auto& f) { return f.verdict != "OK"; });
  ctx.err << "aitools-ctl: " << bad << " of " << plural(files.size(), "file", "files")
          << (bad == 1 ? " is invalid or conflicts" : " are invalid or conflict")
          << " with what is served; nothing was applied\n";
  return kFailed;
}

int validate(Context& ctx) {
  const Answer answer = validate_paths(ctx);
  const auto files = verdicts(answer.json);
  if (!ctx.invocation.json) {
    Table table;
    for (const auto& file : files) table.add({file.file, file.verdict, file.detail});
    table.print(ctx.out);
  }
  return validity(ctx, answer.json, files);
}

int diff(Context& ctx) {
  const Answer answer = validate_paths(ctx);
  const auto files = verdicts(answer.json);
  if (!ctx.invocation.json) {
    const Json* changes = member(&answer.json, "diff");
    Table routes;
    for (const auto& [key, sign] : {std::pair{"added", "+"}, {"removed", "-"}, {"changed", "~"}})
      for (const Json* route : items(member(changes, key)))
        routes.add({sign, text(*route, "method"), text(*route, "path"), text(*route, "service"),
                    text(*route, "kind")});
    if (routes.empty())
      ctx.out << "no route changes\n";
    else
      routes.print(ctx.out);
    Table problems;
    for (const auto& file : files)
      if (file.verdict != "OK") problems.add({file.verdict, file.file, file.detail});
    if (!problems.empty()) {
      ctx.out << "\ncannot be applied:\n";
      problems.print(ctx.out);
    }
    Table overlaps;
    for (const Json* overlap : items(member(changes, "overlaps"))) {
      const Json* with = member(overlap, "with");
      overlaps.add({text(*overlap, "method") + " " + text(*overlap, "path"),
                    "(" + text(*overlap, "service") + ")", "overlaps",
                    text(member(with, "method")) + " " + text(member(with, "path")),
                    "(" + text(member(with, "service")) + ")"});
    }
    if (!overlaps.empty()) {
      ctx.out << "\noverlaps (a path matching both is served by the more specific pattern):\n";
      overlaps.print(ctx.out);
      if (flag(member(changes, "overlaps_truncated"))) ctx.out << "(more overlaps not listed)\n";
    }
  }
  return validity(ctx, answer.json, files);
}

// ---- wait ----

int wait(Context& ctx) {
  const auto parsed = command_args(ctx.invocation, {"--generation", "--timeout"});
  const auto generation = generation_arg(parsed, "--generation");
  if (!generation) throw UsageError("wait needs --generation N");
  const auto timeout = wait_timeout_arg(parsed, std::chrono::milliseconds(30000));
  AdminRequest request{"GET",
                       "/admin/status?wait_for=" + std::to_string(*generation) +
                           "&timeout_ms=" + std::to_string(timeout.count()),
                       {},
                       timeout};
  const Answer answer = exchange(ctx, request, {200, 408});
  if (answer.status == 408) {
    ctx.err << "aitools-ctl: generation " << *generation << " was not served within "
            << seconds_text(timeout) << "; the server is at generation "
            << text(answer.json, "generation") << "\n";
    return kFailed;
  }
  if (!ctx.invocation.json)
    ctx.out << "generation " << text(answer.json, "generation") << " is served\n";
  return kOk;
}

}  // namespace

int run_command(const Invocation& invocation, Transport& transport, std::ostream& out,
                std::ostream& err) {
  static const std::map<std::string, int (*)(Context&)> commands = {
      {"status", status},     {"routes", routes},     {"config", config},
      {"reload", reload},     {"rollback", rollback}, {"history", history},
      {"validate", validate}, {"diff", diff},         {"wait", wait}};
  Context ctx{invocation, transport, out, err};
  return run_guarded(err, [&] {
    const auto command = commands.find(invocation.command);
    if (command == commands.end())
      throw UsageError("unknown command \"" + invocation.command + "\"");
    return command->second(ctx);
  });
}

}  // namespace aitools::ctl
