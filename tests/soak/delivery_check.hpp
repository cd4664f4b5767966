// delivery_check.hpp: exactly-once, in-order accounting of the numbered events one consumer saw.
//
// The soak's publisher numbers its events 1, 2, 3... in the data (`{"seq":N}`), and the bridge
// gives them increasing ids. A DeliveryCheck takes every event a consumer delivers, in delivery
// order, and counts what a correct client never does: a number twice, a number after a higher
// one, an id that does not increase, an event that is not one of the publisher's.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ssekit::soak {

/// What one consumer delivered, against what was published.
struct DeliveryFigures {
  std::string consumer;
  std::uint64_t delivered = 0;       ///< Events taken, anomalies included.
  std::uint64_t lost = 0;            ///< Published numbers never delivered.
  std::uint64_t duplicated = 0;      ///< Deliveries of a number already delivered.
  std::uint64_t reordered = 0;       ///< Numbers delivered after a higher one.
  std::uint64_t id_regressions = 0;  ///< Events whose id was not above the previous event's.
  std::uint64_t foreign = 0;         ///< Events that are not the publisher's (a reset, bad data).
  std::chrono::milliseconds longest_silence{0};  ///< Longest time between two deliveries.
  std::vector<std::string> first_anomalies;      ///< The first few, described.
};

class DeliveryCheck {
 public:
  explicit DeliveryCheck(std::string consumer);

  /// Takes one delivered event. Thread-safe; calls must come in delivery order.
  void record(const std::string& type, const std::string& data, const std::string& id);

  /// The highest number below which every number has been delivered (0 before any).
  std::int64_t delivered_through() const;

  /// The figures, counting as lost every number up to `published` never delivered.
  DeliveryFigures figures(std::int64_t published) const;

 private:
  void note(const std::string& anomaly);

  mutable std::mutex mutex_;
  DeliveryFigures figures_;
  std::int64_t next_ = 1;           // the number expected next
  std::set<std::int64_t> missing_;  // numbers skipped over, not delivered yet
  std::uint64_t last_id_ = 0;
  std::chrono::steady_clock::time_point last_delivery_{};
};

/// The sequence number in a publisher's event data (`{"seq":N}`), or -1 when it holds none.
std::int64_t sequence_of(const std::string& data);

}  // namespace ssekit::soak
