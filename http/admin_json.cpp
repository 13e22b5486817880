#include "http/admin_json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/log.hpp"

namespace aitools::http {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void string_array(Writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const auto& item : items) string(w, item);
  w.EndArray();
}

void optional_string(Writer& w, const std::optional<std::string>& value) {
  if (value) string(w, *value);
  else w.Null();
}

void file_errors(Writer& w, const std::vector<FileError>& errors) {
  w.StartArray();
  for (const auto& e : errors) {
    w.StartObject();
    w.Key("file");
    string(w, e.file);
    w.Key("error");
    string(w, e.error);
    w.EndObject();
  }
  w.EndArray();
}

double milliseconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1000.0; }

void rollback(Writer& w, const std::optional<RollbackInfo>& info) {
  if (!info) return w.Null(), void();
  w.StartObject();
  w.Key("to");
  w.Uint64(info->to);
  w.Key("disk_differs");
  w.Bool(info->disk_differs);
  w.EndObject();
}

void route_ref(Writer& w, const RouteRef& route) {
  w.StartObject();
  w.Key("method");
  string(w, route.method);
  w.Key("path");
  string(w, route.path);
  w.Key("service");
  string(w, route.service);
  w.Key("kind");
  string(w, route.kind);
  w.EndObject();
}

void route_refs(Writer& w, const std::vector<RouteRef>& routes) {
  w.StartArray();
  for (const auto& route : routes) route_ref(w, route);
  w.EndArray();
}

// null when CONFIG_SOURCE=file.
void config_source(Writer& w, const config::SourceStatusPtr& source) {
  if (!source) return static_cast<void>(w.Null());
  w.StartObject();
  w.Key("source");
  string(w, source->source);
  w.Key("endpoint");
  string(w, source->endpoint);
  w.Key("connected");
  w.Bool(source->connected);
  w.Key("loaded");
  w.Bool(source->loaded);
  w.Key("error");
  if (source->error.empty()) w.Null();
  else string(w, source->error);
  w.Key("version");
  string(w, source->version);
  w.Key("revision");
  w.Int64(source->revision);
  w.Key("since");
  string(w, log::iso8601(source->since));
  w.EndObject();
}

}  // namespace

std::string status_json(const ServedState& state, double uptime_seconds, std::string_view detail) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  const auto& last = state.last_reload;
  w.StartObject();
  if (!detail.empty()) {
    w.Key("detail");
    string(w, detail);
  }
  w.Key("generation");
  w.Uint64(state.generation);
  w.Key("uptime_s");
  w.Double(uptime_seconds);
  w.Key("last_reload");
  w.StartObject();
  w.Key("at");
  string(w, log::iso8601(last.at));
  w.Key("trigger");
  string(w, to_string(last.trigger));
  w.Key("duration_ms");
  w.Double(milliseconds(last.duration));
  w.Key("changed");
  w.Bool(last.changed);
  w.EndObject();
  w.Key("config_error");
  optional_string(w, state.config_error);
  w.Key("restart_required");
  string_array(w, state.restart_required);
  w.Key("rollback");
  rollback(w, state.rollback);
  w.Key("config_source");
  config_source(w, state.source);
  w.Key("services");
  w.StartObject();
  for (const auto& service : state.services) {
    w.Key(service.name.c_str());
    w.StartObject();
    w.Key("state");
    string(w, to_string(service.state));
    w.Key("file");
    string(w, service.file);
    w.Key("routes");
    w.Uint64(service.routes);
    w.Key("error");
    if (service.error.empty()) w.Null();
    else string(w, service.error);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

std::string reload_json(const ReloadReport& report) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  if (report.rollback_of) {
    w.Key("rollback_to");
    w.Uint64(*report.rollback_of);
  }
  w.Key("generation");
  w.Uint64(report.generation);
  w.Key("changed");
  w.Bool(report.changed);
  w.Key("trigger");
  string(w, to_string(report.trigger));
  w.Key("duration_ms");
  w.Double(milliseconds(report.duration));
  w.Key("phases_ms");
  w.StartObject();
  w.Key("parse");
  w.Double(milliseconds(report.phases.parse));
  w.Key("validate");
  w.Double(milliseconds(report.phases.validate));
  w.Key("build");
  w.Double(milliseconds(report.phases.build));
  w.Key("swap");
  w.Double(milliseconds(report.phases.swap));
  w.EndObject();
  w.Key("added");
  string_array(w, report.added);
  w.Key("removed");
  string_array(w, report.removed);
  w.Key("updated");
  string_array(w, report.updated);
  w.Key("errors");
  file_errors(w, report.errors);
  w.Key("config_error");
  optional_string(w, report.config_error);
  w.Key("restart_required");
  string_array(w, report.restart_required);
  w.EndObject();
  return buffer.GetString();
}

std::string routes_json(const RouteTable& routes) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const auto& route : routes.routes()) {
    for (int m = 0; m < kMethodCount; ++m) {
      const auto method = static_cast<Method>(m);
      if (!route.methods.has(method)) continue;
      w.StartObject();
      w.Key("method");
      string(w, to_string(method));
      w.Key("path");
      string(w, route.pattern.text());
      w.Key("service");
      string(w, route.service);
      w.Key("kind");
      string(w, route.kind);
      w.EndObject();
    }
  }
  w.EndArray();
  return buffer.GetString();
}

