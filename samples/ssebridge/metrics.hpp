// metrics.hpp: the bridge's counters, and /metrics in Prometheus text format (version 0.0.4).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ssebridge {

/// Counters every part of the bridge bumps. Plain atomics: cheap enough for the event path.
struct Metrics {
  std::atomic<std::uint64_t> events_published{0};      ///< accepted by POST /events
  std::atomic<std::uint64_t> events_sent{0};           ///< written to clients, replays included
  std::atomic<std::uint64_t> replays{0};               ///< streams that resumed by Last-Event-ID
  std::atomic<std::uint64_t> replayed_events{0};       ///< events those replays wrote
  std::atomic<std::uint64_t> resets{0};                ///< `reset` events sent
  std::atomic<std::uint64_t> slow_clients_dropped{0};  ///< subscriptions whose queue overflowed
  std::atomic<std::uint64_t> clients_rejected{0};      ///< 503 at the client limit
  std::atomic<std::uint64_t> auth_failures{0};         ///< 401 and 403 answers
  std::atomic<std::uint64_t> postgres_reconnects{0};   ///< LISTEN connection re-established
  std::atomic<std::uint64_t> pruned_events{0};         ///< rows deleted past the retention
};

/// The gauges read when /metrics is asked for.
struct Gauges {
  std::uint64_t clients_connected = 0;
  std::uint64_t max_clients = 0;
  int postgres_connected = -1;  ///< 1 or 0; -1 when the bridge runs without Postgres
  std::int64_t last_event_id = 0;
  std::uint64_t events_received = 0;  ///< events the hub delivered (from any publisher)
};

/// The Prometheus text exposition of `metrics` and `gauges`, names prefixed "ssebridge_".
std::string render_metrics(const Metrics& metrics, const Gauges& gauges);

}  // namespace ssebridge
