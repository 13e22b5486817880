#include "config/settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <thread>
#include <type_traits>

#include "config/env_file.hpp"

namespace aitools::config {

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max) {
  if (text.empty()) return std::nullopt;
  uint64_t number = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<uint64_t>(c - '0');
    if (number > max) return std::nullopt;  // every max is far below 2^64 / 10: no wrap-around
  }
  if (number < min) return std::nullopt;
  return number;
}

namespace {

// ---- value parsers: each returns nullopt when the text is not acceptable ----

std::string to_lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

std::optional<bool> parse_bool(const std::string& text) {
  const std::string lower = to_lower(text);
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  return std::nullopt;
}

constexpr LogLevel kLogLevels[] = {LogLevel::debug, LogLevel::info, LogLevel::warn,
                                   LogLevel::error};

std::optional<LogLevel> parse_log_level(const std::string& text) {
  const std::string lower = to_lower(text);
  for (LogLevel level : kLogLevels)
    if (lower == to_string(level)) return level;
  return std::nullopt;
}

constexpr ConfigSource kConfigSources[] = {ConfigSource::file, ConfigSource::polaris,
                                           ConfigSource::etcd};

std::optional<ConfigSource> parse_config_source(const std::string& text) {
  const std::string lower = to_lower(text);
  for (ConfigSource source : kConfigSources)
    if (lower == to_string(source)) return source;
  return std::nullopt;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Dotted quad; leading zeros are refused because some resolvers read them as octal.
bool is_ipv4(std::string_view text) {
  const auto octets = split(text, '.');
  return octets.size() == 4 &&
         std::all_of(octets.begin(), octets.end(), [](std::string_view octet) {
           return (octet.size() == 1 || octet.front() != '0') && parse_uint(octet, 0, 255);
         });
}

// RFC 1123 labels of [A-Za-z0-9-], no label starting or ending with '-'.
bool is_hostname(std::string_view text) {
  const auto labels = split(text, '.');
  return text.size() <= 253 &&
         std::all_of(labels.begin(), labels.end(), [](std::string_view label) {
           const auto is_label_char = [](char c) {
             return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-';
           };
           return !label.empty() && label.size() <= 63 && label.front() != '-' &&
                  label.back() != '-' && std::all_of(label.begin(), label.end(), is_label_char);
         });
}

std::optional<std::string> parse_host(const std::string& text) {
  // All digits and dots: it must be an IPv4 address, not a "hostname" such as 999.1.1.1.
  const bool numeric = !text.empty() && text.find_first_not_of("0123456789.") == std::string::npos;
  if (numeric ? is_ipv4(text) : is_hostname(text)) return text;
  return std::nullopt;
}

// scheme://host[:port][/path] with one of `schemes`, no spaces, query or fragment; the
// trailing slash is dropped. Only the shape is checked: the source reports what it cannot reach.
std::optional<std::string> parse_base_url(const std::string& text,
                                          std::initializer_list<std::string_view> schemes) {
  for (std::string_view scheme : schemes) {
    if (text.compare(0, scheme.size(), scheme) != 0) continue;
    const std::string_view rest = std::string_view(text).substr(scheme.size());
    const size_t host_end = rest.find('/');
    const std::string_view authority = rest.substr(0, host_end);
    if (authority.empty() || authority.front() == ':' ||
        text.find_first_of(" \t?#@") != std::string::npos)
      return std::nullopt;
    if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos &&
                                                   !parse_uint(authority.substr(colon + 1), 1, 65535))
      return std::nullopt;
    std::string url = text;
    while (url.size() > scheme.size() + authority.size() && url.back() == '/') url.pop_back();
    return url;
  }
  return std::nullopt;
}

std::optional<std::string> parse_polaris_url(const std::string& text) {
  if (text.empty()) return text;  // checked against CONFIG_SOURCE in build_config
  return parse_base_url(text, {"http://", "https://"});
}

std::optional<std::string> parse_etcd_endpoints(const std::string& text) {
  std::string joined;
  for (std::string_view part : split(text, ',')) {
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto url = parse_base_url(std::string(part), {"http://"});
    if (!url || url->find('/', 7) != std::string::npos) return std::nullopt;
    joined += (joined.empty() ? "" : ",") + *url;
  }
  return joined;
}

// "/a/b": absolute, no trailing slash, no empty segment, printable ASCII without spaces.
std::optional<std::string> parse_etcd_prefix(const std::string& text) {
  if (text.size() < 2 || text.front() != '/' || text.back() == '/' ||
      text.find("//") != std::string::npos)
    return std::nullopt;
  for (char c : text)
    if (c <= ' ' || c > '~') return std::nullopt;
  return text;
}

// Printable ASCII without spaces or '/', at most 128 bytes (it is an etcd key segment).
std::optional<std::string> parse_node_id(const std::string& text) {
  if (text.size() > 128) return std::nullopt;
  for (char c : text)
    if (c <= ' ' || c > '~' || c == '/') return std::nullopt;
  return text;
}

std::optional<std::string> parse_any(const std::string& text) { return text; }
std::string render_as_is(const std::string& text) { return text; }

// ---- the known keys, table-driven so that every per-key operation stays in one place ----

struct KeySpec {
  std::string name;
  bool restart;          // a change needs a restart
  std::string expected;  // what a valid value looks like, for error messages
  std::function<bool(const std::string& raw, Settings&)> assign;  // false when `raw` is invalid
  std::function<std::string(const Settings&)> render;
  std::function<bool(const Settings&, const Settings&)> equal;
  std::function<void(Settings& to, const Settings& from)> copy;
};

template <class T, class Parse, class Render>
KeySpec make_key(std::string name, bool restart, T Settings::*field, std::string expected,
                 Parse parse, Render render) {
  return {
      std::move(name),
      restart,
      std::move(expected),
      [field, parse](const std::string& raw, Settings& settings) {
        std::optional<T> value = parse(raw);
        if (value) settings.*field = *value;
        return value.has_value();
      },
      [field, render](const Settings& settings) { return std::string(render(settings.*field)); },
      [field](const Settings& a, const Settings& b) { return a.*field == b.*field; },
      [field](Settings& to, const Settings& from) { to.*field = from.*field; }};
}

// `T` is an unsigned integer or a std::chrono::duration counted in the key's unit.
template <class T>
KeySpec integer_key(std::string name, bool restart, T Settings::*field, uint64_t min,
                    uint64_t max) {
  return make_key(
      std::move(name), restart, field,
      "an integer " + std::to_string(min) + "-" + std::to_string(max),
      [min, max](const std::string& raw) -> std::optional<T> {
        if (auto number = parse_uint(raw, min, max)) return static_cast<T>(*number);
        return std::nullopt;
      },
      [](const T& value) {
        if constexpr (std::is_integral_v<T>)
          return std::to_string(value);
        else
          return std::to_string(value.count());
      });
}

// A restart-only string key that takes any value (the config source's own settings).
KeySpec any_key(std::string name, std::string Settings::*field) {
  return make_key(std::move(name), true, field, "any string", parse_any, render_as_is);
}

KeySpec host_key(std::string name, std::string Settings::*field) {
  return make_key(std::move(name), true, field,
                  "an IPv4 address, localhost or a hostname of [A-Za-z0-9.-]", parse_host,
                  render_as_is);
}

const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = {
      host_key("SERVICE_HOST", &Settings::service_host),
      integer_key("SERVICE_PORT", true, &Settings::service_port, 1, 65535),
      integer_key("HTTP_THREADS", true, &Settings::http_threads, 1, 256),
      host_key("ADMIN_HOST", &Settings::admin_host),
      integer_key("ADMIN_PORT", true, &Settings::admin_port, 0, 65535),
      make_key("ADMIN_TOKEN", false, &Settings::admin_token, "any string", parse_any, render_as_is),
      host_key("CAF_ADMIN_HOST", &Settings::caf_admin_host),
      integer_key("CAF_ADMIN_PORT", true, &Settings::caf_admin_port, 0, 65535),
      make_key("HOT_RELOAD_ENABLE", false, &Settings::hot_reload_enable,
               "true, false, 1, 0, yes or no", parse_bool,
               [](bool value) { return value ? "true" : "false"; }),
      integer_key("RELOAD_DEBOUNCE_MS", false, &Settings::reload_debounce, 0, 60000),
      integer_key("RESCAN_INTERVAL_S", false, &Settings::rescan_interval, 0, 86400),
      integer_key("MAX_REQUEST_BYTES", false, &Settings::max_request_bytes, 1, 1073741824),
      // Pistache checks its timeouts every 500 ms, so shorter values would only pretend.
      integer_key("HEADER_TIMEOUT_MS", true, &Settings::header_timeout, 500, 3600000),
      integer_key("BODY_TIMEOUT_MS", true, &Settings::body_timeout, 500, 3600000),
      integer_key("KEEPALIVE_TIMEOUT_MS", true, &Settings::keepalive_timeout, 500, 3600000),
      integer_key("SHUTDOWN_GRACE_MS", false, &Settings::shutdown_grace, 0, 3600000),
      integer_key("HISTORY_SIZE", false, &Settings::history_size, 1, 1000),
      make_key("LOG_LEVEL", false, &Settings::log_level, "debug, info, warn or error",
               parse_log_level, [](LogLevel level) { return to_string(level); }),
      make_key("SERVICES_DIR", true, &Settings::services_dir, "any string", parse_any,
               render_as_is),
      make_key("DOCS_ENABLE", false, &Settings::docs_enable, "true, false, 1, 0, yes or no",
               parse_bool, [](bool value) { return value ? "true" : "false"; }),
      make_key("OPENAPI_TITLE", false, &Settings::openapi_title, "any string", parse_any,
               render_as_is),
      make_key("DOCS_UI_DIR", false, &Settings::docs_ui_dir, "any string", parse_any,
               render_as_is),
      make_key("CONFIG_SOURCE", true, &Settings::config_source, "file, polaris or etcd",
               parse_config_source, [](ConfigSource source) { return to_string(source); }),
      integer_key("CONFIG_WATCH_INTERVAL", false, &Settings::config_watch_interval, 1, 86400),
      integer_key("CONFIG_SOURCE_TIMEOUT_MS", true, &Settings::config_source_timeout, 100, 600000),
      make_key("POLARIS_URL", true, &Settings::polaris_url,
               "an http:// or https:// URL without query or credentials", parse_polaris_url,
               render_as_is),
      any_key("POLARIS_USERNAME", &Settings::polaris_username),
      any_key("POLARIS_PASSWORD", &Settings::polaris_password),
      any_key("PROJECT_NAME", &Settings::project_name),
      any_key("POLARIS_CLUSTER", &Settings::polaris_cluster),
      any_key("SERVICE_SUB", &Settings::service_sub),
      any_key("VERSION", &Settings::version),
      any_key("CONFIG_FILE", &Settings::config_file),
      make_key("ETCD_ENDPOINTS", true, &Settings::etcd_endpoints,
               "comma-separated http://HOST:PORT URLs", parse_etcd_endpoints, render_as_is),
      make_key("ETCD_PREFIX", true, &Settings::etcd_prefix,
               "an absolute key prefix such as /aitools/prod (no trailing slash or spaces)",
               parse_etcd_prefix, render_as_is),
      make_key("NODE_ID", true, &Settings::node_id,
               "at most 128 printable characters without spaces or '/'", parse_node_id,
               render_as_is),
      integer_key("ACK_TTL_S", true, &Settings::ack_ttl, 2, 3600),
  };
  return specs;
}

