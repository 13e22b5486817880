// The etcd gateway codec (config/etcd.hpp) against answers captured from a real etcd 3.4.23,
// and the upstream client's streaming mode (actors/upstream.hpp) against a local socket server.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <rapidjson/document.h>

#include "actors/upstream.hpp"
#include "config/etcd.hpp"
#include "util/base64.hpp"

using namespace aitools;

namespace {

// ---- answers of etcd 3.4.23's gateway, as captured with curl ----
constexpr std::string_view kRange =
    R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"9","raft_term":"2"},)"
    R"("kvs":[{"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvQg==","create_revision":"9","mod_revision":"9","version":"1","value":"Mg=="},)"
    R"({"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvQw==","create_revision":"9","mod_revision":"9","version":"1"},)"
    R"({"key":"L2FpdG9vbHMvZGVmYXVsdC9zZXJ2aWNlcy94Lmpzb24=","create_revision":"3","mod_revision":"3","version":"1","value":"eyJuYW1lIjoieCJ9"}],"count":"3"})";
constexpr std::string_view kRangeEmpty =
    R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"1","raft_term":"2"}})";
constexpr std::string_view kCompacted =
    R"({"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11})";
constexpr std::string_view kPut =
    R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"10","raft_term":"2"}})";
constexpr std::string_view kDeleted =
    R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"11","raft_term":"2"},"deleted":"1"})";
constexpr std::string_view kGrant =
    R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"11","raft_term":"2"},"ID":"2324035677375448093","TTL":"5"})";
constexpr std::string_view kKeepalive =
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"3","raft_term":"2"},"ID":"2324035677375448074","TTL":"10"}})"
    "\n";
constexpr std::string_view kKeepaliveGone =
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"5","raft_term":"2"},"ID":"2324035677375448074"}})"
    "\n";
constexpr std::string_view kLeaseNotFound =
    R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})";

// A watch from revision 2 over /aitools/default/{config,services}/: the catch-up (two puts
// and a delete in one response), a put, a delete, and a transaction of two puts (the second
// with an empty value, which proto3 leaves out).
constexpr std::string_view kWatch =
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"6","raft_term":"2"},"created":true}})"
    "\n"
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"6","raft_term":"2"},"events":[{"kv":{"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvTE9HX0xFVkVM","create_revision":"2","mod_revision":"2","version":"1","value":"ZGVidWc="}},{"kv":{"key":"L2FpdG9vbHMvZGVmYXVsdC9zZXJ2aWNlcy94Lmpzb24=","create_revision":"3","mod_revision":"3","version":"1","value":"eyJuYW1lIjoieCJ9"}},{"type":"DELETE","kv":{"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvTE9HX0xFVkVM","mod_revision":"6"}}]}})"
    "\n"
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"7","raft_term":"2"},"events":[{"kv":{"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvQQ==","create_revision":"7","mod_revision":"7","version":"1","value":"MQ=="}}]}})"
    "\n"
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"8","raft_term":"2"},"events":[{"type":"DELETE","kv":{"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvQQ==","mod_revision":"8"}}]}})"
    "\n"
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"9","raft_term":"2"},"events":[{"kv":{"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvQg==","create_revision":"9","mod_revision":"9","version":"1","value":"Mg=="}},{"kv":{"key":"L2FpdG9vbHMvZGVmYXVsdC9jb25maWcvQw==","create_revision":"9","mod_revision":"9","version":"1"}}]}})"
    "\n";
// A watch from a compacted revision: created, then canceled at once (no header revision).
constexpr std::string_view kWatchCompacted =
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"9","raft_term":"2"},"created":true}})"
    "\n"
    R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","raft_term":"2"},"canceled":true,"compact_revision":"8"}})"
    "\n";
// A bad watch request: a flat error, with no line end, then the stream closes.
constexpr std::string_view kWatchBadRequest =
    R"({"error":"illegal base64 data at input byte 0","message":"illegal base64 data at input byte 0","code":2})";

