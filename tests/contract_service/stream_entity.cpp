// stream_entity.cpp: an ssekit client whose events, comments and errors become callbacks.
#include "stream_entity.hpp"

#include <iostream>
#include <utility>

namespace ssekit::contract {

StreamEntity::StreamEntity(StreamParams params)
    : params_(std::move(params)), sender_(params_.callback_url, params_.tag) {}

StreamEntity::~StreamEntity() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (client_) client_->close();  // before sender_ goes: no callback may queue into it after
  client_.reset();
}

/// Builds a client whose callbacks queue harness messages. They run on the loop thread, so
/// they only copy and queue; the sender thread does the JSON text and the HTTP.
std::unique_ptr<Client> StreamEntity::make_client(ClientOptions options) {
  const std::string tag = params_.tag;
  options.logger = [tag](LogLevel level, std::string_view line) {
    std::cerr << "contract_service [" << tag << "] " << to_string(level) << ": " << line << '\n';
  };

  auto client = std::make_unique<Client>(std::move(options));
  client->on_event([this](const Event& event) {
    sender_.post({{"kind", "event"},
                  {"event", {{"type", event.type}, {"data", event.data}, {"id", event.id}}}});
  });
  client->on_comment([this](std::string_view text) {
    sender_.post({{"kind", "comment"}, {"comment", std::string(text)}});
  });
  client->on_error([this](const Error& error) {
    // Parser limit errors, dropped links and refused statuses alike: the harness's read-timeout
    // test waits for exactly this message before it expects the reconnect.
    sender_.post(
        {{"kind", "error"}, {"error", std::string(to_string(error.code)) + ": " + error.message}});
  });
  return client;
}

Error StreamEntity::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  client_ = make_client(params_.options);
  return client_->start();
}

Error StreamEntity::restart() {
  std::lock_guard<std::mutex> lock(mutex_);
  ClientOptions options = params_.options;
  if (client_) {
    // close() returns once no callback of the old client can run, so nothing it reports can
    // land after what the new one reports.
    client_->close();
    options.last_event_id = client_->last_event_id();
  }
  client_ = make_client(std::move(options));
  return client_->start();
}

void StreamEntity::listen(const std::string& type) const {
  std::cerr << "contract_service [" << params_.tag << "]: listening for '" << type
            << "' (every type is delivered already)\n";
}

}  // namespace ssekit::contract