std::vector<std::string> key_names(bool restart_only) {
  std::vector<std::string> names;
  for (const KeySpec& spec : key_specs())
    if (spec.restart || !restart_only) names.push_back(spec.name);
  return names;
}

unsigned default_http_threads() {
  return std::clamp(std::thread::hardware_concurrency(), 1u, 256u);
}

std::optional<std::string> read_environment(const EnvLookup& environment, const std::string& key) {
  return environment ? environment(key) : std::nullopt;
}

// A known key's raw text and where it came from ("FILE:LINE", "environment", "command line").
struct RawValue {
  std::string text;
  std::string origin;
};

std::optional<RawValue> raw_value(const std::string& key, const std::string& path,
                                  const std::map<std::string, EnvEntry>& file,
                                  const std::map<std::string, std::string>& overrides,
                                  const EnvLookup& environment, const RemoteValues& remote) {
  if (auto flag = overrides.find(key); flag != overrides.end())
    return RawValue{flag->second, "command line"};
  if (auto value = read_environment(environment, key)) return RawValue{*value, "environment"};
  if (auto value = remote.find(key); value != remote.end())
    return RawValue{value->second.text, value->second.origin};
  if (auto entry = file.find(key); entry != file.end())
    return RawValue{entry->second.value, path + ":" + std::to_string(entry->second.line)};
  return std::nullopt;
}