std::vector<etcd::WatchResponse> drain(etcd::WatchStream& stream, std::string& error) {
  std::vector<etcd::WatchResponse> out;
  etcd::WatchResponse response;
  while (stream.next(response, error)) out.push_back(response);
  return out;
}

rapidjson::Document json(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str());
  BOOST_REQUIRE(!document.HasParseError() && document.IsObject());
  return document;
}

std::string decoded(const rapidjson::Value& value) {
  BOOST_REQUIRE(value.IsString());
  auto bytes = base64::decode(value.GetString());
  BOOST_REQUIRE(bytes);
  return *bytes;
}

etcd::KeyValue kv(std::string key, std::string value, int64_t revision = 1) {
  return {std::move(key), std::move(value), revision, revision, 0};
}

std::map<std::string, etcd::KeyValue> kvs_of(std::initializer_list<etcd::KeyValue> list) {
  std::map<std::string, etcd::KeyValue> out;
  for (const auto& item : list) out[item.key] = item;
  return out;
}

// ---- a local socket server for the upstream client's streaming mode ----

// Accepts one connection, reads the request head, answers 200 with a chunked body whose
// pieces the test hands it one by one, and keeps the connection open until it is closed by
// the client or by close().
class StreamServer {
 public:
  StreamServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    BOOST_REQUIRE(listen(listen_fd_, 1) == 0);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~StreamServer() {
    close_client();
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v3/watch"; }

  void send_chunk(const std::string& piece) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return client_ >= 0 || closed_; });
    char size[32];
    const int n = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    const std::string chunk = std::string(size, static_cast<size_t>(n)) + piece + "\r\n";
    [[maybe_unused]] auto sent = ::send(client_, chunk.data(), chunk.size(), MSG_NOSIGNAL);
  }

  // Waits until the client closed the connection.
  bool wait_closed(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return peer_closed_; });
  }

  void close_client() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    if (client_ >= 0) shutdown(client_, SHUT_RDWR);
    changed_.notify_all();
  }

 private:
  void serve() {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      head.append(buffer, static_cast<size_t>(n));
    }
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    [[maybe_unused]] auto sent = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      client_ = fd;
      changed_.notify_all();
    }
    // Anything more from the client, or its close (the request body was already read).
    while (recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
    std::lock_guard<std::mutex> lock(mutex_);
    peer_closed_ = true;
    changed_.notify_all();
    ::close(fd);
    client_ = -1;
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  int client_ = -1;
  bool closed_ = false;
  bool peer_closed_ = false;
  std::thread thread_;
};

// What a streaming call has seen, filled on the upstream actor's thread.
struct Seen {
  std::mutex mutex;
  std::condition_variable changed;
  std::string body;
  std::optional<UpstreamResult> result;
  bool refuse = false;  // on_chunk answers false

  template <class Predicate>
  bool wait(Predicate done) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return done(*this); });
  }
};

UpstreamCallPtr streaming_call(const std::string& url, std::shared_ptr<Seen> seen) {
  auto call = std::make_shared<UpstreamCall>();
  call->request.method = "POST";
  call->request.url = url;
  call->request.body = R"({"create_request":{}})";
  call->request.timeout = std::chrono::milliseconds(100);  // the connect only
  call->on_chunk = [seen](std::string_view chunk) {
    std::lock_guard<std::mutex> lock(seen->mutex);
    seen->body.append(chunk);
    seen->changed.notify_all();
    return !seen->refuse;
  };
  call->done = [seen](UpstreamResult result) {
    std::lock_guard<std::mutex> lock(seen->mutex);
    seen->result = std::move(result);
    seen->changed.notify_all();
  };
  return call;
}

