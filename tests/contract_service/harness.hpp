// harness.hpp: the conformance harness's side of the contract service protocol, for tests.
//
// What LaunchDarkly's sse-contract-tests does around a test service, rebuilt on 127.0.0.1:
// ServiceProcess runs the contract_service binary; StreamServer is the SSE endpoint its client
// connects to; CallbackServer receives its numbered messages; ClientUnderTest asks the service
// for a client and deletes it again.
//
//   ServiceProcess service;
//   httplib::Client http("127.0.0.1", service.port());
//   StreamServer stream;
//   CallbackServer callbacks;
//   ClientUnderTest client(http, stream, callbacks, {{"initialDelayMs", 0}});
//   stream.await_connection(0)->send("data: Hello\n\n");
//   auto message = callbacks.next();  // {"kind": "event", "event": {...}}
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ssekit::contract::test {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

/// How long the harness waits for any one callback message or connection; ours too.
inline constexpr std::chrono::seconds kMessageTimeout{5};

/// Pause between the pieces of a paced write, so that each arrives as a read of its own (as
/// the harness's separate writes do) instead of merging with the next in the socket.
inline constexpr std::chrono::milliseconds kChunkGap{5};

/// The contract_service binary, started with `--port 0`; its port read from its first line.
/// Killed when destroyed, unless it has exited.
class ServiceProcess {
 public:
  ServiceProcess();
  ~ServiceProcess();

  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  /// The port the service listens on, or -1 when it did not start.
  int port() const { return port_; }

  /// Waits until the service exits or `limit` passes. Its exit status (-signal when a signal
  /// ended it), or nothing on timeout.
  std::optional<int> wait_exit(Clock::duration limit);

 private:
  int read_port(Clock::time_point deadline);

  pid_t pid_ = -1;
  int stdout_ = -1;
  int port_ = -1;
  std::optional<int> exit_status_;
};

/// A request as the stream server read it. Header names are kept in lower case.
struct StreamRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;

  /// The value of header `name` (any case), "" when absent.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
};

/// One connection of the client to the stream server. After a 200 the response body lasts
/// until this side closes it.
class StreamConnection {
 public:
  StreamConnection(int fd, StreamRequest request);
  ~StreamConnection();

  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  const StreamRequest& request() const { return request_; }

  /// Writes `bytes` now. False once the client has gone.
  bool send(std::string_view bytes);

  /// Writes `bytes` in pieces of `size` bytes, kChunkGap apart.
  bool send_in_pieces(std::string_view bytes, std::size_t size);

  /// Ends the response by closing the connection, as a server that goes away does.
  void break_connection();

  /// Waits until the client closes its end (it sends nothing after its request), or `limit`
  /// passes. True when it closed.
  bool wait_client_gone(Clock::duration limit);

 private:
  int fd_;
  StreamRequest request_;
};

/// The harness's SSE endpoint. Plain sockets rather than cpp-httplib: httplib 0.11 answers 400
/// to methods outside its own list (REPORT among them) before any handler runs, and a socket of
/// our own lets a scenario see the client hang up and cut a connection where it likes.
class StreamServer {
 public:
  /// Listens on 127.0.0.1, a port of the OS's choosing. Every request is answered with
  /// `status`: 200 opens an event stream, anything else is sent with an empty body and, when
  /// `location` is set, that Location header (an empty one included).
  explicit StreamServer(int status = 200, std::optional<std::string> location = std::nullopt);
  ~StreamServer();

  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  std::string url() const;

  /// The `index`-th connection (from 0), waiting up to `limit` for it; null on timeout.
  std::shared_ptr<StreamConnection> await_connection(std::size_t index,
                                                     Clock::duration limit = kMessageTimeout);

 private:
  void accept_loop();

  int status_;
  std::optional<std::string> location_;
  int listen_fd_ = -1;
  int port_ = -1;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::shared_ptr<StreamConnection>> connections_;
  std::thread thread_;
};

/// The harness's callback endpoint: receives `POST /callback/{n}` and hands the messages out
/// in the order of n, as the harness's sorting queue does, so a message numbered out of
/// sequence waits for its predecessors (and one never sent stops the queue).
class CallbackServer {
 public:
  CallbackServer();
  ~CallbackServer();

  CallbackServer(const CallbackServer&) = delete;
  CallbackServer& operator=(const CallbackServer&) = delete;

  /// The base URL to give the service as `callbackUrl`.
  std::string url() const;

  /// The next message in number order, waiting up to `limit`. Nothing on timeout.
  std::optional<Json> next(Clock::duration limit = kMessageTimeout);

  /// Requests to anything but /callback/{n}, as "METHOD path".
  std::vector<std::string> stray_requests();

 private:
  httplib::Server server_;
  int port_ = -1;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<std::uint64_t, std::string> received_;
  std::uint64_t next_ = 1;
  std::vector<std::string> stray_;
  std::thread thread_;
};

/// One client created in the service, deleted again when this goes (as the harness does at the
/// end of each test). Declare it after its stream and callback servers, so that it goes first.
class ClientUnderTest {
 public:
  /// Asks the service for a client of `stream` reporting to `callbacks`, with the extra
  /// parameters `params`. status() is the service's answer, path() the Location's path.
  ClientUnderTest(httplib::Client& service, const StreamServer& stream,
                  const CallbackServer& callbacks, Json params = Json::object());
  ~ClientUnderTest();

  ClientUnderTest(const ClientUnderTest&) = delete;
  ClientUnderTest& operator=(const ClientUnderTest&) = delete;

  int status() const { return status_; }
  const std::string& location() const { return location_; }
  const std::string& path() const { return path_; }

  /// Sends a command; the HTTP status, 0 when the request failed.
  int command(const Json& body);

  /// Deletes the client now; the HTTP status, 0 when the request failed. The destructor then
  /// does nothing.
  int close();

 private:
  httplib::Client& service_;
  int status_ = 0;
  std::string location_;
  std::string path_;
};

}  // namespace ssekit::contract::test
