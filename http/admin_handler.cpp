#include "http/admin_handler.hpp"

#include <caf/send.hpp>

#include "http/pistache_adapter.hpp"

namespace aitools::http {

void AdminHandler::onRequest(const Pistache::Http::Request& request,
                             Pistache::Http::ResponseWriter writer) {
  const PistacheRequest view(request);
  const auto query = view.query();
  auto call = std::make_shared<AdminCall>(AdminCall{
      std::string(view.method()), request.resource(),
      std::map<std::string, std::string>(query.begin(), query.end()),
      view.header("Authorization").value_or(""), request.body(), std::move(writer),
      reply_frame(request), {}});
  caf::anon_send(admin_, std::move(call));
}

}  // namespace aitools::http
