// live_writer.hpp: one thread that writes the live part of every event stream.
//
// cpp-httplib gives each connection a thread, and its writes poll the socket several times
// each; with a thousand clients, waking a thousand threads per event costs more than two cores
// have. So once a stream has replayed what it missed, its thread hands the connection's socket
// to the LiveWriter and sleeps until the stream ends. The writer is woken by the hub, formats
// each client's events into HTTP chunks and sends them with non-blocking writes from an epoll
// loop, which also notices clients that hang up and keeps heartbeats. A client whose unsent
// bytes or events pass its limits is dropped, as a slow client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hub.hpp"
#include "metrics.hpp"

namespace ssebridge {

class LiveWriter {
 public:
  /// `heartbeat` zero disables heartbeats; `limits` bound what one client may have unsent.
  LiveWriter(Metrics& metrics, std::chrono::milliseconds heartbeat, QueueLimits limits);
  ~LiveWriter();

  LiveWriter(const LiveWriter&) = delete;
  LiveWriter& operator=(const LiveWriter&) = delete;

  /// Starts the writer thread; false if the epoll set cannot be made.
  bool start();

  /// Ends every stream and stops the thread.
  void stop();

  /// Writes the live events of `subscription` (those above `last_sent`) to `fd`, a connection
  /// in the middle of a chunked response, until the client leaves, is dropped as slow, or the
  /// hub closes. Blocks the calling thread until then; the writer no longer touches `fd` when
  /// it returns.
  void run(int fd, std::shared_ptr<Subscription> subscription, std::int64_t last_sent);

  struct Stream;

 private:
  void loop();
  void serve(const std::shared_ptr<Stream>& stream);
  void flush(const std::shared_ptr<Stream>& stream);
  void append_chunk(Stream& stream, const std::string& payload);
  void end(const std::shared_ptr<Stream>& stream);
  void mark_ready(const std::shared_ptr<Stream>& stream);
  void wake();

  Metrics& metrics_;
  const std::chrono::milliseconds heartbeat_;
  const QueueLimits limits_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  std::mutex mutex_;  // guards what other threads hand over
  std::vector<std::shared_ptr<Stream>> incoming_;
  std::vector<std::shared_ptr<Stream>> ready_;
  bool stopping_ = false;

  // Owned by the writer thread.
  std::unordered_map<int, std::shared_ptr<Stream>> streams_;
};

/// The socket of the connection `req` arrived on, found by its addresses among this
/// process's descriptors (cpp-httplib 0.11 does not expose it); -1 if none matches.
int find_connection_socket(const std::string& remote_addr, int remote_port,
                           const std::string& local_addr, int local_port);

}  // namespace ssebridge
