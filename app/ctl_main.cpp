// aitools-ctl: the operator's client for the admin API of a running aitools-server.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "ctl/caf/transport.hpp"
#include "ctl/cli.hpp"
#include "ctl/cluster.hpp"
#include "ctl/commands.hpp"
#include "ctl/http_client.hpp"

namespace {

std::optional<std::string> environment(const char* key) {
  const char* value = std::getenv(key);
  return value ? std::optional<std::string>(value) : std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace aitools::ctl;
  try {
    Invocation invocation;
    std::string error;
    if (!parse_command_line({argv + 1, argv + argc},
                            {environment("AITOOLS_ADMIN"), environment("AITOOLS_ADMIN_TOKEN"),
                             environment("AITOOLS_ETCD"), environment("AITOOLS_ETCD_PREFIX")},
                            invocation, error)) {
      std::cerr << "aitools-ctl: " << error << "\n\n" << kUsage;
      return kFailed;
    }
    if (invocation.help) {
      std::cout << kUsage;
      return kOk;
    }
    if (is_etcd_command(invocation.command))
      return run_etcd_command(invocation, std::cout, std::cerr);
    if (!invocation.node.empty()) {
      CafTransport transport(invocation.node, invocation.token, invocation.timeout);
      return run_command(invocation, transport, std::cout, std::cerr);
    }
    const auto url = parse_admin_url(invocation.admin, error);
    if (!url) {
      std::cerr << "aitools-ctl: --admin: " << error << "\n";
      return kFailed;
    }
    HttpTransport transport(*url, invocation.token, invocation.timeout);
    return run_command(invocation, transport, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "aitools-ctl: " << e.what() << "\n";
    return kFailed;
  }
}
