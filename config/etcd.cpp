#include "config/etcd.hpp"

#include <algorithm>
#include <charconv>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/base64.hpp"

namespace aitools::etcd {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A watch message larger than this without its closing newline is treated as malformed: a
// peer that never ends a line must not grow the buffer without bound. etcd caps a request at
// 1.5 MiB by default; a catch-up response carries many events, hence the margin.
constexpr size_t kMaxWatchMessageBytes = size_t{256} << 20;

void write_string(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_bytes(Writer& writer, const char* name, std::string_view bytes) {
  writer.Key(name);
  write_string(writer, base64::encode(bytes));
}

// proto3 JSON writes int64 as a string.
void write_int64(Writer& writer, const char* name, int64_t value) {
  writer.Key(name);
  write_string(writer, std::to_string(value));
}

template <class Body>
std::string json_object(Body&& body) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  body(writer);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// An int64 field: a string of digits (proto3 JSON) or a number; absent is 0 (proto3 leaves
// zero out). False when present but not an integer.
bool int64_field(const rapidjson::Value& object, const char* name, int64_t& out) {
  out = 0;
  const auto found = object.FindMember(name);
  if (found == object.MemberEnd()) return true;
  const auto& value = found->value;
  if (value.IsInt64()) return out = value.GetInt64(), true;
  if (!value.IsString()) return false;
  const char* begin = value.GetString();
  const char* end = begin + value.GetStringLength();
  const auto [last, code] = std::from_chars(begin, end, out);
  return code == std::errc() && last == end && begin != end;
}

bool bool_field(const rapidjson::Value& object, const char* name, bool& out) {
  out = false;
  const auto found = object.FindMember(name);
  if (found == object.MemberEnd()) return true;
  if (!found->value.IsBool()) return false;
  out = found->value.GetBool();
  return true;
}

bool string_field(const rapidjson::Value& object, const char* name, std::string& out) {
  out.clear();
  const auto found = object.FindMember(name);
  if (found == object.MemberEnd()) return true;
  if (!found->value.IsString()) return false;
  out.assign(found->value.GetString(), found->value.GetStringLength());
  return true;
}

// A base64 bytes field; absent is empty.
bool bytes_field(const rapidjson::Value& object, const char* name, std::string& out) {
  std::string text;
  if (!string_field(object, name, text)) return false;
  auto decoded = base64::decode(text);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

// The gateway's error answer: {"error": "...", "code": N, "message": "..."} (etcd 3.4) or
// {"error": {"grpc_code": N, "message": "..."}} (later gateways). True when `object` is one.
bool error_answer(const rapidjson::Value& object, std::string& error) {
  const auto found = object.FindMember("error");
  if (found == object.MemberEnd()) return false;
  const rapidjson::Value* source = &object;
  if (found->value.IsObject()) source = &found->value;
  std::string message;
  string_field(*source, "message", message);
  if (message.empty() && found->value.IsString())
    message.assign(found->value.GetString(), found->value.GetStringLength());
  if (message.empty() && !found->value.IsObject()) return false;  // "error": "" is no error
  int64_t code = 0;
  if (!int64_field(*source, "code", code) || code == 0) int64_field(*source, "grpc_code", code);
  error = "etcd: " + (message.empty() ? std::string("error without a message") : message);
  if (code != 0) error += " (code " + std::to_string(code) + ")";
  return true;
}

// Parses `body` as a JSON object that is not an error answer.
bool parse_object(std::string_view body, rapidjson::Document& document, std::string& error) {
  document.Parse(body.data(), body.size());
  if (document.HasParseError() || !document.IsObject()) {
    std::string start(body.substr(0, 120));
    std::replace(start.begin(), start.end(), '\n', ' ');
    error = "etcd: expected a JSON object, got " +
            (start.empty() ? "an empty body" : "\"" + start + "\"");
    return false;
  }
  return !error_answer(document, error);
}

bool header_revision(const rapidjson::Value& object, int64_t& revision) {
  revision = 0;
  const auto header = object.FindMember("header");
  if (header == object.MemberEnd()) return true;
  return header->value.IsObject() && int64_field(header->value, "revision", revision);
}

bool parse_kv(const rapidjson::Value& value, KeyValue& kv) {
  return value.IsObject() && bytes_field(value, "key", kv.key) &&
         bytes_field(value, "value", kv.value) &&
         int64_field(value, "create_revision", kv.create_revision) &&
         int64_field(value, "mod_revision", kv.mod_revision) &&
         int64_field(value, "lease", kv.lease);
}

bool malformed(std::string& error, const char* what) {
  error = std::string("etcd: malformed answer: ") + what;
  return false;
}

bool parse_watch_result(const rapidjson::Value& result, WatchResponse& out, std::string& error) {
  out = WatchResponse{};
  if (!result.IsObject()) return malformed(error, "watch result is not an object");
  if (!header_revision(result, out.revision) || !bool_field(result, "created", out.created) ||
      !bool_field(result, "canceled", out.canceled) ||
      !int64_field(result, "compact_revision", out.compact_revision) ||
      !string_field(result, "cancel_reason", out.cancel_reason))
    return malformed(error, "watch result fields");
  const auto events = result.FindMember("events");
  if (events == result.MemberEnd()) return true;
  if (!events->value.IsArray()) return malformed(error, "watch events is not an array");
  for (const auto& item : events->value.GetArray()) {
    if (!item.IsObject()) return malformed(error, "watch event is not an object");
    Event event;
    std::string type;
    if (!string_field(item, "type", type)) return malformed(error, "watch event type");
    if (type == "DELETE")
      event.type = Event::Type::remove;
    else if (!type.empty() && type != "PUT")
      return malformed(error, "watch event type is neither PUT nor DELETE");
    const auto kv = item.FindMember("kv");
    if (kv == item.MemberEnd() || !parse_kv(kv->value, event.kv))
      return malformed(error, "watch event kv");
    out.events.push_back(std::move(event));
  }
  return true;
}

bool valid_config_key(std::string_view name) {
  const auto head = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  const auto tail = [&](char c) { return head(c) || (c >= '0' && c <= '9') || c == '.'; };
  return !name.empty() && head(name.front()) && std::all_of(name.begin() + 1, name.end(), tail);
}

bool valid_manifest_name(std::string_view name) {
  constexpr std::string_view kSuffix = ".json";
  const auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  };
  return name.size() > kSuffix.size() && name.front() != '.' &&
         name.substr(name.size() - kSuffix.size()) == kSuffix &&
         std::all_of(name.begin(), name.end(), allowed);
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  // Increment the last byte that is not 0xff, dropping the 0xff bytes after it.
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // etcd: every key from `prefix` on
}

std::string range_request(std::string_view key, std::string_view range_end, int64_t revision,
                          bool keys_only) {
  return json_object([&](Writer& writer) {
    write_bytes(writer, "key", key);
    if (!range_end.empty()) write_bytes(writer, "range_end", range_end);
    if (revision > 0) write_int64(writer, "revision", revision);
    if (keys_only) {
      writer.Key("keys_only");
      writer.Bool(true);
    }
  });
}

std::string put_request(std::string_view key, std::string_view value, int64_t lease) {
  return json_object([&](Writer& writer) {
    write_bytes(writer, "key", key);
    write_bytes(writer, "value", value);
    if (lease != 0) write_int64(writer, "lease", lease);
  });
}

std::string delete_request(std::string_view key, std::string_view range_end) {
  return json_object([&](Writer& writer) {
    write_bytes(writer, "key", key);
    if (!range_end.empty()) write_bytes(writer, "range_end", range_end);
  });
}

std::string watch_request(std::string_view key, std::string_view range_end,
                          int64_t start_revision) {
  return json_object([&](Writer& writer) {
    writer.Key("create_request");
    writer.StartObject();
    write_bytes(writer, "key", key);
    if (!range_end.empty()) write_bytes(writer, "range_end", range_end);
    if (start_revision > 0) write_int64(writer, "start_revision", start_revision);
    writer.EndObject();
  });
}

std::string lease_grant_request(int64_t ttl_seconds) {
  return json_object([&](Writer& writer) { write_int64(writer, "TTL", ttl_seconds); });
}

std::string lease_keepalive_request(int64_t id) {
  return json_object([&](Writer& writer) { write_int64(writer, "ID", id); });
}

std::string lease_revoke_request(int64_t id) {
  return json_object([&](Writer& writer) { write_int64(writer, "ID", id); });
}

bool parse_range(std::string_view body, RangeResponse& out, std::string& error) {
  out = RangeResponse{};
  rapidjson::Document document;
  if (!parse_object(body, document, error)) return false;
  if (!header_revision(document, out.revision)) return malformed(error, "range header");
  const auto kvs = document.FindMember("kvs");
  if (kvs == document.MemberEnd()) return true;
  if (!kvs->value.IsArray()) return malformed(error, "range kvs is not an array");
  for (const auto& item : kvs->value.GetArray()) {
    KeyValue kv;
    if (!parse_kv(item, kv)) return malformed(error, "range kv");
    out.kvs.push_back(std::move(kv));
  }
  return true;
}

bool parse_write(std::string_view body, int64_t& revision, int64_t& deleted, std::string& error) {
  revision = deleted = 0;
  rapidjson::Document document;
  if (!parse_object(body, document, error)) return false;
  if (!header_revision(document, revision) || !int64_field(document, "deleted", deleted))
    return malformed(error, "write answer fields");
  return true;
}

bool parse_lease_grant(std::string_view body, int64_t& id, int64_t& ttl, std::string& error) {
  id = ttl = 0;
  rapidjson::Document document;
  if (!parse_object(body, document, error)) return false;
  if (!int64_field(document, "ID", id) || !int64_field(document, "TTL", ttl))
    return malformed(error, "lease grant fields");
  if (id == 0) return malformed(error, "lease grant without an ID");
  return true;
}

bool parse_lease_keepalive(std::string_view body, int64_t& ttl, std::string& error) {
  ttl = 0;
  rapidjson::Document document;
  if (!parse_object(body, document, error)) return false;
  // The gateway streams keepalive answers: {"result": {...}}.
  const rapidjson::Value* result = &document;
  if (const auto found = document.FindMember("result"); found != document.MemberEnd()) {
    if (!found->value.IsObject()) return malformed(error, "keepalive result is not an object");
    if (error_answer(found->value, error)) return false;
    result = &found->value;
  }
  if (!int64_field(*result, "TTL", ttl)) return malformed(error, "keepalive TTL");
  return true;
}

void WatchStream::feed(std::string_view chunk) { buffer_.append(chunk); }

bool WatchStream::next(WatchResponse& out, std::string& error) {
  error.clear();
  for (;;) {
    const size_t newline = buffer_.find('\n', start_);
    if (newline == std::string::npos) {
      // Drained: drop what was consumed, so buffered() is what waits for its line end.
      buffer_.erase(0, start_);
      start_ = 0;
      if (buffer_.size() > kMaxWatchMessageBytes) {
        error = "etcd: watch message exceeds " + std::to_string(kMaxWatchMessageBytes) +
                " bytes without a line end";
        buffer_.clear();
      }
      return false;
    }
    const std::string_view line(buffer_.data() + start_, newline - start_);
    start_ = newline + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
    rapidjson::Document document;
    if (!parse_object(line, document, error)) return false;
    const auto result = document.FindMember("result");
    if (result == document.MemberEnd())
      return malformed(error, "watch message has neither result nor error");
    if (result->value.IsObject() && error_answer(result->value, error)) return false;
    return parse_watch_result(result->value, out, error);
  }
}

config::RemoteSnapshot snapshot_from(const Layout& layout,
                                     const std::map<std::string, KeyValue>& kvs,
                                     int64_t revision) {
  config::RemoteSnapshot snapshot;
  snapshot.revision = revision;
  snapshot.version = std::to_string(revision);
  const std::string config_prefix = layout.config_prefix();
  const std::string services_prefix = layout.services_prefix();
  for (const auto& [key, kv] : kvs) {
    if (starts_with(key, config_prefix)) {
      const std::string name = key.substr(config_prefix.size());
      if (valid_config_key(name)) {
        snapshot.values[name] = {kv.value, "etcd " + key};
        continue;
      }
      snapshot.manifests.push_back(
          {"config/" + name, std::nullopt,
           "\"" + name + "\" is not a config key name (expected [A-Za-z_][A-Za-z0-9_.]*)", key});
    } else if (starts_with(key, services_prefix)) {
      const std::string name = key.substr(services_prefix.size());
      if (valid_manifest_name(name)) {
        snapshot.manifests.push_back({name, kv.value, "", key});
        continue;
      }
      snapshot.manifests.push_back(
          {name, std::nullopt,
           "\"" + name +
               "\" is not a manifest name (expected [A-Za-z0-9._-]+.json without a leading dot)",
           key});
    }
    // Other keys in the watched range (e.g. <prefix>/locks/) are not the nodes' concern.
  }
  std::sort(snapshot.manifests.begin(), snapshot.manifests.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return snapshot;
}

std::string ack_json(const Ack& ack) {
  return json_object([&](Writer& writer) {
    writer.Key("node");
    write_string(writer, ack.node);
    writer.Key("address");
    write_string(writer, ack.address);
    writer.Key("generation");
    writer.Uint64(ack.generation);
    writer.Key("revision");
    writer.Int64(ack.revision);
    writer.Key("time");
    write_string(writer, ack.time);
    writer.Key("quarantined");
    writer.StartArray();
    for (const auto& entry : ack.quarantined) {
      writer.StartObject();
      writer.Key("name");
      write_string(writer, entry.name);
      writer.Key("file");
      write_string(writer, entry.file);
      writer.Key("error");
      write_string(writer, entry.error);
      writer.EndObject();
    }
    writer.EndArray();
    writer.Key("config_error");
    write_string(writer, ack.config_error);
  });
}

bool parse_ack(std::string_view json, Ack& out, std::string& error) {
  out = Ack{};
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError() || !document.IsObject()) {
    error = "ack: not a JSON object";
    return false;
  }
  const auto generation = document.FindMember("generation");
  const auto revision = document.FindMember("revision");
  if (!string_field(document, "node", out.node) || out.node.empty()) {
    error = "ack: expected \"node\" to be a non-empty string";
    return false;
  }
  if (generation == document.MemberEnd() || !generation->value.IsUint64()) {
    error = "ack " + out.node + ": expected \"generation\" to be an unsigned integer";
    return false;
  }
  out.generation = generation->value.GetUint64();
  if (revision == document.MemberEnd() || !revision->value.IsInt64()) {
    error = "ack " + out.node + ": expected \"revision\" to be an integer";
    return false;
  }
  out.revision = revision->value.GetInt64();
  if (!string_field(document, "address", out.address) ||
      !string_field(document, "time", out.time) ||
      !string_field(document, "config_error", out.config_error)) {
    error = "ack " + out.node +
            ": expected \"address\", \"time\" and \"config_error\" to be strings";
    return false;
  }
  const auto quarantined = document.FindMember("quarantined");
  if (quarantined == document.MemberEnd()) return true;
  if (!quarantined->value.IsArray()) {
    error = "ack " + out.node + ": expected \"quarantined\" to be an array";
    return false;
  }
  for (const auto& item : quarantined->value.GetArray()) {
    Ack::Quarantined entry;
    if (!item.IsObject() || !string_field(item, "name", entry.name) ||
        !string_field(item, "file", entry.file) || !string_field(item, "error", entry.error)) {
      error = "ack " + out.node +
              ": expected each \"quarantined\" entry to be {\"name\", \"file\", \"error\"} strings";
      return false;
    }
    out.quarantined.push_back(std::move(entry));
  }
  return true;
}

}  // namespace aitools::etcd
