// faults.hpp: /faults/..., scripted misbehaviour for testing SSE clients. Every fault is
// deterministic: the same request gets the same bytes. docs/faults.md lists them all.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include <httplib.h>

#include "sse_stream.hpp"

namespace ssebridge {

class Faults {
 public:
  /// Streaming faults take a slot from `slots` like any stream.
  explicit Faults(ClientSlots& slots);

  /// Registers GET /faults and GET /faults/<name>.
  void add_routes(httplib::Server& server);

  /// Ends every stalled or endless fault stream: the server is stopping.
  void stop();

  /// Waits up to `timeout`; true as soon as stop() was called.
  bool wait_stopped(std::chrono::milliseconds timeout);
  bool stopped() const { return stopped_.load(); }

 private:
  ClientSlots& slots_;
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace ssebridge
