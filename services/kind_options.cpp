#include "services/kind_options.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/document.h>

namespace aitools::services::options {

namespace {

std::string_view as_view(const rapidjson::Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

const rapidjson::Value* find_member(const rapidjson::Value& options, std::string_view field) {
  auto member = options.FindMember(
      rapidjson::Value(rapidjson::StringRef(field.data(), static_cast<rapidjson::SizeType>(field.size()))));
  return member == options.MemberEnd() ? nullptr : &member->value;
}

}  // namespace

bool only_known(const rapidjson::Value& options, const std::vector<std::string_view>& known,
                std::string& error) {
  for (auto member = options.MemberBegin(); member != options.MemberEnd(); ++member) {
    const std::string_view name = as_view(member->name);
    bool found = false;
    for (std::string_view field : known) found = found || field == name;
    if (found) continue;
    std::string list;
    for (std::string_view field : known) list.append(list.empty() ? "" : ", ").append(field);
    error = std::string(name) + ": unknown option; expected one of " + list;
    return false;
  }
  return true;
}

bool read_string(const rapidjson::Value& options, std::string_view field, bool required,
                 std::string& out, std::string& error) {
  const rapidjson::Value* value = find_member(options, field);
  if (!value) {
    if (required) error = std::string(field) + ": expected a string (required)";
    return !required;
  }
  if (!value->IsString()) {
    error = std::string(field) + ": expected a string";
    return false;
  }
  out = as_view(*value);
  return true;
}

bool read_header_object(const rapidjson::Value& headers, bool (*reserved)(std::string_view),
                        std::string_view reserved_by, http::HeaderList& out, std::string& error) {
  if (!headers.IsObject()) {
    error = "headers: expected an object of header names to string values";
    return false;
  }
  for (auto member = headers.MemberBegin(); member != headers.MemberEnd(); ++member) {
    const std::string_view name = as_view(member->name);
    const std::string where = "headers." + std::string(name);
    if (!http::is_token(name)) {
      error = where + ": expected a header name of letters, digits and !#$%&'*+-.^_`|~";
      return false;
    }
    if (reserved(name)) {
      error = where + ": set by " + std::string(reserved_by) + "; expected any other header";
      return false;
    }
    constexpr std::string_view kForbidden("\r\n\0", 3);
    if (!member->value.IsString() ||
        as_view(member->value).find_first_of(kForbidden) != std::string_view::npos) {
      error = where + ": expected a string without CR, LF or NUL";
      return false;
    }
    out.emplace_back(name, as_view(member->value));
  }
  return true;
}

bool read_integer(const rapidjson::Value& options, std::string_view field, int64_t min,
                  int64_t max, int64_t& out, std::string& error) {
  const rapidjson::Value* value = find_member(options, field);
  if (!value) return true;
  if (!value->IsInt64() || value->GetInt64() < min || value->GetInt64() > max) {
    error = std::string(field) + ": expected an integer " + std::to_string(min) + "-" +
            std::to_string(max);
    return false;
  }
  out = value->GetInt64();
  return true;
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  std::filesystem::path resolved(path);
  if (resolved.is_relative() && !base_dir.empty()) resolved = std::filesystem::path(base_dir) / resolved;
  std::error_code ec;
  std::string out = std::filesystem::absolute(resolved, ec).lexically_normal().string();
  if (ec) out = resolved.string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool read_readable_file(const rapidjson::Value& options, std::string_view field,
                        const std::string& base_dir, std::string& out, std::string& error) {
  std::string path;
  if (!read_string(options, field, false, path, error)) return false;
  if (!find_member(options, field)) return true;
  if (!path.empty()) path = resolve_path(path, base_dir);
  struct stat info {};
  if (path.empty() || ::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
      ::access(path.c_str(), R_OK) != 0) {
    error = std::string(field) + ": expected the path of a readable file, got \"" + path + "\"";
    return false;
  }
  out = std::move(path);
  return true;
}

bool read_directory(const rapidjson::Value& options, std::string_view field, int access_mode,
                    const std::string& base_dir, std::string& out, std::string& error) {
  std::string path;
  if (!read_string(options, field, true, path, error)) return false;
  const std::string wanted = (access_mode & W_OK) ? "writable" : "readable";
  const std::string expected = std::string(field) + ": expected an existing " + wanted + " directory";
  if (path.empty()) {
    error = expected + ", got \"\"";
    return false;
  }
  path = resolve_path(path, base_dir);
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    error = expected + "; " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISDIR(info.st_mode)) {
    error = expected + "; " + path + " is not a directory";
    return false;
  }
  // Searching (X_OK) is what opening a file inside needs.
  if (::access(path.c_str(), access_mode | X_OK) != 0) {
    error = expected + "; " + path + ": " + std::strerror(errno);
    return false;
  }
  out = std::move(path);
  return true;
}

}  // namespace aitools::services::options
