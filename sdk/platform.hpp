// poller.hpp: the loop's one platform seam: how its thread sleeps until a socket is ready, a
// libcurl timer is due or another thread wakes it, and how it then hands the work to libcurl.
//
// One implementation is compiled in, chosen by the CMake cache variable SSEKIT_LOOP_BACKEND:
// - "epoll" (poller_epoll.cpp, Linux, the default there): epoll and an eventfd, driving libcurl
//   with curl_multi_socket_action, so a wake-up costs work for the ready sockets only and
//   10,000 idle streams cost nothing between their heartbeats.
// - "portable" (poller_portable.cpp, the default elsewhere): libcurl's own curl_multi_poll and
//   curl_multi_wakeup (libcurl >= 7.68), then curl_multi_perform. It uses no OS call of its own,
//   so it builds for Windows and macOS, but every wake-up walks every transfer.
// Everything above this seam (tasks, timers, transfers, origins) is the same on every platform.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>

namespace ssekit::detail {

/// Waits for what libcurl and the loop care about, then lets libcurl act on it.
class Poller {
 public:
  virtual ~Poller() = default;

  /// Sleeps until a socket libcurl watches is ready, libcurl's own timer is due, wake() is
  /// called or `longest` has passed, then lets libcurl work on whatever is ready; transfer
  /// callbacks run inside this call. Loop thread only. A failed wait returns early, never throws.
  virtual void wait_and_drive(std::chrono::milliseconds longest) = 0;

  /// Ends the current wait early, or the next one if none is in progress. Any thread; cheap
  /// enough to call on every post. Several calls before a wait may end only one wait.
  virtual void wake() = 0;
};

/// The poller this build was configured with, bound to `multi`. It installs whatever libcurl
/// callbacks it needs on `multi` and must outlive curl_multi_cleanup(multi), which can still
/// call them. Throws std::runtime_error when the system refuses what it needs.
std::unique_ptr<Poller> make_poller(CURLM* multi);

}  // namespace ssekit::detail
