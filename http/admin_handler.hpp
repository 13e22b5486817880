#pragma once
// The admin listener's request handler: copies each request into an immutable call and
// hands it, with its response writer, to the admin actor, which answers it.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <pistache/http.h>

#include "http/pistache_adapter.hpp"
#include "http/request.hpp"

namespace aitools::http {

// One admin request, from the admin listener or from CAF (actors/remote_admin.hpp).
struct AdminCall {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::string authorization;  // the Authorization header, "" if absent
  std::string body;
  // Answered exactly once by the admin actor: over HTTP, or (no writer) to `answer`.
  std::optional<Pistache::Http::ResponseWriter> writer;
  ReplyFrame frame;  // with the writer
  std::function<void(const Response&)> answer;
};
using AdminCallPtr = std::shared_ptr<AdminCall>;

class AdminHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(AdminHandler)

  explicit AdminHandler(caf::actor admin) : admin_(std::move(admin)) {}
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) override;

 private:
  caf::actor admin_;
};

}  // namespace aitools::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aitools::http::AdminCallPtr)
