// Fuzz target: parse_env and the typed settings validation of build_config.
//
// Input: the text of an env file. Besides not crashing, parsing must round-trip: the entries
// written back as KEY="escaped value" lines parse to the same entries, and a valid config's
// effective values written back build the same settings.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/env_file.hpp"
#include "config/settings.hpp"
#include "test/fuzz/fuzz_check.hpp"

using namespace aitools::config;

namespace {

// The documented value inside double quotes: \n \t \r \\ \" are the escapes.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default: out += c;
    }
  }
  return out + '"';
}

template <typename Pairs>
std::string env_text(const Pairs& pairs) {
  std::string text;
  for (const auto& [key, value] : pairs) text += key + "=" + quoted(value) + "\n";
  return text;
}

// [A-Za-z_][A-Za-z0-9_.]*, spelled out: std::regex recurses once per character.
bool is_key(std::string_view key) {
  static constexpr std::string_view kLetters =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
  return !key.empty() && kLetters.find(key.front()) != std::string_view::npos &&
         key.find_first_not_of(std::string(kLetters) + "0123456789.") == std::string_view::npos;
}

void check_entries(std::string_view text, const std::vector<EnvEntry>& entries) {
  const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  int previous_line = 0;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const EnvEntry& entry : entries) {
    FUZZ_CHECK(is_key(entry.key));
    FUZZ_CHECK(entry.line > previous_line && entry.line <= lines);
    previous_line = entry.line;
    pairs.emplace_back(entry.key, entry.value);
  }

  const EnvParseResult again = parse_env(env_text(pairs));
  const auto* reparsed = std::get_if<std::vector<EnvEntry>>(&again);
  FUZZ_CHECK(reparsed && reparsed->size() == entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    FUZZ_CHECK((*reparsed)[i].key == entries[i].key);
    FUZZ_CHECK((*reparsed)[i].value == entries[i].value);
  }
}

void check_config(const std::string& text) {
  const ConfigLoadResult result = build_config(text, "fuzz.env", {}, nullptr);
  FUZZ_CHECK(result.ok() == result.errors.empty());
  if (!result.ok()) return;
  const Settings& settings = result.snapshot->settings;
  FUZZ_CHECK(settings.service_port >= 1);
  FUZZ_CHECK(settings.http_threads >= 1 && settings.http_threads <= 256);
  FUZZ_CHECK(settings.max_request_bytes >= 1 && settings.max_request_bytes <= (1u << 30));
  FUZZ_CHECK(restart_required(settings, settings).empty());
  FUZZ_CHECK(pin_restart_keys(settings, settings) == settings);
  FUZZ_CHECK(!resolve_services_dir(*result.snapshot).empty());
  for (const auto& [key, value] : result.snapshot->values)
    FUZZ_CHECK(result.snapshot->lookup(key) == value);

  const std::map<std::string, std::string> effective = result.snapshot->effective_values(false);
  const ConfigLoadResult again = build_config(env_text(effective), "again.env", {}, nullptr);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.snapshot->settings == settings);
  FUZZ_CHECK(again.snapshot->effective_values(false) == effective);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const EnvParseResult parsed = parse_env(text);
  if (const auto* error = std::get_if<EnvParseError>(&parsed)) {
    FUZZ_CHECK(error->line >= 1 && !error->message.empty());
  } else {
    check_entries(text, std::get<std::vector<EnvEntry>>(parsed));
  }
  check_config(text);
  return 0;
}
