#pragma once
// The catalog of service kinds by name.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "services/service_kind.hpp"

namespace aitools::services {

class Catalog {
 public:
  // The kinds compiled into the library (every services/*.cpp that registers itself).
  static const Catalog& builtin();
  // Used by AITOOLS_REGISTER_KIND during static initialisation.
  static bool register_builtin(std::shared_ptr<const ServiceKind> kind);

  const ServiceKind* find(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted
  void add(std::shared_ptr<const ServiceKind> kind);
  void remove(std::string_view name);

 private:
  std::map<std::string, std::shared_ptr<const ServiceKind>, std::less<>> kinds_;
};

}  // namespace aitools::services

#define AITOOLS_REGISTER_KIND(KindClass)                                               \
  namespace {                                                                          \
  const bool kind_registered_ =                                                        \
      ::aitools::services::Catalog::register_builtin(std::make_shared<KindClass>());   \
  }
