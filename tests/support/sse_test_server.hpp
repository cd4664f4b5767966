// sse_test_server.hpp: a scripted HTTP server on 127.0.0.1 for tests of SSE clients.
//
// SseTestServer wraps a cpp-httplib server bound to 127.0.0.1 on a port the OS picks. A test
// registers a handler per path; every request is recorded (method, path, headers, body) so the
// test can check what the client sent, and wait for the n-th request with a deadline. Streamed
// responses run a script on the server's thread through a StreamWriter: write bytes as one HTTP
// chunk each, pause, or stall until the test or the server's destructor releases them.
//
//   ssekit::test::SseTestServer server;
//   server.handle("/events", [&](const auto& request, auto& response) {
//     server.stream(response, [](ssekit::test::StreamWriter& out) {
//       out.write("id: 1\ndata: hello\n\n");
//       out.stall();  // hold the connection open, silent, until released
//     });
//   });
//   options.url = server.url("/events");
//
// Handlers run on the server's worker threads, one per connection (`threads` of them, so a
// test holding N streams open needs a server with more than N threads).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ssekit::test {

/// One request as the server saw it.
struct RecordedRequest {
  std::string method;
  std::string path;   ///< Without the query string.
  std::string query;  ///< The raw query string, without '?'.
  std::multimap<std::string, std::string, httplib::detail::ci> headers;
  std::string body;

  /// The first value of header `name` (case-insensitive), or "" when absent.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
};

class SseTestServer;

/// Writes a streamed response body from the server's thread.
class StreamWriter {
 public:
  /// Sends `bytes` as one HTTP chunk. False when the client has gone or the server is stopping.
  bool write(std::string_view bytes);
  /// Sends `bytes` one byte per chunk, `gap` apart. False as write().
  bool write_bytewise(std::string_view bytes, std::chrono::milliseconds gap);
  /// Waits `duration`, or less when the server stops or release_stalls() is called. False when
  /// woken early.
  bool pause(std::chrono::milliseconds duration);
  /// Holds the connection open and silent until the server stops or release_stalls() is called.
  void stall();
  /// Blocks until `ready()` is true or the server stops (checked every few milliseconds, at most
  /// `limit`). True when ready() became true.
  bool wait_until(const std::function<bool()>& ready,
                  std::chrono::milliseconds limit = std::chrono::seconds(20));

 private:
  friend class SseTestServer;
  StreamWriter(httplib::DataSink& sink, SseTestServer& owner) : sink_(sink), owner_(owner) {}
  httplib::DataSink& sink_;
  SseTestServer& owner_;
};

class SseTestServer {
 public:
  using Handler = std::function<void(const RecordedRequest&, httplib::Response&)>;
  using Script = std::function<void(StreamWriter&)>;

  /// Binds 127.0.0.1:0 and starts serving plain HTTP with `threads` worker threads.
  explicit SseTestServer(int threads = 16);
  /// The same over TLS with the PEM certificate and key in these files (url() says https).
  /// With `client_ca_file`, a client must present a certificate that CA signed.
  SseTestServer(const std::string& cert_file, const std::string& key_file, int threads = 16,
                const std::string& client_ca_file = "");
  /// Releases every stall and stops the server, joining its threads.
  ~SseTestServer();

  SseTestServer(const SseTestServer&) = delete;
  SseTestServer& operator=(const SseTestServer&) = delete;

  int port() const noexcept { return port_; }
  /// "http://127.0.0.1:<port><path>" (https for a TLS server).
  std::string url(const std::string& path) const;
  /// The same server under the host name "localhost": another origin for redirect tests.
  std::string localhost_url(const std::string& path) const;

  /// Serves `path` (exact match, any method) with `handler`. Register before the client starts.
  void handle(const std::string& path, Handler handler);

  /// Makes `response` a 200 text/event-stream (unless the handler set another status or type)
  /// whose body `script` writes chunk by chunk. When `script` returns, the response ends cleanly.
  void stream(httplib::Response& response, Script script,
              const std::string& content_type = "text/event-stream");

  /// Every request so far, in arrival order.
  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  /// Waits until at least `count` requests have arrived. False on timeout.
  bool wait_for_requests(std::size_t count,
                         std::chrono::milliseconds limit = std::chrono::seconds(20)) const;

  /// Wakes every script in stall() or pause(), which then return (ending their responses).
  void release_stalls();
  bool stopping() const noexcept { return stopping_.load(); }

 private:
  friend class StreamWriter;

  void serve(int threads);

  std::unique_ptr<httplib::Server> server_;
  std::string scheme_ = "http";
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<RecordedRequest> requests_;
  std::uint64_t release_generation_ = 0;
};

}  // namespace ssekit::test
