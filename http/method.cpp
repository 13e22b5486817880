#include "http/method.hpp"

#include <array>

namespace aitools::http {

namespace {
constexpr std::array<std::string_view, kMethodCount> kNames = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
}

std::string_view to_string(Method m) { return kNames[static_cast<size_t>(m)]; }

std::optional<Method> parse_method(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Method>(i);
  return std::nullopt;
}

std::string MethodSet::to_string() const {
  std::string out;
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (!has(static_cast<Method>(i))) continue;
    if (!out.empty()) out += ", ";
    out += kNames[i];
  }
  return out;
}

}  // namespace aitools::http
