#include "ctl/etcd_client.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "config/settings.hpp"
#include "ctl/http_client.hpp"
#include "util/base64.hpp"

namespace aitools::ctl {

namespace {

// A known key of the nodes' config, validated by the nodes' own rule: the value in its
// normalised form, or Failure "OPTION: expected ..., got ...".
config::Settings validated(const std::string& option, const std::string& key,
                           const std::string& value) {
  const auto loaded = config::build_config("", "aitools-ctl", {{key, value}},
                                           [](const std::string&) { return std::nullopt; });
  if (loaded.ok()) return loaded.snapshot->settings;
  const std::string& error = loaded.errors.front();
  const auto expected = error.find(": expected ");
  throw Failure(option + ": " +
                (expected == std::string::npos ? error : error.substr(expected + 2)) +
                " (as the nodes' " + key + "), got \"" + value + "\"");
}

std::string start_of(std::string body) {
  body = body.substr(0, 200);
  std::replace_if(
      body.begin(), body.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return body.empty() ? "(no body)" : body;
}

// An int64 field of the gateway's JSON: a string of digits (proto3 JSON) or a number.
bool int64_field(const rapidjson::Value& object, const char* name, int64_t& out) {
  out = 0;
  const auto found = object.FindMember(name);
  if (found == object.MemberEnd()) return true;  // proto3 leaves zero out
  const auto& value = found->value;
  if (value.IsInt64()) return out = value.GetInt64(), true;
  if (!value.IsString()) return false;
  const std::string text = value.GetString();
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  out = std::stoll(text);
  return true;
}

}  // namespace

std::vector<EtcdEndpoint> etcd_endpoints(const std::string& urls,
                                         std::chrono::milliseconds timeout) {
  const auto settings = validated("--etcd", "ETCD_ENDPOINTS", urls);
  std::vector<EtcdEndpoint> endpoints;
  for (const std::string& url : config::etcd_endpoints(settings)) {
    std::string error;
    auto parsed = parse_admin_url(url, error);
    if (!parsed) throw Failure("--etcd: " + error);
    PeerHints hints{"etcd " + url, "is etcd running there? see --etcd",
                    "is --etcd etcd's client URL?"};
    endpoints.push_back(
        {url, std::make_unique<HttpTransport>(std::move(*parsed), "", timeout, std::move(hints))});
  }
  return endpoints;
}

etcd::Layout etcd_layout(const std::string& prefix) {
  return {validated("--prefix", "ETCD_PREFIX", prefix).etcd_prefix};
}

EtcdClient::EtcdClient(std::vector<EtcdEndpoint> endpoints) : endpoints_(std::move(endpoints)) {
  if (endpoints_.empty()) throw Failure("--etcd: no URL given");
}

const std::string& EtcdClient::endpoint() const { return endpoints_[current_].url; }

AdminAnswer EtcdClient::call(const std::string& path, const std::string& body) {
  std::string failures;
  for (size_t tried = 0; tried < endpoints_.size(); ++tried) {
    const size_t at = (current_ + tried) % endpoints_.size();
    try {
      AdminAnswer answer = endpoints_[at].transport->send({"POST", path, body, {}});
      current_ = at;
      return answer;
    } catch (const Unreachable& e) {
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw Unreachable(failures);
}

void EtcdClient::check(const std::string& path, const AdminAnswer& answer, bool parsed,
                       const std::string& error) const {
  if (parsed && answer.status == 200) return;
  // The gateway answers an error with a 4xx/5xx and {"error", "code", "message"}: the parsers
  // give etcd's message. Anything else is shown as it came.
  std::string reason =
      !error.empty() ? error
                     : "answered " + std::to_string(answer.status) + ": " + start_of(answer.body);
  if (reason.rfind("etcd: ", 0) == 0) reason.erase(0, 6);  // the message below names etcd
  const bool unavailable = reason.find("compacted") != std::string::npos ||
                           reason.find("future revision") != std::string::npos;
  throw EtcdError("etcd " + endpoint() + " " + path + ": " + reason, unavailable);
}

etcd::RangeResponse EtcdClient::range(std::string_view key, std::string_view range_end,
                                      int64_t revision, bool keys_only) {
  const std::string path = "/v3/kv/range";
  const auto answer = call(path, etcd::range_request(key, range_end, revision, keys_only));
  etcd::RangeResponse out;
  std::string error;
  check(path, answer, etcd::parse_range(answer.body, out, error), error);
  return out;
}

int64_t EtcdClient::put(std::string_view key, std::string_view value) {
  const std::string path = "/v3/kv/put";
  const auto answer = call(path, etcd::put_request(key, value));
  int64_t revision = 0, deleted = 0;
  std::string error;
  check(path, answer, etcd::parse_write(answer.body, revision, deleted, error), error);
  return revision;
}

EtcdClient::Removed EtcdClient::remove(std::string_view key) {
  const std::string path = "/v3/kv/deleterange";
  const auto answer = call(path, etcd::delete_request(key));
  Removed out;
  std::string error;
  check(path, answer, etcd::parse_write(answer.body, out.revision, out.deleted, error), error);
  return out;
}

EtcdClient::Committed EtcdClient::commit(const std::vector<TxnOperation>& operations) {
  const std::string path = "/v3/kv/txn";
  const auto answer = call(path, txn_request(operations));
  Committed out;
  std::string error;
  check(path, answer, parse_txn(answer.body, out.revision, out.deleted, error), error);
  return out;
}

std::string txn_request(const std::vector<TxnOperation>& operations) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("success");
  w.StartArray();
  for (const auto& operation : operations) {
    w.StartObject();
    w.Key(operation.value ? "request_put" : "request_delete_range");
    w.StartObject();
    w.Key("key");
    w.String(base64::encode(operation.key).c_str());
    if (operation.value) {
      w.Key("value");
      w.String(base64::encode(*operation.value).c_str());
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

bool parse_txn(std::string_view body, int64_t& revision, std::vector<int64_t>& deleted,
               std::string& error) {
  int64_t none = 0;  // a txn answer has no top-level "deleted"
  if (!etcd::parse_write(body, revision, none, error)) return false;
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  deleted.clear();
  if (const auto responses = document.FindMember("responses");
      responses != document.MemberEnd() && responses->value.IsArray()) {
    for (const auto& response : responses->value.GetArray()) {
      int64_t count = 0;
      if (response.IsObject())
        if (const auto removal = response.FindMember("response_delete_range");
            removal != response.MemberEnd() && removal->value.IsObject() &&
            !int64_field(removal->value, "deleted", count))
          return error = "a bad response_delete_range.deleted: " + start_of(std::string(body)),
                 false;
      deleted.push_back(count);
    }
  }
  return true;
}

}  // namespace aitools::ctl
