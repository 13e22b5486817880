#pragma once
// aitools-ctl's blocking etcd client: one request at a time to etcd's HTTP/JSON gateway
// through a Transport (http_client.hpp), bodies built and parsed by config/etcd.hpp. With
// several endpoints the first that answers is used, and kept while it answers.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/etcd.hpp"
#include "ctl/command.hpp"
#include "ctl/transport.hpp"

namespace aitools::ctl {

// etcd answered, with an error (exit 1): etcd's own message, prefixed with the endpoint.
class EtcdError : public Failure {
 public:
  EtcdError(const std::string& message, bool revision_unavailable)
      : Failure(message), revision_unavailable_(revision_unavailable) {}
  // A read at a revision that was compacted away or lies in the future.
  bool revision_unavailable() const { return revision_unavailable_; }

 private:
  bool revision_unavailable_;
};

struct EtcdEndpoint {
  std::string url;  // "http://127.0.0.1:2379", as messages name it
  std::unique_ptr<Transport> transport;
};

// --etcd's comma-separated URLs (validated as the nodes validate ETCD_ENDPOINTS) as HTTP
// endpoints with `timeout` per request; Failure with the expected form otherwise.
std::vector<EtcdEndpoint> etcd_endpoints(const std::string& urls, std::chrono::milliseconds timeout);
// --prefix (validated as the nodes validate ETCD_PREFIX) as the cluster's key layout.
etcd::Layout etcd_layout(const std::string& prefix);

// One operation of a transaction: a put, or a delete when `value` is absent.
struct TxnOperation {
  std::string key;
  std::optional<std::string> value;
};

class EtcdClient {
 public:
  explicit EtcdClient(std::vector<EtcdEndpoint> endpoints);

  // Throw Unreachable when no endpoint answers, EtcdError when etcd refuses.
  etcd::RangeResponse range(std::string_view key, std::string_view range_end,
                            int64_t revision = 0, bool keys_only = false);
  int64_t put(std::string_view key, std::string_view value);  // the new revision
  struct Removed {
    int64_t revision = 0;
    int64_t deleted = 0;  // how many keys existed
  };
  Removed remove(std::string_view key);
  // Every operation at one revision (an unconditional kv/txn); per operation, how many keys
  // it deleted (0 for a put).
  struct Committed {
    int64_t revision = 0;
    std::vector<int64_t> deleted;
  };
  Committed commit(const std::vector<TxnOperation>& operations);

  const std::string& endpoint() const;  // the URL in use

 private:
  // The first endpoint that answers, starting with the last one that did.
  AdminAnswer call(const std::string& path, const std::string& body);
  // EtcdError unless the answer is a 200 that `parsed`.
  void check(const std::string& path, const AdminAnswer& answer, bool parsed,
             const std::string& error) const;

  std::vector<EtcdEndpoint> endpoints_;
  size_t current_ = 0;
};

// kv/txn with no compare: `operations` as its success branch.
std::string txn_request(const std::vector<TxnOperation>& operations);
// header.revision and, per operation, response_delete_range.deleted (0 for others); false
// with `error` for an error answer or an unexpected body.
bool parse_txn(std::string_view body, int64_t& revision, std::vector<int64_t>& deleted,
               std::string& error);

}  // namespace aitools::ctl
