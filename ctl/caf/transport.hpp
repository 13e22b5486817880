#pragma once
// aitools-ctl --node HOST:PORT: the admin API over CAF, through the server's published remote
// admin actor (actors/remote_admin.hpp). It maps each admin request onto its typed message,
// so the commands, their output and exit codes are the same as over HTTP.
#include <memory>
#include <string>

#include "ctl/transport.hpp"

namespace aitools::ctl {

class CafTransport final : public Transport {
 public:
  // `node` is HOST:PORT. Connects on the first request.
  CafTransport(std::string node, std::string token, std::chrono::milliseconds timeout);
  ~CafTransport() override;
  AdminAnswer send(const AdminRequest& request) override;

 private:
  struct System;  // the CAF actor system and the remote actor, built on first use
  std::string node_;
  std::string token_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<System> system_;
};

}  // namespace aitools::ctl
