#pragma once
// Parsing of dotenv-style files: KEY=VALUE lines, # comments, blank lines, optional
// `export ` prefix, optional single or double quotes around the value.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace aitools::config {

struct EnvEntry {
  std::string key;
  std::string value;
  int line = 0;  // 1-based line in the file
};

struct EnvParseError {
  int line = 0;          // 1-based
  std::string message;   // what was expected, e.g. "expected KEY=VALUE"
};

// Entries in file order; a key may repeat (the last one wins when applied).
// Quoting rules:
//  - unquoted: the value is trimmed; an unquoted ` #` starts a comment;
//  - '...': taken literally, no escapes;
//  - "...": \n \t \r \\ \" escapes are honoured;
//  - after a closing quote only whitespace and an optional # comment may follow.
// Keys match [A-Za-z_][A-Za-z0-9_.]*.
using EnvParseResult = std::variant<std::vector<EnvEntry>, EnvParseError>;
EnvParseResult parse_env(std::string_view text);

}  // namespace aitools::config
