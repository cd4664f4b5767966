// bench_server.cpp: the end-to-end benchmark's streams and their cpp-httplib server.
#include "bench_server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace ssekit::bench {
namespace {

constexpr std::size_t kBlockChunkSize = 64 * 1024;  // "64 KiB HTTP chunks"

// Pre-framed per-event bytes are handed to the socket this much at a time: large enough that
// the server spends its time in the kernel copying, not in calls.
constexpr std::size_t kSliceSize = 1024 * 1024;

constexpr std::size_t kLargeEventBytes = 4096;
constexpr std::size_t kLargeEventLines = 4;

constexpr char kEventStreamType[] = "text/event-stream";

// A server thread that has not entered its accept loop by then never will.
constexpr auto kStartTimeout = std::chrono::seconds(10);

// Appends `event` as one HTTP chunk: size in hex, CRLF, bytes, CRLF.
void append_chunk(std::string& wire, const std::string& event) {
  char size_line[32];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", event.size());
  wire.append(size_line, static_cast<std::size_t>(n)).append(event).append("\r\n");
}

// Builds a stream from `count` events made by `make_event(i)`.
template <typename MakeEvent>
EventStream build_stream(std::string name, std::size_t count, MakeEvent make_event) {
  EventStream stream;
  stream.name = std::move(name);
  stream.events = count;
  std::string event;
  for (std::size_t i = 0; i < count; ++i) {
    make_event(i, event);
    stream.body += event;
    append_chunk(stream.body_chunked_per_event, event);
  }
  stream.body_chunked_per_event += "0\r\n\r\n";  // the last chunk ends the body
  return stream;
}

}  // namespace

EventStream small_event_stream(std::size_t count) {
  return build_stream("small", count, [](std::size_t i, std::string& event) {
    char text[160];
    const int n =
        std::snprintf(text, sizeof text,
                      "id: %zu\nevent: tick\ndata: {\"seq\":%zu,\"value\":%zu.25,\"ok\":true}\n\n",
                      i, i, i % 997);  // 997: a prime, so values do not repeat in step
    event.assign(text, static_cast<std::size_t>(n));
  });
}

EventStream large_event_stream(std::size_t count) {
  const std::string line(kLargeEventBytes / kLargeEventLines - 1, 'x');  // + LF from the join
  return build_stream("4k", count, [&](std::size_t i, std::string& event) {
    event = "id: " + std::to_string(i) + "\n";
    for (std::size_t n = 0; n < kLargeEventLines; ++n)
      event += "data: " + line + "\n";
    event += "\n";
  });
}

ThroughputServer::ThroughputServer(std::vector<EventStream> streams)
    : streams_(std::move(streams)) {
  for (const EventStream& stream : streams_) {
    const EventStream* source = &stream;

    server_.Get("/" + stream.name + "/64k",
                [source](const httplib::Request&, httplib::Response& response) {
                  response.set_header("Cache-Control", "no-cache");
                  response.set_chunked_content_provider(
                      kEventStreamType, [source](std::size_t offset, httplib::DataSink& sink) {
                        const std::string& body = source->body;
                        if (offset >= body.size()) {
                          sink.done();
                          return true;
                        }
                        const std::size_t size = std::min(kBlockChunkSize, body.size() - offset);
                        return sink.write(body.data() + offset, size);
                      });
                });

    // cpp-httplib frames every sink.write as a chunk of its own; to send one chunk per event
    // without a write per event, the body goes out pre-framed through the provider that adds no
    // framing, with the Transfer-Encoding header set here.
    server_.Get("/" + stream.name + "/event",
                [source](const httplib::Request&, httplib::Response& response) {
                  response.set_header("Cache-Control", "no-cache");
                  response.set_header("Transfer-Encoding", "chunked");
                  response.set_content_provider(
                      kEventStreamType, [source](std::size_t offset, httplib::DataSink& sink) {
                        const std::string& wire = source->body_chunked_per_event;
                        if (offset >= wire.size()) {
                          sink.done();
                          return true;
                        }
                        const std::size_t size = std::min(kSliceSize, wire.size() - offset);
                        return sink.write(wire.data() + offset, size);
                      });
                });
  }

  // An empty stream: what a reader costs before its first byte (curl's process start, say).
  server_.Get("/empty", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("", kEventStreamType);
  });

  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("the bench server cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });

  // The socket listens already (connections wait in its backlog), but stop() is a no-op until
  // the accept loop runs: wait for it so the destructor cannot hang on join.
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_.is_running()) throw std::runtime_error("the bench server did not start");
}

ThroughputServer::~ThroughputServer() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

std::string ThroughputServer::url(const std::string& stream, Chunking chunking) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + stream +
         (chunking == Chunking::block_64k ? "/64k" : "/event");
}

std::string ThroughputServer::empty_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/empty";
}

}  // namespace ssekit::bench
