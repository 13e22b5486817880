#pragma once
// The `files` kind: GET a file from one directory, named by the route's only path parameter
// (e.g. /aitools/v1/images/{name} serving the images image_generate stores). Options:
// {"dir": an existing readable directory, "max_bytes": 1-67108864 (default 8 MiB)}.
//
// The file is read on the HTTP thread: a bounded read (at most max_bytes) of a local file,
// the only blocking I/O a route does there. Larger files are not served (404).
#include <string_view>

namespace aitools::services::files {

constexpr size_t kDefaultMaxBytes = size_t{8} << 20;
constexpr size_t kMaxMaxBytes = size_t{64} << 20;

// A name that stays inside the directory and is not hidden: not empty, at most 255 bytes, no
// '/', '\\', "..", control characters or NUL, and no leading '.' (temporary files start with
// one).
bool is_servable_name(std::string_view name);

// The Content-Type for a file name's extension (case-insensitive); application/octet-stream
// for unknown ones. SVG and HTML are deliberately unknown: served from this origin they could
// run scripts.
std::string_view content_type_for(std::string_view name);

}  // namespace aitools::services::files
