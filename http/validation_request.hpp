#pragma once
// The body of POST /admin/validate (docs/admin-api.md), as its clients write it: aitools-ctl,
// the remote admin actor and the tests. Header-only on RapidJSON, so the ctl's HTTP side and
// the integration tests use it without linking the server library.
#include <string>
#include <utility>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace aitools::http {

// `files`: (name, content) given by content; `paths`: read by the server; `replace`: they stand
// for the whole services directory. Empty `files` or `paths` are left out.
inline std::string validation_request_json(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<std::string>& paths, bool replace) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  const auto string = [&w](const std::string& s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  if (!files.empty()) {
    w.Key("files");
    w.StartArray();
    for (const auto& [name, content] : files) {
      w.StartObject();
      w.Key("name");
      string(name);
      w.Key("content");
      string(content);
      w.EndObject();
    }
    w.EndArray();
  }
  if (!paths.empty()) {
    w.Key("paths");
    w.StartArray();
    for (const auto& path : paths) string(path);
    w.EndArray();
  }
  w.Key("replace");
  w.Bool(replace);
  w.EndObject();
  return buffer.GetString();
}

}  // namespace aitools::http
