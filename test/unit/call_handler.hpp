#pragma once
// Calling route handlers in unit tests: FakeRequest, a request made of plain fields, and
// call(), which runs a handler the way the HTTP front does and returns its answer: at once for
// handlers that answer synchronously, or once the Completion is completed (at most 5 s).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>
#include <stdexcept>

#include "services/service_kind.hpp"

namespace aitools::test {

// A request with plain fields; header() is case-insensitive like the real adapter.
struct FakeRequest final : http::Request {
  std::string method_name = "GET";
  std::string target = "/";
  http::HeaderList query_list;
  http::HeaderList header_list;
  std::string content;

  std::string_view method() const override { return method_name; }
  std::string_view path() const override { return target; }
  http::HeaderList query() const override { return query_list; }
  http::HeaderList headers() const override { return header_list; }
  std::optional<std::string> header(std::string_view name) const override {
    for (const auto& [key, value] : header_list)
      if (std::equal(
              key.begin(), key.end(), name.begin(), name.end(),
              [](unsigned char a, unsigned char b) { return std::tolower(a) == std::tolower(b); }))
        return value;
    return std::nullopt;
  }
  std::string_view body() const override { return content; }
};

class WaitingDeferral final : public http::Deferral {
 public:
  http::CompletionPtr defer() override {
    if (taken_) throw std::logic_error("defer() called twice");
    taken_ = true;
    return std::make_shared<Recorder>(promise_);
  }
  bool taken() const { return taken_; }
  http::Response wait() {
    auto future = promise_.get_future();
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
      throw std::runtime_error("deferred response not completed within 5 s");
    return future.get();
  }

 private:
  class Recorder final : public http::Completion {
   public:
    explicit Recorder(std::promise<http::Response>& promise) : promise_(promise) {}
    ~Recorder() override { complete(http::Response{500, "", {}, "dropped", {}}); }
    void complete(http::Response response) override {
      if (!done_) promise_.set_value(std::move(response));
      done_ = true;
    }

   private:
    std::promise<http::Response>& promise_;
    bool done_ = false;
  };

  std::promise<http::Response> promise_;
  bool taken_ = false;
};

inline http::Response call(const services::RouteHandler& handler, const http::Request& request,
                           const http::Params& params = {}) {
  WaitingDeferral deferral;
  auto response = handler.handle(request, params, deferral);
  if (response) return *std::move(response);
  if (!deferral.taken()) throw std::logic_error("handler returned no response and did not defer");
  return deferral.wait();
}

}  // namespace aitools::test
