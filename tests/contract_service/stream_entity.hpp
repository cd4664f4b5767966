// stream_entity.hpp: one SSE client the harness created, and the commands it can be sent.
//
// The entity runs an ssekit::Client and turns what it reports into the harness's callback
// messages: every event, every comment, every error (each recoverable one too, since the
// harness checks that a read timeout is reported before the reconnect).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "callback_sender.hpp"
#include "ssekit/client.hpp"
#include "stream_params.hpp"

namespace ssekit::contract {

class StreamEntity {
 public:
  /// Keeps the parameters; does no I/O until start().
  explicit StreamEntity(StreamParams params);
  /// Closes the client (no callback is queued after that) and stops the sender.
  ~StreamEntity();

  StreamEntity(const StreamEntity&) = delete;
  StreamEntity& operator=(const StreamEntity&) = delete;

  /// Starts the client. An error means the options were refused (bad URL, header or method)
  /// and nothing runs.
  [[nodiscard]] Error start();

  /// The harness's "restart": drop the connection and connect again at once, with the last
  /// event ID seen, reporting no error. ssekit's Client has no call for that, so the client is
  /// closed and a new one started with the same options; to the server and the harness the two
  /// are the same. Returns the new client's start error, if any.
  [[nodiscard]] Error restart();

  /// The harness's "listen" for an event type. ssekit hands every type to one callback, so
  /// nothing needs to change; the request is only logged.
  void listen(const std::string& type) const;

 private:
  std::unique_ptr<Client> make_client(ClientOptions options);

  StreamParams params_;
  CallbackSender sender_;

  std::mutex mutex_;  // serialises start, restart and close; guards client_
  std::unique_ptr<Client> client_;
};

}  // namespace ssekit::contract
