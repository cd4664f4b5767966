// board.hpp: what the dashboard knows about its stream, shared by the client's loop thread
// (which records) and the UI thread (which draws a snapshot ten times a second).
//
// Recording is cheap and never waits on the UI: the loop thread only takes a short lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ssekit/ssekit.hpp>

#include "sparkline.hpp"

namespace dashboard {

/// A copy of the board at one instant, safe to read without a lock.
struct Snapshot {
  ssekit::State state = ssekit::State::idle;
  /// For waiting: when the next attempt starts, and its number.
  std::chrono::steady_clock::time_point retry_at{};
  unsigned attempt = 0;
  /// Why the stream is waiting or closed, empty otherwise.
  std::string reason;
  /// True when the client closed for good because of an error (not close() or a 204).
  bool failed = false;

  std::string last_event_id;
  std::string event_type;
  /// The fields of the last event, name and text, in the order the event had them.
  std::vector<std::pair<std::string, std::string>> fields;
  /// The charted field over the last window.
  std::vector<Sample> history;

  std::uint64_t events = 0;
  std::uint64_t reconnects = 0;
  /// Events skipped between two numeric ids (id 7 after id 4 misses two), not counting a jump
  /// the server announced with a `reset` event. Zero means every reconnect resumed without a gap.
  std::uint64_t missed = 0;
  /// A message from the server worth showing, such as a `reset` of the stream.
  std::string notice;
};

class Board {
 public:
  /// Charts the numeric field `chart_field` of each event over the last `window`.
  Board(std::string chart_field, std::chrono::steady_clock::duration window);

  /// An event arrived: keep its fields and, when it has the charted field, a sample.
  void record_event(const ssekit::Event& event, std::chrono::steady_clock::time_point now);

  /// The client changed state: keep it, and for waiting the time the next attempt starts.
  void record_state(const ssekit::StateChange& change, std::chrono::steady_clock::time_point now);

  /// A copy of everything, with samples older than the window dropped.
  Snapshot snapshot(std::chrono::steady_clock::time_point now);

  const std::string& chart_field() const { return chart_field_; }

 private:
  const std::string chart_field_;
  const std::chrono::steady_clock::duration window_;

  std::mutex mutex_;
  Snapshot current_;                         // all but the history
  std::deque<Sample> history_;               // oldest first
  std::optional<std::uint64_t> numeric_id_;  // the last id, when it was a number
};

}  // namespace dashboard
