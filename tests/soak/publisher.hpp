// publisher.hpp: writes numbered events through PostgreSQL at a steady rate, exactly once each.
//
// Event N has type `tick` and data `{"seq":N}` and is published with `ssekit_publish` on
// channel `soak`. When the database goes away mid-call the publisher cannot know whether the
// event committed: it reconnects, looks for the event in ssekit_events, and publishes it again
// only if it is not there. So the events 1..published() are in the table once each.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace ssekit::soak {

/// The channel and event type the soak publishes.
inline constexpr const char* kSoakChannel = "soak";
inline constexpr const char* kSoakType = "tick";

/// The data of event number `seq`.
std::string sequence_data(std::int64_t seq);

class Publisher {
 public:
  /// Publishes to the database at `url`, `rate` events a second, once start() is called.
  Publisher(std::string url, double rate);
  /// Stops (as stop()).
  ~Publisher();

  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  /// Publishes number 0, synchronously, and returns its event id: the consumers start after it.
  /// Throws std::runtime_error when the database refuses.
  std::string publish_start_marker();

  /// Starts the publishing thread (numbers from 1).
  void start();
  /// Stops publishing; the event being published is finished first (or given up after the
  /// database stayed away for the outage limit).
  void stop();

  /// Events known committed: 1..published().
  std::int64_t published() const { return published_.load(); }
  /// Publish calls that failed and were resolved by looking in the table.
  std::uint64_t ambiguous() const { return ambiguous_.load(); }
  /// Longest time the database refused the publisher.
  std::chrono::milliseconds longest_outage() const;
  /// The last error that stopped the publisher for good, empty when none.
  std::string failure() const;

 private:
  void run();

  const std::string url_;
  const double rate_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> published_{0};
  std::atomic<std::uint64_t> ambiguous_{0};
  mutable std::mutex mutex_;
  std::chrono::milliseconds longest_outage_{0};
  std::string failure_;
};

}  // namespace ssekit::soak
