// client_recorder.hpp: records what a Client reports, for tests to wait on and inspect.
//
// Attach a Recorder to a client before start(); it keeps every event, comment, state change and
// error, and wait() blocks (with a deadline) until a condition over them holds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ssekit/client.hpp"

namespace ssekit::test {

class Recorder {
 public:
  /// Generous: the suite shares two cores with other builds. Passing tests never wait this long.
  static constexpr std::chrono::milliseconds kDeadline{15000};

  void attach(Client& client) {
    client.on_open([this] { update([&] { ++opens_; }); });
    client.on_event([this](const Event& event) { update([&] { events_.push_back(event); }); });
    client.on_comment(
        [this](std::string_view text) { update([&] { comments_.emplace_back(text); }); });
    client.on_state(
        [this](const StateChange& change) { update([&] { states_.push_back(change); }); });
    client.on_error([this](const Error& error) { update([&] { errors_.push_back(error); }); });
  }

  /// Waits until `ready` (called under the recorder's lock) holds. False on timeout.
  bool wait(const std::function<bool()>& ready, std::chrono::milliseconds limit = kDeadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, ready);
  }

  bool wait_events(std::size_t count, std::chrono::milliseconds limit = kDeadline) {
    return wait([&] { return events_.size() >= count; }, limit);
  }
  bool wait_state(State state, std::size_t count = 1, std::chrono::milliseconds limit = kDeadline) {
    return wait([&] { return count_state(state) >= count; }, limit);
  }

  std::vector<Event> events() const { return locked(events_); }
  std::vector<std::string> comments() const { return locked(comments_); }
  std::vector<StateChange> states() const { return locked(states_); }
  std::vector<Error> errors() const { return locked(errors_); }
  int opens() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return opens_;
  }
  /// The state changes of one kind, in order.
  std::vector<StateChange> states_of(State state) const {
    std::vector<StateChange> out;
    for (const auto& change : states()) {
      if (change.state == state) out.push_back(change);
    }
    return out;
  }

  // Accessors for wait() predicates, which already hold the lock.
  std::size_t count_state(State state) const {
    std::size_t n = 0;
    for (const auto& change : states_)
      n += change.state == state ? 1 : 0;
    return n;
  }
  const std::vector<Event>& events_locked() const { return events_; }

 private:
  template <typename F>
  void update(F&& change) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      change();
    }
    changed_.notify_all();
  }
  template <typename T>
  T locked(const T& value) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return value;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::vector<std::string> comments_;
  std::vector<StateChange> states_;
  std::vector<Error> errors_;
  int opens_ = 0;
};

/// Polls `ready` (a condition the recorder is not told about) until it holds. False on timeout.
inline bool poll_until(const std::function<bool()>& ready,
                       std::chrono::milliseconds limit = Recorder::kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

/// A random source that always draws `value`: 0 gives the jitter factor 0.7, 1 gives 1.0.
inline RandomSource fixed_random(double value) {
  return [value] { return value; };
}

/// Options for fast tests: short delays, no jitter, a generous watchdog.
inline ClientOptions fast_options(const std::string& url) {
  ClientOptions options;
  options.url = url;
  options.reconnect_policy.initial = std::chrono::milliseconds(20);
  options.reconnect_policy.max = std::chrono::milliseconds(200);
  options.random = fixed_random(1.0);
  options.idle_timeout = std::chrono::milliseconds(10000);
  return options;
}

}  // namespace ssekit::test
