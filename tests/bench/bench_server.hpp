// bench_server.hpp: the event streams of the end-to-end benchmark and the cpp-httplib server
// on 127.0.0.1 that sends them, built once so the server costs as little as possible per byte.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ssekit::bench {

/// One stream, held whole in memory: its event-stream bytes, and the same bytes framed as one
/// HTTP chunk per event (the chunk-size lines, CRLFs and the last chunk included).
struct EventStream {
  std::string name;
  std::string body;
  std::string body_chunked_per_event;
  std::size_t events = 0;
};

/// `count` events of about 70 bytes: an id, a type and one line of JSON, as a dashboard feed
/// sends them.
EventStream small_event_stream(std::size_t count);

/// `count` events of 4 KiB of data over four data lines, and an id.
EventStream large_event_stream(std::size_t count);

/// How the server frames a stream into HTTP chunks.
enum class Chunking {
  /// 64 KiB per chunk (the last one shorter): one sink.write of cpp-httplib's chunked content
  /// provider each.
  block_64k,
  /// One chunk per event. Written pre-framed in large slices: a sink.write per event would make
  /// the server (a syscall and two copies per event) the bottleneck instead of the clients.
  per_event,
};

/// A cpp-httplib server on 127.0.0.1 (port chosen by the OS) serving each stream at
/// /<name>/64k and /<name>/event, and an empty one at /empty. Runs on its own thread until
/// destroyed.
class ThroughputServer {
 public:
  explicit ThroughputServer(std::vector<EventStream> streams);
  ~ThroughputServer();

  ThroughputServer(const ThroughputServer&) = delete;
  ThroughputServer& operator=(const ThroughputServer&) = delete;

  /// http://127.0.0.1:<port>/<stream>/<64k|event>
  std::string url(const std::string& stream, Chunking chunking) const;

  /// http://127.0.0.1:<port>/empty: a stream without a byte.
  std::string empty_url() const;

  const std::vector<EventStream>& streams() const { return streams_; }

 private:
  std::vector<EventStream> streams_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace ssekit::bench
