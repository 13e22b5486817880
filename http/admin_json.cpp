#include "http/admin_json.hpp"

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

}  // namespace

std::string status_json(const ServedState& state, double uptime_seconds) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  const auto& last = state.last_reload;
  w.StartObject();
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
  w.Key("generation");
  w.Uint64(report.generation);
  w.Key("changed");
  w.Bool(report.changed);
  w.Key("trigger");
  string(w, to_string(report.trigger));
  w.Key("duration_ms");
  w.Double(milliseconds(report.duration));
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

}  // namespace aitools::http