std::string config_json(const ServedState& state) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("file");
  string(w, state.config->path);
  w.Key("values");
  w.StartObject();
  for (const auto& [key, value] : state.config->effective_values(true)) {
    string(w, key);  // a key is written as a string
    string(w, value);
  }
  w.EndObject();
  w.Key("config_error");
  optional_string(w, state.config_error);
  w.Key("restart_required");
  string_array(w, state.restart_required);
  w.EndObject();
  return buffer.GetString();
}

std::string history_json(const HistoryView& history, const ServedState& state) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("generation");
  w.Uint64(state.generation);
  w.Key("history_size");
  w.Uint64(history.capacity);
  w.Key("rollback");
  rollback(w, state.rollback);
  w.Key("entries");
  w.StartArray();
  for (const auto& entry : history.entries) {
    w.StartObject();
    w.Key("generation");
    w.Uint64(entry->generation);
    w.Key("at");
    string(w, log::iso8601(entry->at));
    w.Key("trigger");
    string(w, to_string(entry->trigger));
    w.Key("added");
    string_array(w, entry->added);
    w.Key("removed");
    string_array(w, entry->removed);
    w.Key("updated");
    string_array(w, entry->updated);
    w.Key("files");
    w.StartArray();
    for (const auto& file : entry->files) string(w, file.name);
    w.EndArray();
    w.Key("config_error");
    optional_string(w, entry->config_error);
    w.Key("rollback_of");
    if (entry->rollback_of) w.Uint64(*entry->rollback_of);
    else w.Null();
    w.Key("live");
    w.Bool(entry->generation == state.generation);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

std::string validation_json(const ValidationResult& result) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("valid");
  w.Bool(result.valid);
  w.Key("generation");
  w.Uint64(result.generation);
  w.Key("files");
  w.StartArray();
  for (const auto& file : result.files) {
    w.StartObject();
    w.Key("file");
    string(w, file.file);
    w.Key("service");
    string(w, file.service);
    w.Key("valid");
    w.Bool(file.error.empty());
    w.Key("routes");
    w.Uint64(file.routes);
    w.Key("error");
    if (file.error.empty()) w.Null();
    else string(w, file.error);
    w.EndObject();
  }
  w.EndArray();
  w.Key("diff");
  w.StartObject();
  w.Key("added");
  route_refs(w, result.added);
  w.Key("removed");
  route_refs(w, result.removed);
  w.Key("changed");
  route_refs(w, result.changed);
  w.Key("conflicts");
  file_errors(w, result.conflicts);
  w.Key("overlaps");
  w.StartArray();
  for (const auto& overlap : result.overlaps) {
    w.StartObject();
    w.Key("method");
    string(w, overlap.route.method);
    w.Key("path");
    string(w, overlap.route.path);
    w.Key("service");
    string(w, overlap.route.service);
    w.Key("with");
    route_ref(w, overlap.with);
    w.EndObject();
  }
  w.EndArray();
  w.Key("overlaps_truncated");
  w.Bool(result.overlaps_truncated);
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

bool parse_validation_request(std::string_view body, ValidationRequest& request, std::string& error) {
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  if (document.HasParseError() || !document.IsObject()) {
    error = "expected a JSON object {\"files\": [{\"name\", \"content\"}], \"paths\": [...], "
            "\"replace\": bool}";
    return false;
  }
  for (auto member = document.MemberBegin(); member != document.MemberEnd(); ++member) {
    const std::string key(member->name.GetString(), member->name.GetStringLength());
    const rapidjson::Value& value = member->value;
    if (key == "replace") {
      if (!value.IsBool()) return error = "replace: expected true or false", false;
      request.replace = value.GetBool();
    } else if (key == "paths") {
      if (!value.IsArray()) return error = "paths: expected an array of strings", false;
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
        if (!value[i].IsString() || value[i].GetStringLength() == 0)
          return error = "paths[" + std::to_string(i) + "]: expected a non-empty string", false;
        request.paths.emplace_back(value[i].GetString(), value[i].GetStringLength());
      }
    } else if (key == "files") {
      if (!value.IsArray()) return error = "files: expected an array of {\"name\", \"content\"}", false;
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
        const std::string where = "files[" + std::to_string(i) + "]";
        const rapidjson::Value& file = value[i];
        if (!file.IsObject() || !file.HasMember("name") || !file["name"].IsString() ||
            !file.HasMember("content") || !file["content"].IsString() || file.MemberCount() != 2)
          return error = where + ": expected {\"name\": string, \"content\": string}", false;
        std::string name(file["name"].GetString(), file["name"].GetStringLength());
        if (name.empty() || name.find('/') != std::string::npos || config::is_ignored_manifest_name(name))
          return error = where + ".name: expected a manifest file name like \"greeter.json\"", false;
        for (const auto& earlier : request.files)
          if (earlier.name == name) return error = where + ".name: \"" + name + "\" is given twice", false;
        request.files.push_back(
            {std::move(name), std::string(file["content"].GetString(), file["content"].GetStringLength()), {}});
      }
    } else {
      error = key + ": unknown member; expected files, paths or replace";
      return false;
    }
  }
  if (request.files.empty() && request.paths.empty()) {
    error = "expected at least one of files or paths";
    return false;
  }
  return true;
}

}  // namespace aitools::http
