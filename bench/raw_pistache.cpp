// The floor our libraries allow: the smallest Pistache server answering the benchmark's
// requests, with the same threads and endpoint options aitools uses. Bench-only.
//
//   raw-pistache PORT [THREADS]
//   GET  /v1/hello/{name} -> {"msg":"hello {name}","from":"aitools"}
//   POST /v1/echo         -> the request body
//   GET  /v1/actor/{name} -> the /v1/hello answer, written by a CAF actor: the request's
//                            writer is sent to the actor, which answers from its own thread
//                            (one hop each way, no request copy: the floor of an actor route)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <pistache/endpoint.h>
#include <pistache/http.h>

#include "actors/scheduler.hpp"

namespace PH = Pistache::Http;

using WriterPtr = std::shared_ptr<PH::ResponseWriter>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(WriterPtr)

std::string hello(const std::string& name) {
  return "{\"msg\":\"hello " + name + "\",\"from\":\"aitools\"}";
}

caf::behavior answering_actor() {
  return {
      [](const WriterPtr& writer, const std::string& name) { writer->send(PH::Code::Ok, hello(name)); },
  };
}

class RawHandler : public PH::Handler {
 public:
  HTTP_PROTOTYPE(RawHandler)

  explicit RawHandler(caf::actor answering) : answering_(std::move(answering)) {}

  void onRequest(const PH::Request& request, PH::ResponseWriter writer) override {
    static const std::string kHello = "/v1/hello/";
    static const std::string kActor = "/v1/actor/";
    const std::string& resource = request.resource();
    writer.headers().add<PH::Header::ContentType>(MIME(Application, Json));
    if (request.method() == PH::Method::Get && resource.compare(0, kHello.size(), kHello) == 0) {
      writer.send(PH::Code::Ok, hello(resource.substr(kHello.size())));
    } else if (request.method() == PH::Method::Get && resource.compare(0, kActor.size(), kActor) == 0) {
      caf::anon_send(answering_, std::make_shared<PH::ResponseWriter>(std::move(writer)),
                     resource.substr(kActor.size()));
    } else if (request.method() == PH::Method::Post && resource == "/v1/echo") {
      writer.send(PH::Code::Ok, request.body());
    } else {
      writer.send(PH::Code::Not_Found, "{\"detail\":\"Not Found\"}");
    }
  }

 private:
  caf::actor answering_;
};

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: raw-pistache PORT [THREADS]\n");
    return 2;
  }
  const auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  const int threads = argc > 2 ? std::atoi(argv[2]) : int(std::thread::hardware_concurrency());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config caf_config;
  aitools::configure_scheduler(caf_config);  // the same scheduler as aitools-server
  caf::actor_system system(caf_config);
  caf::actor answering = system.spawn(answering_actor);

  PH::Endpoint endpoint(Pistache::Address(Pistache::Ipv4::loopback(), Pistache::Port(port)));
  endpoint.init(PH::Endpoint::options().threads(threads).flags(Pistache::Tcp::Options::ReuseAddr));
  endpoint.setHandler(Pistache::Http::make_handler<RawHandler>(answering));
  endpoint.serveThreaded();
  int signo = 0;
  sigwait(&signals, &signo);
  endpoint.shutdown();
  caf::anon_send_exit(answering, caf::exit_reason::user_shutdown);
  return 0;
}
