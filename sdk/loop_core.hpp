// loop_core.hpp: the engine of a Loop: one thread, one curl multi handle, timers and a queue of
// work posted from other threads.
//
// How the thread waits is the one platform-specific part and sits behind Poller (platform.hpp):
// on Linux epoll and curl_multi_socket_action, so the work of one wake-up is proportional to
// the sockets that are ready, not to the number of streams (10,000 idle streams cost nothing
// between their heartbeats); elsewhere libcurl's own curl_multi_poll. This file and loop.cpp
// use no OS call.
//
// Everything but post(), start(), stop() and on_loop_thread() must be called on the loop
// thread.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ssekit::detail {

class Poller;

/// A transfer the loop drives: told when libcurl finishes it.
class Transfer {
 public:
  virtual ~Transfer() = default;
  /// The transfer ended with `result` (CURLE_OK for a clean end). Called on the loop thread
  /// outside any libcurl call, with the handle still in the multi handle: remove it.
  virtual void on_transfer_done(CURLcode result) = 0;
};

class LoopCore {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = std::uint64_t;
  using Task = std::function<void()>;

  LoopCore();
  /// Stops the thread (as stop()) and frees the multi handle.
  ~LoopCore();

  LoopCore(const LoopCore&) = delete;
  LoopCore& operator=(const LoopCore&) = delete;

  /// Starts the thread unless it runs already. Any thread. False once stopped.
  bool start();

  /// Queues `task` to run on the loop thread, after the current step, in posting order.
  /// Any thread, the loop thread included. False (and the task dropped) once stopped.
  bool post(Task task);

  /// Stops the thread and joins it. Any thread but the loop thread; idempotent.
  void stop();

  /// From the loop thread only (a Loop destroyed inside a callback): the thread ends after the
  /// current step and deletes this LoopCore itself. The caller must forget the pointer.
  void stop_and_release_from_loop_thread();

  bool on_loop_thread() const noexcept { return thread_id_.load() == std::this_thread::get_id(); }

  /// True while the loop is inside a libcurl call, where handles may not be removed.
  bool in_curl() const noexcept { return in_curl_ > 0; }

  /// Runs `task` at `when` (not before). Returns an id for cancel_timer; never 0.
  TimerId add_timer(Clock::time_point when, Task task);
  /// Cancels a timer that has not fired. 0 and unknown ids are ignored.
  void cancel_timer(TimerId id);

  /// Adds `easy` (whose CURLOPT_PRIVATE must be `transfer`) to the multi handle.
  CURLMcode add_transfer(CURL* easy);
  /// Removes `easy` from the multi handle. Not inside a libcurl callback.
  void remove_transfer(CURL* easy);

  /// Calls curl_easy_pause on the loop thread, marked as a libcurl call.
  void pause(CURL* easy, int bitmask);

  /// What the loop knows of one origin's HTTP version, so that streams to an HTTP/2 origin share
  /// one connection. While the first stream to an unknown https origin negotiates (`probing`),
  /// others to it park a task in `waiting`; the answer releases them.
  struct OriginState {
    bool known = false;
    bool http2 = false;
    bool probing = false;
    std::vector<Task> waiting;
  };
  /// Origins (scheme://host:port) by what is known of them. Loop thread only.
  std::unordered_map<std::string, OriginState>& origins() noexcept { return origins_; }

  /// Records new connections made (CURLINFO_NUM_CONNECTS of a transfer). Loop thread only.
  void count_connections(long made) noexcept { connections_ += made > 0 ? made : 0; }
  /// Connections libcurl opened for streams on this loop. Any thread (for tests).
  std::size_t connection_count() const noexcept { return connections_.load(); }

  /// Transfers currently in the multi handle. Any thread (for tests and diagnostics).
  std::size_t transfer_count() const noexcept { return transfers_.load(); }

 private:
  struct CurlCall;  // marks the extent of a libcurl call

  void run();
  void step();
  std::chrono::milliseconds longest_wait() const;
  void run_tasks();
  void run_timers();
  void read_done_transfers();

  CURLM* multi_ = nullptr;
  std::unique_ptr<Poller> poller_;  // after multi_: built on it, and outlives its cleanup

  std::mutex mutex_;  // guards tasks_, stopped_, thread_
  std::vector<Task> tasks_;
  bool stopped_ = false;
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> wake_pending_{false};
  std::atomic<std::thread::id> thread_id_{};
  bool delete_on_exit_ = false;

  // Loop thread only.
  int in_curl_ = 0;
  std::atomic<std::size_t> transfers_{0};
  TimerId next_timer_id_ = 1;
  std::map<std::pair<Clock::time_point, TimerId>, Task> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;
  std::unordered_map<std::string, OriginState> origins_;
  std::atomic<std::size_t> connections_{0};
};

/// Initialises libcurl once per process (curl_global_init is not to be raced).
void ensure_curl_initialized();

}  // namespace ssekit::detail
