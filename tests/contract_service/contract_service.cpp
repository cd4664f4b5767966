// contract_service.cpp: the routes of the conformance test service.
#include "contract_service.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <utility>
#include <variant>

namespace ssekit::contract {
namespace {

using Json = nlohmann::json;

/// What the harness may test beyond the core spec, each backed by an ssekit feature:
/// comments (on_comment), headers/post/report (ClientOptions::headers, method, body),
/// last-event-id (ClientOptions::last_event_id), read-timeout (idle_timeout), restart (a new
/// client at the last event ID), server-directed-shutdown-request (204 stops the client),
/// event-type-listeners (accepted; every type arrives anyway), bom (the parser strips one BOM
/// however it is split), payload-size-stress-testable (events up to 16 MiB pass), 204 (the
/// harness's own name for "a 204 stops reconnecting", which it tests under that capability).
const char* const kCapabilities[] = {
    "comments",
    "headers",
    "last-event-id",
    "post",
    "report",
    "read-timeout",
    "restart",
    "server-directed-shutdown-request",
    "event-type-listeners",
    "bom",
    "payload-size-stress-testable",
    "204",
};

/// Worker threads answering the harness. Each keep-alive connection of the harness holds one
/// while open; the harness uses a few at a time, so this leaves ample room.
constexpr std::size_t kWorkerThreads = 32;

/// Largest request body accepted: create requests and commands are a few hundred bytes.
constexpr std::size_t kMaxRequestBytes = std::size_t{1} << 20;

void refuse(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(Json{{"error", message}}.dump(), "application/json");
}

}  // namespace

ContractService::ContractService() {
  server_.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server_.set_payload_max_length(kMaxRequestBytes);
  install_routes();
}

ContractService::~ContractService() {
  std::map<std::string, std::shared_ptr<StreamEntity>> streams;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streams.swap(streams_);
  }
  streams.clear();  // closes each client outside the lock
}

int ContractService::bind(const std::string& host, int port) {
  host_ = host;
  if (port == 0) {
    port_ = server_.bind_to_any_port(host.c_str());
  } else {
    port_ = server_.bind_to_port(host.c_str(), port) ? port : -1;
  }
  return port_;
}

bool ContractService::run() {
  return server_.listen_after_bind();
}

void ContractService::stop() {
  server_.stop();
}

void ContractService::install_routes() {
  server_.Get("/", [](const httplib::Request&, httplib::Response& response) {
    const Json status{{"name", "ssekit"}, {"capabilities", kCapabilities}};
    response.set_content(status.dump(), "application/json");
  });

  server_.Delete("/", [this](const httplib::Request&, httplib::Response& response) {
    std::cerr << "contract_service: told to exit\n";
    response.status = 204;
    stop();  // the answer still goes out: the server finishes this request before it stops
  });

  server_.Post("/", [this](const httplib::Request& request, httplib::Response& response) {
    create_stream(request, response);
  });
  server_.Post(R"(/streams/(\d+))",
               [this](const httplib::Request& request, httplib::Response& response) {
                 send_command(request, response);
               });
  server_.Delete(R"(/streams/(\d+))",
                 [this](const httplib::Request& request, httplib::Response& response) {
                   close_stream(request, response);
                 });
}

/// POST /: checks the parameters, starts the client and answers 201 with its Location. Bad
/// parameters, and options the client itself refuses (a header with a line break, a method
/// that is not a token), answer 400 and leave nothing running.
void ContractService::create_stream(const httplib::Request& request, httplib::Response& response) {
  auto parsed = parse_stream_params(request.body);
  if (auto* error = std::get_if<ParamsError>(&parsed)) {
    refuse(response, 400, error->message);
    return;
  }
  auto& params = std::get<StreamParams>(parsed);
  const std::string tag = params.tag;
  auto entity = std::make_shared<StreamEntity>(std::move(params));
  if (const Error error = entity->start()) {
    refuse(response, 400, error.message);
    return;
  }

  std::string id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = std::to_string(++created_);
    streams_.emplace(id, std::move(entity));
  }
  std::cerr << "contract_service: stream " << id << " started for [" << tag << "]\n";
  response.status = 201;
  response.set_header("Location", location_of(request, id));
}

/// POST /streams/{n}: runs a restart or listen command; 400 for anything else.
void ContractService::send_command(const httplib::Request& request, httplib::Response& response) {
  std::shared_ptr<StreamEntity> entity;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = streams_.find(request.matches[1].str());
    if (it != streams_.end()) entity = it->second;
  }
  if (!entity) {
    refuse(response, 404, "no such stream");
    return;
  }

  const Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  const auto command = body.is_object() ? body.find("command") : body.end();
  if (command == body.end() || !command->is_string()) {
    refuse(response, 400, "the body must be a JSON object with a string \"command\"");
    return;
  }

  if (*command == "restart") {
    if (const Error error = entity->restart()) {
      refuse(response, 500, error.message);
      return;
    }
    response.status = 204;
  } else if (*command == "listen") {
    // Early 2.x harnesses spelled the member "Listen" (an untagged Go field); later ones
    // "listen", as the spec does.
    auto listen = body.find("listen");
    if (listen == body.end()) listen = body.find("Listen");
    if (listen == body.end() || !listen->is_object() || !listen->contains("type") ||
        !(*listen)["type"].is_string()) {
      refuse(response, 400, "listen needs {\"listen\": {\"type\": \"...\"}}");
      return;
    }
    entity->listen((*listen)["type"].get<std::string>());
    response.status = 204;
  } else {
    refuse(response, 400, "unknown command " + command->dump());
  }
}

/// DELETE /streams/{n}: closes the client; 204, or 404 when there is no such stream.
void ContractService::close_stream(const httplib::Request& request, httplib::Response& response) {
  std::shared_ptr<StreamEntity> entity;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = streams_.find(request.matches[1].str());
    if (it != streams_.end()) {
      entity = std::move(it->second);
      streams_.erase(it);
    }
  }
  if (!entity) {
    refuse(response, 404, "no such stream");
    return;
  }
  entity.reset();  // closes the client now, unless a command in flight still holds it
  response.status = 204;
}

/// The absolute URL of stream `id`, on the host name the harness used to reach us.
std::string ContractService::location_of(const httplib::Request& request,
                                         const std::string& id) const {
  std::string authority = request.get_header_value("Host");
  if (authority.empty()) authority = host_ + ":" + std::to_string(port_);
  return "http://" + authority + "/streams/" + id;
}

}  // namespace ssekit::contract
