#include "http/request_value.hpp"

namespace aitools::http {

RequestValue::RequestValue(const Request& request, const Params& params)
    : method_(request.method()),
      path_(request.path()),
      query_(request.query()),
      headers_(request.headers()),
      body_(request.body()) {
  param_storage_.reserve(params.size());
  for (const auto& [name, value] : params) param_storage_.emplace_back(name, value);
  params_.reserve(param_storage_.size());
  for (const auto& [name, value] : param_storage_) params_.emplace_back(name, value);
}

std::optional<std::string> RequestValue::header(std::string_view name) const {
  for (const auto& [key, value] : headers_)
    if (iequals(key, name)) return value;
  return std::nullopt;
}

}  // namespace aitools::http
