#pragma once
// HTTP methods a route can declare, and a compact set of them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aitools::http {

enum class Method : uint8_t { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS };
constexpr int kMethodCount = 7;

std::string_view to_string(Method m);
// Exact, upper-case names only ("GET", not "get").
std::optional<Method> parse_method(std::string_view name);

class MethodSet {
 public:
  constexpr MethodSet() = default;
  void add(Method m) { bits_ |= bit(m); }
  bool has(Method m) const { return (bits_ & bit(m)) != 0; }
  bool empty() const { return bits_ == 0; }
  MethodSet operator|(MethodSet o) const { MethodSet r; r.bits_ = bits_ | o.bits_; return r; }
  MethodSet operator&(MethodSet o) const { MethodSet r; r.bits_ = bits_ & o.bits_; return r; }
  bool operator==(MethodSet o) const { return bits_ == o.bits_; }
  // "GET, HEAD, POST" in enum order (for the Allow header).
  std::string to_string() const;

 private:
  static constexpr uint8_t bit(Method m) { return uint8_t(1u << static_cast<uint8_t>(m)); }
  uint8_t bits_ = 0;
};

}  // namespace aitools::http
