#include "config/env_file.hpp"

#include <optional>

namespace aitools::config {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kBlanks = " \t";

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  const size_t first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kBlanks) - first + 1);
}

// ASCII only: the locale must not change what a valid key is.
bool is_key_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_key_char(char c) { return is_key_start(c) || (c >= '0' && c <= '9') || c == '.'; }

bool is_valid_key(std::string_view key) {
  if (key.empty() || !is_key_start(key.front())) return false;
  for (char c : key)
    if (!is_key_char(c)) return false;
  return true;
}

// Inside double quotes; an unknown escape is kept as written so that e.g. "C:\dir" survives.
void append_escape(std::string& out, char c) {
  switch (c) {
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    case 'r': out += '\r'; break;
    case '\\': out += '\\'; break;
    case '"': out += '"'; break;
    default: out += '\\'; out += c;
  }
}

// `text` starts with the opening quote. Returns the error message, if any.
std::optional<std::string> parse_quoted(std::string_view text, std::string& value) {
  const char quote = text.front();
  size_t i = 1;
  for (; i < text.size() && text[i] != quote; ++i) {
    if (quote == '"' && text[i] == '\\' && i + 1 < text.size())
      append_escape(value, text[++i]);
    else
      value += text[i];
  }
  if (i == text.size())
    return quote == '"' ? "unterminated double quote" : "unterminated single quote";
  const std::string_view rest = trim(text.substr(i + 1));
  if (!rest.empty() && rest.front() != '#')
    return "unexpected text after the closing quote: expected a # comment or the end of the line";
  return std::nullopt;
}

// `text` is everything after the '='. Returns the error message, if any.
std::optional<std::string> parse_value(std::string_view text, std::string& value) {
  const std::string_view trimmed = trim(text);
  if (!trimmed.empty() && (trimmed.front() == '"' || trimmed.front() == '\''))
    return parse_quoted(trimmed, value);
  // Unquoted: a '#' preceded by whitespace starts a comment; "a#b" keeps its '#'.
  size_t hash = text.find('#');
  while (hash != std::string_view::npos && (hash == 0 || !is_blank(text[hash - 1])))
    hash = text.find('#', hash + 1);
  value = trim(text.substr(0, hash));
  return std::nullopt;
}

// One non-blank, non-comment line. Returns the error message, if any.
std::optional<std::string> parse_assignment(std::string_view line, EnvEntry& entry) {
  constexpr std::string_view kExport = "export";
  if (line.size() > kExport.size() && line.substr(0, kExport.size()) == kExport &&
      is_blank(line[kExport.size()]))
    line = trim(line.substr(kExport.size()));
  const size_t equals = line.find('=');
  if (equals == std::string_view::npos) return "expected KEY=VALUE";
  const std::string_view key = trim(line.substr(0, equals));
  if (key.empty()) return "expected KEY=VALUE";
  if (!is_valid_key(key))
    return "invalid key \"" + std::string(key) + "\": expected [A-Za-z_][A-Za-z0-9_.]*";
  entry.key = key;
  return parse_value(line.substr(equals + 1), entry.value);
}

}  // namespace

EnvParseResult parse_env(std::string_view text) {
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  std::vector<EnvEntry> entries;
  int line_number = 0;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    EnvEntry entry;
    entry.line = line_number;
    if (auto error = parse_assignment(line, entry)) return EnvParseError{line_number, *error};
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace aitools::config
