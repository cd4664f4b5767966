// ssekit/loop.hpp: the thread that drives streams.
//
// A Loop is one thread around one libcurl multi handle. Every state change of every client on
// it happens on that thread, and every callback runs there. Clients share a loop when the app
// passes the same one in ClientOptions::loop: many streams then cost one thread, and streams to
// the same HTTP/2 origin share one connection.
//
//   auto loop = std::make_shared<ssekit::Loop>();
//   options_a.loop = loop;
//   options_b.loop = loop;
#pragma once

#include <memory>

namespace ssekit {

namespace detail {
class LoopCore;
}

/// One thread and one libcurl multi handle that drive any number of clients.
class Loop {
 public:
  /// Creates the loop. The thread starts with the first client and stops when the Loop is
  /// destroyed (after closing every client still on it).
  Loop();
  ~Loop();

  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// True when called on this loop's thread (inside a callback).
  bool on_loop_thread() const noexcept;

  /// Internal: the engine behind the loop. Not part of the stable API.
  detail::LoopCore& core() noexcept { return *core_; }

 private:
  std::unique_ptr<detail::LoopCore> core_;
};

}  // namespace ssekit
