#pragma once
// An owned, immutable copy of a request and its path parameters: what a handler sends to an
// actor (which may answer on any thread, after the HTTP thread has moved on).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/request.hpp"

namespace aitools::http {

class RequestValue final : public Request {
 public:
  RequestValue(const Request& request, const Params& params);
  RequestValue(const RequestValue&) = delete;
  RequestValue& operator=(const RequestValue&) = delete;

  std::string_view method() const override { return method_; }
  std::string_view path() const override { return path_; }
  HeaderList query() const override { return query_; }
  HeaderList headers() const override { return headers_; }
  std::optional<std::string> header(std::string_view name) const override;
  std::string_view body() const override { return body_; }
  // The matched route's parameters (views into this value).
  const Params& params() const { return params_; }

 private:
  std::string method_;
  std::string path_;
  HeaderList query_;
  HeaderList headers_;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> param_storage_;
  Params params_;
};
using RequestValuePtr = std::shared_ptr<const RequestValue>;

}  // namespace aitools::http
