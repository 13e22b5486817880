#pragma once
// aitools-ctl's etcd commands (cli.hpp is_etcd_command): cluster status, cluster wait,
// put-service, delete-service, set-config and unset-config. They read and write the
// cluster's keys (config/etcd.hpp Layout) and read the nodes' acks; no node is contacted.
#include <ostream>

#include "ctl/cli.hpp"
#include "ctl/etcd_client.hpp"

namespace aitools::ctl {

// Runs invocation.command against etcd at invocation.etcd; returns the exit status.
int run_etcd_command(const Invocation& invocation, std::ostream& out, std::ostream& err);
// The same with a given client (tests).
int run_etcd_command(const Invocation& invocation, EtcdClient& etcd, std::ostream& out,
                     std::ostream& err);

}  // namespace aitools::ctl
