#include "services/catalog.hpp"

namespace aitools::services {

namespace {
// A function-local static: kinds register from other translation units' static
// initialisers, which may run before this file's globals would be constructed.
Catalog& builtin_catalog() {
  static Catalog catalog;
  return catalog;
}
}  // namespace

const Catalog& Catalog::builtin() { return builtin_catalog(); }

bool Catalog::register_builtin(std::shared_ptr<const ServiceKind> kind) {
  builtin_catalog().add(std::move(kind));
  return true;
}

const ServiceKind* Catalog::find(std::string_view name) const {
  auto it = kinds_.find(name);
  return it == kinds_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> names;
  names.reserve(kinds_.size());
  for (const auto& entry : kinds_) names.push_back(entry.first);
  return names;
}

// A kind with a name already present replaces the earlier one.
void Catalog::add(std::shared_ptr<const ServiceKind> kind) {
  std::string name(kind->name());
  kinds_[std::move(name)] = std::move(kind);
}

void Catalog::remove(std::string_view name) {
  auto it = kinds_.find(name);
  if (it != kinds_.end()) kinds_.erase(it);
}

}  // namespace aitools::services
