// memory_store.hpp: the embedded store. Events live in a bounded in-memory history, so a
// client that reconnects with Last-Event-ID within that history resumes without loss; a bridge
// restart forgets everything (the first reconnect after it gets a `reset`).
#pragma once

#include <chrono>
#include <deque>
#include <mutex>

#include "store.hpp"

namespace ssebridge {

struct MemoryStoreOptions {
  QueueLimits queue;
  /// Events older than this are forgotten. Default 24 h, as for Postgres.
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  /// Most events kept. Default 10,000.
  size_t max_events = 10000;
  /// Most bytes of event text kept. Default 64 MiB.
  size_t max_bytes = 64u << 20;
};

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options);

  const char* kind() const override { return "memory"; }
  Hub& hub() override { return hub_; }
  Result<std::int64_t> publish(const std::string& channel, const std::string& type,
                               std::string data) override;
  Result<StreamStart> open(std::vector<std::string> channels,
                           std::optional<std::int64_t> last_event_id, std::string peer) override;
  Result<std::vector<EventPtr>> replay(const std::vector<std::string>& channels, std::int64_t after,
                                       size_t limit) override;
  bool healthy(std::string& detail) const override;
  void stop() override;

 private:
  /// Forgets events past the retention or the size limits.
  void prune_locked(std::chrono::system_clock::time_point now);

  const MemoryStoreOptions options_;
  Hub hub_;

  mutable std::mutex mutex_;  // orders publishers; guards what follows
  std::deque<EventPtr> history_;
  size_t history_bytes_ = 0;
  std::int64_t forgotten_through_ = 0;  // id of the newest event no longer in the history
};

}  // namespace ssebridge
