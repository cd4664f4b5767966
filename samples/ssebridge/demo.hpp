// demo.hpp: the /demo/ticks stream, which needs no database. A ticker thread publishes one
// `tick` event per interval into its own in-memory store: a counter (equal to the event id)
// and a random-walk value, so every viewer sees the same series and a reconnecting viewer
// resumes it by Last-Event-ID.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "memory_store.hpp"

namespace ssebridge {

class DemoTicker {
 public:
  /// The channel the ticks are published on, inside the demo's own store.
  static constexpr const char* kChannel = "ticks";

  explicit DemoTicker(std::chrono::milliseconds interval);
  ~DemoTicker();

  DemoTicker(const DemoTicker&) = delete;
  DemoTicker& operator=(const DemoTicker&) = delete;

  /// Starts the ticker thread.
  void start();
  /// Stops it and closes the store; open demo streams end.
  void stop();

  Store& store() { return store_; }

 private:
  void run();

  const std::chrono::milliseconds interval_;
  MemoryStore store_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace ssebridge