ConfigLoadResult failure(std::string error) {
  ConfigLoadResult result;
  result.errors.push_back(std::move(error));
  return result;
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

const char* to_string(ConfigSource source) {
  switch (source) {
    case ConfigSource::file: return "file";
    case ConfigSource::polaris: return "polaris";
    case ConfigSource::etcd: return "etcd";
  }
  return "file";
}

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

bool Settings::operator==(const Settings& other) const {
  const auto& specs = key_specs();
  return std::all_of(specs.begin(), specs.end(),
                     [&](const KeySpec& spec) { return spec.equal(*this, other); });
}

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = key_names(false);
  return keys;
}

const std::vector<std::string>& restart_keys() {
  static const std::vector<std::string> keys = key_names(true);
  return keys;
}

EnvLookup process_environment() {
  return [](const std::string& key) -> std::optional<std::string> {
    if (const char* value = std::getenv(key.c_str())) return std::string(value);
    return std::nullopt;
  };
}

std::optional<std::string> ConfigSnapshot::lookup(const std::string& key) const {
  if (auto flag = overrides.find(key); flag != overrides.end()) return flag->second;
  if (auto value = read_environment(environment, key)) return value;
  if (auto value = values.find(key); value != values.end()) return value->second;
  return std::nullopt;
}

std::map<std::string, std::string> ConfigSnapshot::effective_values(bool redact) const {
  std::map<std::string, std::string> result = values;  // known keys are overwritten just below
  for (const KeySpec& spec : key_specs()) result[spec.name] = spec.render(settings);
  if (redact)
    for (auto& [key, value] : result)
      if (!value.empty() && is_secret_key(key)) value = "***";
  return result;
}

