// The `files` kind (services/files_kind.hpp): serves the files of one directory by name.
#include "services/files_kind.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include "services/catalog.hpp"
#include "services/kind_options.hpp"

namespace aitools::services {

namespace files {

bool is_servable_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.' ||
      name.find("..") != std::string_view::npos)
    return false;
  for (char c : name)
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

std::string_view content_type_for(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"png", "image/png"},        {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},        {"webp", "image/webp"},      {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},        {"pdf", "application/pdf"},  {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown; charset=utf-8"}};
  const size_t dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    std::string extension(name.substr(dot + 1));
    for (char& c : extension) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    for (const auto& [known, type] : kTypes)
      if (extension == known) return type;
  }
  return "application/octet-stream";
}

}  // namespace files

namespace {

http::Response not_found() {
  return {404, "application/json", {}, R"({"detail":"Not Found"})", {}};
}

class FilesHandler final : public RouteHandler {
 public:
  FilesHandler(std::string dir, size_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  std::optional<http::Response> handle(const http::Request&, const http::Params& params,
                                       http::Deferral&) const override {
    const std::string_view name = params.empty() ? std::string_view() : params.front().second;
    if (!files::is_servable_name(name)) return not_found();
    const std::string path = dir_ + "/" + std::string(name);
    // O_NOFOLLOW: a symbolic link could lead out of the directory. O_NONBLOCK: opening a FIFO
    // must not wait for a writer (it is refused below, as everything but a regular file).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return not_found();
    http::Response response;
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) ||
        static_cast<uint64_t>(info.st_size) > max_bytes_ || !read_all(fd, response.body)) {
      ::close(fd);
      return not_found();
    }
    ::close(fd);
    response.content_type = files::content_type_for(name);
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return response;
  }

 private:
  // Reads to the end, but never more than max_bytes_ (the file may grow meanwhile).
  bool read_all(int fd, std::string& out) const {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n == 0) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || out.size() + static_cast<size_t>(n) > max_bytes_) return false;
      out.append(buffer, static_cast<size_t>(n));
    }
  }

  std::string dir_;
  size_t max_bytes_;
};

class FilesKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "files"; }

  RouteHandlerPtr compile(const rapidjson::Value* options, const RouteInfo& route,
                          std::string& error) const override {
    if (route.param_names.size() != 1) {
      error = "path: expected the route path to have exactly one {param} naming the file, e.g. "
              "/images/{name}";
      return nullptr;
    }
    if (!options || !options->IsObject()) {
      error = "dir: expected an existing readable directory (required)";
      return nullptr;
    }
    std::string dir;
    int64_t max_bytes = static_cast<int64_t>(files::kDefaultMaxBytes);
    if (!options::only_known(*options, {"dir", "max_bytes"}, error) ||
        !options::read_directory(*options, "dir", R_OK, route.base_dir, dir, error) ||
        !options::read_integer(*options, "max_bytes", 1, static_cast<int64_t>(files::kMaxMaxBytes),
                               max_bytes, error))
      return nullptr;
    return std::make_shared<FilesHandler>(std::move(dir), static_cast<size_t>(max_bytes));
  }
};

}  // namespace

AITOOLS_REGISTER_KIND(FilesKind)

}  // namespace aitools::services