struct UpstreamSystem {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  upstream_actor upstream = spawn_upstream(sys);
  ~UpstreamSystem() { caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(etcd_unit)

// ---- layout and request bodies ----

BOOST_AUTO_TEST_CASE(layout_ranges_cover_config_and_services_but_not_acks) {
  const etcd::Layout layout{"/aitools/prod"};
  BOOST_TEST(layout.watch_begin() == "/aitools/prod/config/");
  BOOST_TEST(layout.watch_end() == "/aitools/prod/services0");
  const auto in_range = [&](const std::string& key) {
    return key >= layout.watch_begin() && key < layout.watch_end();
  };
  BOOST_TEST(in_range("/aitools/prod/config/LOG_LEVEL"));
  BOOST_TEST(in_range("/aitools/prod/services/greeter.json"));
  BOOST_TEST(!in_range("/aitools/prod/acks/node-1"));
  BOOST_TEST(!in_range("/aitools/prod2/config/X"));
  BOOST_TEST(!in_range("/aitools/prod/servicesx"));
}

BOOST_AUTO_TEST_CASE(prefix_end_is_the_first_key_after_the_prefix) {
  BOOST_TEST(etcd::prefix_end("/a/b/") == "/a/b0");
  BOOST_TEST(etcd::prefix_end("ab\xff") == "ac");
  BOOST_TEST(etcd::prefix_end("\xff\xff") == std::string(1, '\0'));
  BOOST_TEST(etcd::prefix_end("") == std::string(1, '\0'));
}

BOOST_AUTO_TEST_CASE(range_request_encodes_keys_and_int64_as_strings) {
  auto body = json(etcd::range_request("/p/config/", "/p/services0", 42, true));
  BOOST_TEST(decoded(body["key"]) == "/p/config/");
  BOOST_TEST(decoded(body["range_end"]) == "/p/services0");
  BOOST_TEST(body["revision"].GetString() == std::string("42"));
  BOOST_TEST(body["keys_only"].GetBool());

  auto newest = json(etcd::range_request("/p/k", ""));
  BOOST_TEST(!newest.HasMember("range_end"));
  BOOST_TEST(!newest.HasMember("revision"));  // 0: the newest
  BOOST_TEST(!newest.HasMember("keys_only"));
}

BOOST_AUTO_TEST_CASE(put_and_delete_requests) {
  const std::string binary("a\0b\xff\n\"", 6);
  auto put = json(etcd::put_request("/p/acks/n1", binary, 2324035677375448093));
  BOOST_TEST(decoded(put["key"]) == "/p/acks/n1");
  BOOST_TEST(decoded(put["value"]) == binary);
  BOOST_TEST(put["lease"].GetString() == std::string("2324035677375448093"));
  BOOST_TEST(!json(etcd::put_request("/k", "v")).HasMember("lease"));

  auto one = json(etcd::delete_request("/p/services/x.json"));
  BOOST_TEST(decoded(one["key"]) == "/p/services/x.json");
  BOOST_TEST(!one.HasMember("range_end"));
  auto range = json(etcd::delete_request("/p/", "/p0"));
  BOOST_TEST(decoded(range["range_end"]) == "/p0");
}

BOOST_AUTO_TEST_CASE(watch_and_lease_requests) {
  auto watch = json(etcd::watch_request("/p/config/", "/p/services0", 10));
  const auto& create = watch["create_request"];
  BOOST_TEST(decoded(create["key"]) == "/p/config/");
  BOOST_TEST(decoded(create["range_end"]) == "/p/services0");
  BOOST_TEST(create["start_revision"].GetString() == std::string("10"));
  BOOST_TEST(!create.HasMember("prev_kv"));
  BOOST_TEST(!json(etcd::watch_request("/k", "", 0))["create_request"].HasMember("start_revision"));

  BOOST_TEST(json(etcd::lease_grant_request(10))["TTL"].GetString() == std::string("10"));
  BOOST_TEST(json(etcd::lease_keepalive_request(77))["ID"].GetString() == std::string("77"));
  BOOST_TEST(json(etcd::lease_revoke_request(78))["ID"].GetString() == std::string("78"));
}

// ---- answers ----

BOOST_AUTO_TEST_CASE(parses_a_range_with_values_and_an_empty_value) {
  etcd::RangeResponse range;
  std::string error;
  BOOST_REQUIRE(etcd::parse_range(kRange, range, error));
  BOOST_TEST(range.revision == 9);
  BOOST_REQUIRE(range.kvs.size() == 3u);
  BOOST_TEST(range.kvs[0].key == "/aitools/default/config/B");
  BOOST_TEST(range.kvs[0].value == "2");
  BOOST_TEST(range.kvs[0].create_revision == 9);
  BOOST_TEST(range.kvs[1].key == "/aitools/default/config/C");
  BOOST_TEST(range.kvs[1].value == "");  // proto3 leaves the empty value out
  BOOST_TEST(range.kvs[2].key == "/aitools/default/services/x.json");
  BOOST_TEST(range.kvs[2].value == R"({"name":"x"})");
  BOOST_TEST(range.kvs[2].mod_revision == 3);

  BOOST_REQUIRE(etcd::parse_range(kRangeEmpty, range, error));
  BOOST_TEST(range.revision == 1);
  BOOST_TEST(range.kvs.empty());
}

BOOST_AUTO_TEST_CASE(error_answers_give_etcds_message) {
  etcd::RangeResponse range;
  std::string error;
  BOOST_TEST(!etcd::parse_range(kCompacted, range, error));
  BOOST_TEST(error == "etcd: etcdserver: mvcc: required revision has been compacted (code 11)");
  int64_t revision = 0, deleted = 0;
  BOOST_TEST(!etcd::parse_write(kLeaseNotFound, revision, deleted, error));
  BOOST_TEST(error.find("requested lease not found") != std::string::npos);
  // Later gateways nest the error.
  BOOST_TEST(!etcd::parse_write(R"({"error":{"grpc_code":5,"http_code":404,"message":"not here"}})",
                                revision, deleted, error));
  BOOST_TEST(error == "etcd: not here (code 5)");
  // Not etcd at all.
  BOOST_TEST(!etcd::parse_write("Not Found\n", revision, deleted, error));
  BOOST_TEST(error == "etcd: expected a JSON object, got \"Not Found \"");
  BOOST_TEST(!etcd::parse_write("", revision, deleted, error));
  BOOST_TEST(error == "etcd: expected a JSON object, got an empty body");
}

BOOST_AUTO_TEST_CASE(parses_writes) {
  int64_t revision = 0, deleted = 0;
  std::string error;
  BOOST_REQUIRE(etcd::parse_write(kPut, revision, deleted, error));
  BOOST_TEST(revision == 10);
  BOOST_TEST(deleted == 0);
  BOOST_REQUIRE(etcd::parse_write(kDeleted, revision, deleted, error));
  BOOST_TEST(revision == 11);
  BOOST_TEST(deleted == 1);
}

BOOST_AUTO_TEST_CASE(parses_lease_answers) {
  int64_t id = 0, ttl = 0;
  std::string error;
  BOOST_REQUIRE(etcd::parse_lease_grant(kGrant, id, ttl, error));
  BOOST_TEST(id == 2324035677375448093);
  BOOST_TEST(ttl == 5);
  BOOST_REQUIRE(etcd::parse_lease_keepalive(kKeepalive, ttl, error));
  BOOST_TEST(ttl == 10);
  BOOST_REQUIRE(etcd::parse_lease_keepalive(kKeepaliveGone, ttl, error));
  BOOST_TEST(ttl == 0);  // the lease no longer exists
  BOOST_TEST(!etcd::parse_lease_grant(kLeaseNotFound, id, ttl, error));
  BOOST_TEST(!etcd::parse_lease_grant(R"({"header":{},"TTL":"5"})", id, ttl, error));  // no ID
  // A grant that failed inside an answer.
  BOOST_TEST(!etcd::parse_lease_grant(R"({"ID":"1","TTL":"5","error":"no space"})", id, ttl, error));
  BOOST_TEST(error == "etcd: no space");
  BOOST_TEST(etcd::parse_lease_grant(R"({"ID":"1","TTL":"5","error":""})", id, ttl, error));
}

// ---- the watch stream ----

BOOST_AUTO_TEST_CASE(watch_stream_yields_each_message_in_order) {
  etcd::WatchStream stream;
  stream.feed(kWatch);
  std::string error;
  const auto responses = drain(stream, error);
  BOOST_TEST(error.empty());
  BOOST_REQUIRE(responses.size() == 5u);
  BOOST_TEST(responses[0].created);
  BOOST_TEST(responses[0].events.empty());
  const auto& catch_up = responses[1].events;
  BOOST_REQUIRE(catch_up.size() == 3u);
  BOOST_TEST(responses[1].revision == 6);
  BOOST_TEST((catch_up[0].type == etcd::Event::Type::put));
  BOOST_TEST(catch_up[0].kv.key == "/aitools/default/config/LOG_LEVEL");
  BOOST_TEST(catch_up[0].kv.value == "debug");
  BOOST_TEST((catch_up[2].type == etcd::Event::Type::remove));
  BOOST_TEST(catch_up[2].kv.mod_revision == 6);
  BOOST_TEST((responses[3].events.at(0).type == etcd::Event::Type::remove));
  BOOST_TEST(responses[4].revision == 9);
  BOOST_TEST(responses[4].events.at(1).kv.key == "/aitools/default/config/C");
  BOOST_TEST(responses[4].events.at(1).kv.value == "");
  BOOST_TEST(stream.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(watch_stream_reassembles_messages_split_anywhere) {
  std::string error;
  etcd::WatchStream whole;
  whole.feed(kWatch);
  const size_t expected = drain(whole, error).size();
  // Every split into two chunks, and one byte at a time with next() between bytes.
  for (size_t cut = 0; cut <= kWatch.size(); cut += 7) {
    etcd::WatchStream stream;
    stream.feed(kWatch.substr(0, cut));
    auto first = drain(stream, error);
    BOOST_REQUIRE(error.empty());
    stream.feed(kWatch.substr(cut));
    auto second = drain(stream, error);
    BOOST_REQUIRE(error.empty());
    BOOST_REQUIRE(first.size() + second.size() == expected);
  }
  etcd::WatchStream bytewise;
  size_t count = 0;
  int64_t last_revision = 0;
  for (char c : kWatch) {
    bytewise.feed(std::string_view(&c, 1));
    for (const auto& response : drain(bytewise, error)) {
      ++count;
      last_revision = response.revision;
    }
    BOOST_REQUIRE(error.empty());
  }
  BOOST_TEST(count == expected);
  BOOST_TEST(last_revision == 9);
}

BOOST_AUTO_TEST_CASE(watch_stream_skips_blank_lines_and_crlf) {
  etcd::WatchStream stream;
  stream.feed("\n\r\n  \n");
  stream.feed(std::string(kWatchCompacted.substr(0, kWatchCompacted.find('\n'))) + "\r\n");
  std::string error;
  const auto responses = drain(stream, error);
  BOOST_TEST(error.empty());
  BOOST_REQUIRE(responses.size() == 1u);
  BOOST_TEST(responses[0].created);
}

BOOST_AUTO_TEST_CASE(watch_canceled_for_compaction) {
  etcd::WatchStream stream;
  stream.feed(kWatchCompacted);
  std::string error;
  const auto responses = drain(stream, error);
  BOOST_REQUIRE(responses.size() == 2u);
  BOOST_TEST(responses[1].canceled);
  BOOST_TEST(responses[1].compact_revision == 8);
  BOOST_TEST(responses[1].revision == 0);
}

BOOST_AUTO_TEST_CASE(watch_error_answer_without_line_end) {
  etcd::WatchStream stream;
  stream.feed(kWatchBadRequest);
  std::string error;
  BOOST_TEST(drain(stream, error).empty());
  BOOST_TEST(error.empty());  // incomplete until the stream ends ...
  stream.feed("\n");          // ... which the source marks with a line end
  BOOST_TEST(drain(stream, error).empty());
  BOOST_TEST(error == "etcd: illegal base64 data at input byte 0 (code 2)");
}

BOOST_AUTO_TEST_CASE(watch_malformed_messages_are_errors) {
  for (std::string_view line :
       {R"({"result":{"events":[{"type":"MOVE","kv":{"key":"YQ=="}}]}})",
        R"({"result":{"events":[{"kv":{"key":"not base64!"}}]}})",
        R"({"result":{"events":{}}})", R"({"result":{"header":{"revision":"x"}}})",
        R"({"result":[]})", R"({"other":1})", "[1,2]", "{", "Not Found"}) {
    etcd::WatchStream stream;
    stream.feed(line);
    stream.feed("\n");
    std::string error;
    BOOST_TEST(drain(stream, error).empty());
    BOOST_TEST(!error.empty(), "no error for " << line);
  }
}

// ---- what nodes read ----

BOOST_AUTO_TEST_CASE(snapshot_from_valid_keys) {
  const etcd::Layout layout{"/aitools/prod"};
  const auto snapshot = etcd::snapshot_from(
      layout,
      kvs_of({kv("/aitools/prod/config/LOG_LEVEL", "debug"),
              kv("/aitools/prod/config/AI_APP_ID", "app"),
              kv("/aitools/prod/config/my.key_2", ""),
              kv("/aitools/prod/services/zeta.json", R"({"name":"zeta"})"),
              kv("/aitools/prod/services/alpha-1_b.json", R"({"name":"alpha"})"),
              kv("/aitools/prod/locks/x", "not ours")}),
      42);
  BOOST_TEST(snapshot.revision == 42);
  BOOST_TEST(snapshot.version == "42");
  BOOST_REQUIRE(snapshot.values.size() == 3u);
  BOOST_TEST(snapshot.values.at("LOG_LEVEL").text == "debug");
  BOOST_TEST(snapshot.values.at("LOG_LEVEL").origin == "etcd /aitools/prod/config/LOG_LEVEL");
  BOOST_TEST(snapshot.values.at("my.key_2").text == "");
  BOOST_REQUIRE(snapshot.manifests.size() == 2u);
  BOOST_TEST(snapshot.manifests[0].name == "alpha-1_b.json");  // sorted by name
  BOOST_TEST(snapshot.manifests[0].content.value() == R"({"name":"alpha"})");
  BOOST_TEST(snapshot.manifests[0].error.empty());
  BOOST_TEST(snapshot.manifests[0].origin == "/aitools/prod/services/alpha-1_b.json");
  BOOST_TEST(snapshot.manifests[1].name == "zeta.json");
}

BOOST_AUTO_TEST_CASE(snapshot_from_reports_invalid_names_as_entries_in_error) {
  const etcd::Layout layout{"/p"};
  const auto snapshot = etcd::snapshot_from(
      layout,
      kvs_of({kv("/p/config/bad-key", "1"), kv("/p/config/9LIVES", "1"), kv("/p/config/", "1"),
              kv("/p/services/.hidden.json", "{}"), kv("/p/services/notes.txt", "x"),
              kv("/p/services/sub/x.json", "{}"), kv("/p/services/.json", "{}"),
              kv("/p/services/a b.json", "{}")}),
      7);
  BOOST_TEST(snapshot.values.empty());
  BOOST_REQUIRE(snapshot.manifests.size() == 8u);
  for (const auto& manifest : snapshot.manifests) {
    BOOST_TEST(!manifest.content.has_value(), manifest.name);
    BOOST_TEST(manifest.origin.find("/p/") == 0u, manifest.origin);
    BOOST_TEST(manifest.error.find(" is not a ") != std::string::npos, manifest.error);
  }
  const auto named = [&](const std::string& name) {
    for (const auto& manifest : snapshot.manifests)
      if (manifest.name == name) return manifest;
    BOOST_FAIL("no entry " << name);
    return config::RemoteManifest{};
  };
  BOOST_TEST(named("config/bad-key").error.find("not a config key name") != std::string::npos);
  BOOST_TEST(named("notes.txt").error.find("not a manifest name") != std::string::npos);
  BOOST_TEST(named("sub/x.json").origin == "/p/services/sub/x.json");
}

BOOST_AUTO_TEST_CASE(snapshot_content_ignores_revision) {
  const etcd::Layout layout{"/p"};
  const auto kvs = kvs_of({kv("/p/config/A", "1")});
  BOOST_TEST(etcd::snapshot_from(layout, kvs, 3).same_content(etcd::snapshot_from(layout, kvs, 9)));
  BOOST_TEST(!etcd::snapshot_from(layout, kvs, 3)
                  .same_content(etcd::snapshot_from(layout, kvs_of({kv("/p/config/A", "2")}), 3)));
}

// ---- acknowledgements ----

BOOST_AUTO_TEST_CASE(ack_round_trip) {
  etcd::Ack ack;
  ack.node = "api-1";
  ack.address = "api-1:18668";
  ack.generation = 18446744073709551615u;
  ack.revision = 1042;
  ack.time = "2026-11-28T15:02:11.204Z";
  ack.quarantined = {{"broken", "etcd:broken.json", "routes[0].path: \"x\" must start with /"},
                     {"other.json", "other.json", "line 1: \u00e9 \n"}};
  ack.config_error = "LOG_LEVEL=loud: expected debug, info, warn or error";
  etcd::Ack back;
  std::string error;
  BOOST_REQUIRE(etcd::parse_ack(etcd::ack_json(ack), back, error));
  BOOST_TEST(back.node == ack.node);
  BOOST_TEST(back.address == ack.address);
  BOOST_TEST(back.generation == ack.generation);
  BOOST_TEST(back.revision == ack.revision);
  BOOST_TEST(back.time == ack.time);
  BOOST_REQUIRE(back.quarantined.size() == 2u);
  BOOST_TEST(back.quarantined[0].file == "etcd:broken.json");
  BOOST_TEST(back.quarantined[1].error == ack.quarantined[1].error);
  BOOST_TEST(back.config_error == ack.config_error);

  auto document = json(etcd::ack_json(ack));  // the documented shape
  BOOST_TEST(document["revision"].IsInt64());
  BOOST_TEST(document["quarantined"].IsArray());
}

BOOST_AUTO_TEST_CASE(ack_parse_errors_name_the_field) {
  etcd::Ack ack;
  std::string error;
  BOOST_TEST(!etcd::parse_ack("{}", ack, error));
  BOOST_TEST(error.find("\"node\"") != std::string::npos);
  BOOST_TEST(!etcd::parse_ack(R"({"node":"n","generation":-1,"revision":1})", ack, error));
  BOOST_TEST(error.find("\"generation\"") != std::string::npos);
  BOOST_TEST(!etcd::parse_ack(R"({"node":"n","generation":1,"revision":"1"})", ack, error));
  BOOST_TEST(error.find("\"revision\"") != std::string::npos);
  BOOST_TEST(!etcd::parse_ack(R"({"node":"n","generation":1,"revision":1,"quarantined":[1]})", ack,
                              error));
  BOOST_TEST(error.find("\"quarantined\"") != std::string::npos);
  BOOST_TEST(etcd::parse_ack(R"({"node":"n","generation":1,"revision":1})", ack, error));
}

// ---- bad input never crashes ----

BOOST_AUTO_TEST_CASE(malformed_input_never_crashes) {
  std::mt19937 random(20261128);
  const std::vector<std::string_view> seeds = {kRange,   kRangeEmpty,    kCompacted,
                                               kPut,     kDeleted,       kGrant,
                                               kWatch,   kWatchCompacted, kKeepaliveGone};
  size_t rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text(seeds[random() % seeds.size()]);
    // Flip, delete or duplicate a few bytes, or cut the text short.
    for (int edits = 1 + random() % 4; edits > 0 && !text.empty(); --edits) {
      const size_t at = random() % text.size();
      switch (random() % 4) {
        case 0: text[at] = static_cast<char>(random()); break;
        case 1: text.erase(at, 1 + random() % 8); break;
        case 2: text.insert(at, text.substr(at, random() % 16)); break;
        default: text.resize(at); break;
      }
    }
    std::string error;
    etcd::RangeResponse range;
    int64_t a = 0, b = 0;
    etcd::Ack ack;
    rejected += !etcd::parse_range(text, range, error);
    rejected += !etcd::parse_write(text, a, b, error);
    rejected += !etcd::parse_lease_grant(text, a, b, error);
    rejected += !etcd::parse_lease_keepalive(text, a, error);
    rejected += !etcd::parse_ack(text, ack, error);
    etcd::WatchStream stream;
    stream.feed(text);
    stream.feed("\n");
    drain(stream, error);
    for (const auto& item : range.kvs)
      etcd::snapshot_from(etcd::Layout{"/aitools/default"}, kvs_of({item}), 1);
  }
  BOOST_TEST(rejected > 0u);
}

// ---- the upstream client's streaming mode ----

BOOST_AUTO_TEST_CASE(upstream_streams_chunks_past_the_timeout_until_canceled) {
  UpstreamSystem system;
  StreamServer server;
  auto seen = std::make_shared<Seen>();
  auto call = streaming_call(server.url(), seen);
  caf::anon_send(system.upstream, fetch_atom::value, call);
  server.send_chunk("{\"a\":1}\n");
  BOOST_REQUIRE(seen->wait([](Seen& s) { return s.body == "{\"a\":1}\n"; }));
  // Quiet for longer than request.timeout: a stream has no overall timeout.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server.send_chunk("{\"b\":2}\n");
  BOOST_REQUIRE(seen->wait([](Seen& s) { return s.body == "{\"a\":1}\n{\"b\":2}\n"; }));
  {
    std::lock_guard<std::mutex> lock(seen->mutex);
    BOOST_TEST(!seen->result.has_value());
  }
  // A quiet stream is ended by its owner.
  cancel_upstream_call(system.upstream, call);
  BOOST_REQUIRE(seen->wait([](Seen& s) { return s.result.has_value(); }));
  BOOST_TEST((seen->result->error == UpstreamResult::Error::connect));
  BOOST_TEST(seen->result->error_text == "canceled");
  BOOST_TEST(server.wait_closed(std::chrono::seconds(10)));
  // A second cancel of a finished call is ignored.
  cancel_upstream_call(system.upstream, call);
}

BOOST_AUTO_TEST_CASE(upstream_stream_aborted_by_its_callback) {
  UpstreamSystem system;
  StreamServer server;
  auto seen = std::make_shared<Seen>();
  seen->refuse = true;
  caf::anon_send(system.upstream, fetch_atom::value, streaming_call(server.url(), seen));
  server.send_chunk("enough\n");
  BOOST_REQUIRE(seen->wait([](Seen& s) { return s.result.has_value(); }));
  BOOST_TEST(seen->body == "enough\n");
  BOOST_TEST(seen->result->error_text == "canceled");
  BOOST_TEST(server.wait_closed(std::chrono::seconds(10)));
}

BOOST_AUTO_TEST_CASE(upstream_stream_closed_by_the_server) {
  UpstreamSystem system;
  StreamServer server;
  auto seen = std::make_shared<Seen>();
  caf::anon_send(system.upstream, fetch_atom::value, streaming_call(server.url(), seen));
  server.send_chunk("last\n");
  BOOST_REQUIRE(seen->wait([](Seen& s) { return !s.body.empty(); }));
  server.close_client();  // mid-body: the chunked answer never ends properly
  BOOST_REQUIRE(seen->wait([](Seen& s) { return s.result.has_value(); }));
  BOOST_TEST((seen->result->error == UpstreamResult::Error::connect));
  BOOST_TEST(seen->result->body.empty());
}

BOOST_AUTO_TEST_CASE(upstream_stream_connect_refused) {
  UpstreamSystem system;
  // A port nobody listens on: bind one and close it again.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  auto seen = std::make_shared<Seen>();
  caf::anon_send(system.upstream, fetch_atom::value,
                 streaming_call("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/",
                                seen));
  BOOST_REQUIRE(seen->wait([](Seen& s) { return s.result.has_value(); }));
  BOOST_TEST((seen->result->error == UpstreamResult::Error::connect));
  BOOST_TEST(seen->body.empty());
}

BOOST_AUTO_TEST_SUITE_END()
