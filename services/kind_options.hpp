#pragma once
// Reading a kind's `options` object field by field. Every error names the field and what was
// expected ("timeout_ms: expected an integer 1-600000"), as ServiceKind::compile reports it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/fwd.h>

#include "http/request.hpp"

namespace aitools::services::options {

// Refuses the first member of `options` (an object) whose name is not in `known`.
bool only_known(const rapidjson::Value& options, const std::vector<std::string_view>& known,
                std::string& error);

// A string member. Absent: an error when `required`, else `out` keeps its default.
bool read_string(const rapidjson::Value& options, std::string_view field, bool required,
                 std::string& out, std::string& error);

// The `headers` option: an object of header names to strings without CR, LF or NUL (they
// would split or cut the header line), appended to `out` in order. A name that is no token,
// or for which `reserved` is true, is refused as "set by <reserved_by>".
bool read_header_object(const rapidjson::Value& headers, bool (*reserved)(std::string_view),
                        std::string_view reserved_by, http::HeaderList& out, std::string& error);

// An optional integer member in [min, max]; absent: `out` keeps its default.
bool read_integer(const rapidjson::Value& options, std::string_view field, int64_t min,
                  int64_t max, int64_t& out, std::string& error);

// `path` made absolute: a relative one is taken from `base_dir` (RouteInfo::base_dir), or from
// the working directory when that is empty.
std::string resolve_path(const std::string& path, const std::string& base_dir);

// An optional path of a readable file (checked now, so that a wrong path quarantines the
// manifest instead of failing every request); absent: `out` keeps its default.
bool read_readable_file(const rapidjson::Value& options, std::string_view field,
                        const std::string& base_dir, std::string& out, std::string& error);

// A required directory that must exist and allow `access_mode` (R_OK, W_OK... of access(2));
// `out` is its absolute, normalized path (a relative one is taken from `base_dir`).
bool read_directory(const rapidjson::Value& options, std::string_view field, int access_mode,
                    const std::string& base_dir, std::string& out, std::string& error);

}  // namespace aitools::services::options