bool is_secret_key(const std::string& key) {
  const std::string lower = to_lower(key);
  for (const char* marker : {"secret", "key", "token", "password"})
    if (lower.find(marker) != std::string::npos) return true;
  return false;
}

ConfigLoadResult build_config(const std::string& text, const std::string& path,
                              const std::map<std::string, std::string>& overrides,
                              const EnvLookup& environment, const RemoteValues& remote) {
  EnvParseResult parsed = parse_env(text);
  if (const auto* error = std::get_if<EnvParseError>(&parsed))
    return failure(path + ":" + std::to_string(error->line) + ": " + error->message);

  std::map<std::string, EnvEntry> file;  // the last occurrence of each key wins
  for (EnvEntry& entry : std::get<std::vector<EnvEntry>>(parsed))
    file[entry.key] = std::move(entry);

  auto snapshot = std::make_shared<ConfigSnapshot>();
  snapshot->path = path;
  snapshot->overrides = overrides;
  snapshot->environment = environment;
  for (const auto& [key, entry] : file)
    snapshot->values[key] = read_environment(environment, key).value_or(entry.value);
  for (const auto& [key, value] : remote)
    snapshot->values[key] = read_environment(environment, key).value_or(value.text);

  ConfigLoadResult result;
  snapshot->settings.http_threads = default_http_threads();
  for (const KeySpec& spec : key_specs()) {
    const auto raw = raw_value(spec.name, path, file, overrides, environment, remote);
    if (!raw || spec.assign(raw->text, snapshot->settings)) continue;
    result.errors.push_back(raw->origin + ": " + spec.name + "=\"" + raw->text + "\": expected " +
                            spec.expected);
  }
  const Settings& settings = snapshot->settings;
  if (settings.config_source == ConfigSource::polaris && settings.polaris_url.empty())
    result.errors.push_back(path + ": CONFIG_SOURCE=polaris: expected POLARIS_URL to be set");
  if (result.errors.empty()) result.snapshot = std::move(snapshot);
  return result;
}

