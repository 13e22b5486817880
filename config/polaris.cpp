#include "config/polaris.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "config/env_file.hpp"
#include "util/url.hpp"
#include "util/utf8.hpp"

namespace aitools::polaris {

namespace {

constexpr std::string_view kSessionCookie = "JSESSIONID";
constexpr size_t kExcerptBytes = 200;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool icontains(std::string_view text, std::string_view part) {
  for (size_t i = 0; i + part.size() <= text.size(); ++i)
    if (iequals(text.substr(i, part.size()), part)) return true;
  return false;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The start of `body` for an error message and a log line: one line of valid UTF-8 (control
// characters become spaces, invalid bytes '?'), cut on a character boundary.
std::string excerpt(std::string_view body) {
  std::string text;
  size_t at = 0;
  while (at < body.size()) {
    const size_t length = utf8::sequence(body, at);
    if (at + std::max<size_t>(length, 1) > kExcerptBytes) break;
    if (length == 0)
      text += '?';
    else if (length == 1 && static_cast<unsigned char>(body[at]) < 0x20)
      text += ' ';
    else
      text.append(body.substr(at, length));
    at += std::max<size_t>(length, 1);
  }
  if (at < body.size()) text += "...";
  return text;
}

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// The centre's own error answer: {"code": N (not 0), "message": "..."}.
bool error_answer(const rapidjson::Value& document, std::string& error) {
  const auto code = document.FindMember("code");
  if (code == document.MemberEnd() || !code->value.IsInt64() || code->value.GetInt64() == 0)
    return false;
  const auto message = document.FindMember("message");
  error = "download: the centre answered code " + std::to_string(code->value.GetInt64());
  if (message != document.MemberEnd() && message->value.IsString())
    error += ": " + excerpt({message->value.GetString(), message->value.GetStringLength()});
  return true;
}

}  // namespace

Filter filter_from(const config::Settings& settings, const std::string& env_path) {
  return {settings.project_name, settings.polaris_cluster, settings.service_sub, settings.version,
          settings.config_file.empty() ? std::filesystem::path(env_path).filename().string()
                                       : settings.config_file};
}

std::string login_url(const std::string& base) { return base + "/api/v1/user/login"; }

std::string login_body(const std::string& base, const std::string& username,
                       const std::string& password) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("addr");
  write_string(writer, base);
  writer.Key("account");
  write_string(writer, username);
  writer.Key("password");
  write_string(writer, password);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string download_url(const std::string& base, const Filter& filter) {
  const std::pair<const char*, const std::string*> parameters[] = {
      {"project", &filter.project},
      {"cluster", &filter.cluster},
      {"service", &filter.service},
      {"version", &filter.version},
      {"configName", &filter.config_name}};
  std::string url = base + "/config/download";
  char separator = '?';
  for (const auto& [name, value] : parameters) {
    url += separator;
    url += name;
    url += '=';
    url::append_encoded(url, *value);
    separator = '&';
  }
  return url;
}

std::optional<std::string> session_cookie(const http::HeaderList& headers) {
  std::optional<std::string> session;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Set-Cookie")) continue;
    const std::string_view cookie = std::string_view(value).substr(0, value.find(';'));
    const size_t equals = cookie.find('=');
    if (equals == std::string_view::npos || trim(cookie.substr(0, equals)) != kSessionCookie)
      continue;
    // An empty value is the centre clearing the cookie, not a session.
    if (const std::string_view id = trim(cookie.substr(equals + 1)); !id.empty())
      session = std::string(id);
  }
  return session;
}

std::string cookie_header(const std::string& session) {
  return std::string(kSessionCookie) + "=" + session;
}

bool session_expired(int status, const http::HeaderList& headers) {
  if (status == 401 || status == 403) return true;
  if (status < 300 || status > 399) return false;
  for (const auto& [name, value] : headers)
    if (iequals(name, "Location") && icontains(value, "login")) return true;
  return false;
}

bool parse_download(std::string_view body, const std::string& config_name,
                    config::RemoteSnapshot& out, std::string& error) {
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  if (document.HasParseError()) {
    error = "download: not JSON at offset " + std::to_string(document.GetErrorOffset()) + " (" +
            rapidjson::GetParseError_En(document.GetParseError()) + "): " +
            (body.empty() ? std::string("an empty body") : "\"" + excerpt(body) + "\"");
    return false;
  }
  if (!document.IsObject()) {
    error = "download: expected a JSON object, got \"" + excerpt(body) + "\"";
    return false;
  }
  if (error_answer(document, error)) return false;
  std::string_view content;
  const auto data = document.FindMember("data");
  if (data != document.MemberEnd() && !data->value.IsNull()) {
    if (!data->value.IsObject()) {
      error = "download: data: expected an object";
      return false;
    }
    const auto text = data->value.FindMember("content");
    if (text != data->value.MemberEnd() && !text->value.IsNull()) {
      if (!text->value.IsString()) {
        error = "download: data.content: expected a string of KEY=VALUE lines";
        return false;
      }
      content = {text->value.GetString(), text->value.GetStringLength()};
    }
  }
  config::EnvParseResult parsed = config::parse_env(content);
  if (const auto* failure = std::get_if<config::EnvParseError>(&parsed)) {
    error = "download: " + config_name + ":" + std::to_string(failure->line) + ": " +
            failure->message;
    return false;
  }
  out = {};
  for (auto& entry : std::get<std::vector<config::EnvEntry>>(parsed))  // the last one wins
    out.values[entry.key] = {std::move(entry.value),
                             "polaris " + config_name + ":" + std::to_string(entry.line)};
  out.version = content_digest(out.values);
  return true;
}

std::string content_digest(const config::RemoteValues& values) {
  // FNV-1a: tells sets apart in the status; not a security measure.
  uint64_t hash = 14695981039346656037ull;
  const auto feed = [&hash](std::string_view text) {
    // The length first, so that no two different sets feed the same bytes.
    const std::string length = std::to_string(text.size()) + ":";
    for (const std::string_view part : {std::string_view(length), text})
      for (const unsigned char c : part) hash = (hash ^ c) * 1099511628211ull;
  };
  for (const auto& [key, value] : values) {  // a std::map: in key order
    feed(key);
    feed(value.text);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::string http_error(int status, std::string_view body) {
  const std::string text = excerpt(body);
  return "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text);
}

}  // namespace aitools::polaris
