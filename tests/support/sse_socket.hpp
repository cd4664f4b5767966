// sse_socket.hpp: an HTTP/1.1 GET on a raw socket that reads an SSE response byte for byte.
//
// Bridge tests need to see exactly what the server sent (chunk sizes, invalid UTF-8, a
// connection dropped without the final chunk) and to misbehave as a client would (stop
// reading, leave), so this reads the socket itself instead of using an SSE library. It
// decodes chunked and plain bodies and parses events the WHATWG way, keeping bytes as sent.
//
//   ssekit::test::SseSocket s(port, "/events?channel=a", {{"Last-Event-ID", "4"}});
//   REQUIRE(s.status() == 200);
//   auto e = s.next_event(5s);  // nullopt on timeout or end of stream
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ssekit::test {

struct SseEvent {
  std::string id;  ///< the id field of this event, "" when it had none
  std::string type = "message";
  std::string data;
};

class SseSocket {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// Connects to 127.0.0.1:`port`, sends GET `target` and reads the response head (throws if
  /// it does not come within 10 s). `receive_buffer` > 0 shrinks SO_RCVBUF before connecting,
  /// to play a client whose socket fills quickly.
  SseSocket(int port, const std::string& target, const Headers& headers = {},
            int receive_buffer = 0);
  ~SseSocket();

  SseSocket(const SseSocket&) = delete;
  SseSocket& operator=(const SseSocket&) = delete;

  int status() const { return status_; }
  /// A response header by case-insensitive name, "" when absent.
  std::string header(const std::string& name) const;

  /// The next event, reading as needed; nullopt when `timeout` passes or the stream ends.
  std::optional<SseEvent> next_event(std::chrono::milliseconds timeout);

  /// Reads `count` events; fewer if `timeout` (for all of them) passes or the stream ends.
  std::vector<SseEvent> events(size_t count, std::chrono::milliseconds timeout);

  /// Reads until the server closes the connection; false if it is still open after `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);

  /// Whether the body ended with the final zero-length chunk (a clean end), as opposed to the
  /// connection being dropped.
  bool ended_cleanly() const { return clean_end_; }

  /// The body bytes received so far, decoded from chunks.
  const std::string& body() const { return body_; }
  /// The payload size of every chunk received so far.
  const std::vector<size_t>& chunk_sizes() const { return chunk_sizes_; }
  /// The last retry: value seen, -1 if none.
  long retry() const { return retry_; }
  /// Comment lines seen so far.
  size_t comments() const { return comments_; }

  /// Closes the socket: the client leaves.
  void close();

 private:
  bool read_more(std::chrono::steady_clock::time_point deadline);
  void decode_body();
  bool parse_line(std::string_view line);

  int fd_ = -1;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  bool chunked_ = false;
  bool closed_ = false;
  bool clean_end_ = false;
  std::string raw_;    // received, not yet decoded
  std::string body_;   // decoded body
  size_t parsed_ = 0;  // bytes of body_ parsed into events
  std::vector<size_t> chunk_sizes_;
  std::vector<SseEvent> ready_;
  SseEvent pending_;
  bool pending_has_data_ = false;
  long retry_ = -1;
  size_t comments_ = 0;
};

}  // namespace ssekit::test