ConfigLoadResult load_config(const std::string& path,
                             const std::map<std::string, std::string>& overrides,
                             const EnvLookup& environment, const RemoteValues& remote) {
  // Takes errno as an argument so that building the message cannot clobber it first.
  const auto read_error = [&path](int error) {
    return failure(path + ": cannot read config file: " + std::strerror(error));
  };
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return read_error(errno);
  std::string text;
  char buffer[65536];
  while (size_t count = std::fread(buffer, 1, sizeof buffer, file.get()))
    text.append(buffer, count);
  if (std::ferror(file.get())) return read_error(errno);  // e.g. EISDIR: fopen accepts a directory
  return build_config(text, path, overrides, environment, remote);
}

std::vector<std::string> etcd_endpoints(const Settings& settings) {
  std::vector<std::string> urls;
  for (std::string_view url : split(settings.etcd_endpoints, ',')) urls.emplace_back(url);
  return urls;
}

namespace {
std::string host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}
}  // namespace

std::string node_name(const Settings& settings, uint16_t port) {
  if (!settings.node_id.empty()) return settings.node_id;
  return host_name() + ":" + std::to_string(port);
}

std::string node_address(const Settings& settings, uint16_t port) {
  const bool wildcard = settings.service_host == "0.0.0.0";
  return (wildcard ? host_name() : settings.service_host) + ":" + std::to_string(port);
}

std::vector<std::string> restart_required(const Settings& running, const Settings& candidate) {
  std::vector<std::string> changed;
  for (const KeySpec& spec : key_specs())
    if (spec.restart && !spec.equal(running, candidate)) changed.push_back(spec.name);
  return changed;
}

Settings pin_restart_keys(Settings candidate, const Settings& running) {
  for (const KeySpec& spec : key_specs())
    if (spec.restart) spec.copy(candidate, running);
  return candidate;
}

namespace {

// `path` as is when absolute, else relative to the env file's directory.
std::string beside_env_file(const ConfigSnapshot& config, const std::filesystem::path& path) {
  std::filesystem::path base = std::filesystem::path(config.path).parent_path();
  if (base.empty()) base = ".";
  return (path.is_absolute() ? path : base / path).lexically_normal().string();
}

}  // namespace

std::string resolve_services_dir(const ConfigSnapshot& config) {
  const std::string& configured = config.settings.services_dir;
  return beside_env_file(config, configured.empty() ? "services" : configured);
}

std::vector<std::string> resolve_docs_ui_dirs(const ConfigSnapshot& config) {
  const std::string& configured = config.settings.docs_ui_dir;
  if (!configured.empty()) return {beside_env_file(config, configured)};
  return {beside_env_file(config, "swagger-ui"),
          beside_env_file(config, "../web/node_modules/swagger-ui-dist")};
}

}  // namespace aitools::config
