// platform.hpp: the SDK's one platform seam. Everything that differs between Linux, macOS and
// Windows sits behind the two things declared here; the rest of sdk/ uses no OS call.
//
// How the loop thread sleeps until a socket is ready, a libcurl timer is due or another thread
// wakes it (Poller). One implementation is compiled in, chosen by the CMake cache variable
// SSEKIT_LOOP_BACKEND:
// - "epoll" (poller_epoll.cpp, Linux, the default there): epoll and an eventfd, driving libcurl
//   with curl_multi_socket_action, so a wake-up costs work for the ready sockets only and
//   10,000 idle streams cost nothing between their heartbeats.
// - "portable" (poller_portable.cpp, the default elsewhere): libcurl's own curl_multi_poll and
//   curl_multi_wakeup (libcurl >= 7.68), then curl_multi_perform. It uses no OS call of its own,
//   so it builds for Windows and macOS, but every wake-up walks every transfer.
//
// How a socket libcurl opens is kept from child processes (mark_socket_not_inherited):
// socket_posix.cpp on Linux and macOS, socket_windows.cpp on Windows.
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

/// libcurl's socket option callback (CURLOPT_SOCKOPTFUNCTION) for every transfer: keeps the
/// new socket from being inherited by child processes the app starts, which would hold a
/// stream's connection open after the client dropped it (close-on-exec on POSIX, no handle
/// inheritance on Windows). Never fails the connection: a socket it cannot mark still works.
int mark_socket_not_inherited(void* unused, curl_socket_t socket, curlsocktype purpose);

}  // namespace ssekit::detail
