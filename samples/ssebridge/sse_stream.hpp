// sse_stream.hpp: one SSE response, from open to close, as a cpp-httplib chunked provider.
//
// cpp-httplib runs each connection on one thread of its task queue and calls the provider in a
// loop. Each call here does one bounded step: the opening `retry:`, a `reset`, or one page of
// replay. Then the live part: handed to the LiveWriter when the connection's socket is known,
// else written by this thread, which waits on the subscription (a condition variable, woken by
// events; it times out for the heartbeat and for a cheap check that the client is still
// there). A step that cannot write returns false, which ends the response and releases
// everything the stream held.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "live_writer.hpp"
#include "metrics.hpp"
#include "store.hpp"

namespace ssebridge {

/// Counts open streams against --max-clients. Every streaming endpoint (events, demo, faults)
/// holds a slot, because each holds a server thread.
class ClientSlots {
 public:
  class Slot {
   public:
    explicit Slot(ClientSlots* owner) : owner_(owner) {}
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (owner_ != nullptr) owner_->in_use_.fetch_sub(1);
    }

   private:
    ClientSlots* owner_;
  };

  explicit ClientSlots(size_t max) : max_(max) {}

  /// A slot, or nullopt when all `max` are taken.
  std::optional<Slot> try_acquire();

  size_t in_use() const { return in_use_.load(); }
  size_t max() const { return max_; }

 private:
  const size_t max_;
  std::atomic<size_t> in_use_{0};
};

struct StreamSettings {
  /// `retry:` sent when the stream opens; zero sends none (a comment opens the stream).
  std::chrono::milliseconds retry{3000};
  /// A comment this long after the last write keeps proxies and client watchdogs content;
  /// zero disables it. Default 15 s.
  std::chrono::milliseconds heartbeat{15000};
  /// How often an idle stream checks that its client is still connected, so a client that
  /// left frees its slot without waiting for the next heartbeat. Default 1 s.
  std::chrono::milliseconds liveness_check{1000};
  /// Events read from the store per replay step. Default 500.
  size_t replay_page = 500;
  /// Writes the live part of streams whose socket is known; null: each stream's own thread
  /// writes (and checks its client every liveness_check).
  LiveWriter* live_writer = nullptr;
};

/// The headers every event stream answers with: no caching, no proxy buffering.
void set_stream_headers(httplib::Response& res);

/// Turns `res` into the SSE stream of `channels` from `store`, resuming as `start` says. The
/// stream keeps `slot` and the subscription until it ends. `socket` is the connection's
/// descriptor when known (-1 if not): the live part is then handed to settings.live_writer.
void serve_stream(httplib::Response& res, Store& store, std::vector<std::string> channels,
                  StreamStart start, ClientSlots::Slot slot, const StreamSettings& settings,
                  Metrics& metrics, int socket);

}  // namespace ssebridge
