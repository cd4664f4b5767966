#include "memory_store.hpp"

#include <algorithm>

namespace ssebridge {

MemoryStore::MemoryStore(MemoryStoreOptions options) : options_(options), hub_(options.queue) {}

Result<std::int64_t> MemoryStore::publish(const std::string& channel, const std::string& type,
                                          std::string data) {
  const auto now = std::chrono::system_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t id = hub_.position() + 1;
  auto event = make_event(id, channel, type, std::move(data), now);
  history_.push_back(event);
  history_bytes_ += event->wire.size();
  prune_locked(now);
  // Delivered under the lock, so concurrent publishers reach the hub in id order.
  hub_.deliver(event);
  return Result<std::int64_t>::ok(id);
}

void MemoryStore::prune_locked(std::chrono::system_clock::time_point now) {
  const auto cutoff = now - options_.retention;
  while (!history_.empty() &&
         (history_.size() > options_.max_events || history_bytes_ > options_.max_bytes ||
          history_.front()->created < cutoff)) {
    forgotten_through_ = history_.front()->id;
    history_bytes_ -= history_.front()->wire.size();
    history_.pop_front();
  }
}

Result<StreamStart> MemoryStore::open(std::vector<std::string> channels,
                                      std::optional<std::int64_t> last_event_id, std::string peer) {
  std::lock_guard<std::mutex> lock(mutex_);
  prune_locked(std::chrono::system_clock::now());
  StreamStart start;
  start.subscribed = hub_.subscribe(std::move(channels), std::move(peer));
  const std::int64_t position = start.subscribed.position;
  start.from = position;
  if (!last_event_id) {
    start.resume = StreamStart::Resume::live;
  } else if (*last_event_id > position) {
    start.resume = StreamStart::Resume::reset;
    start.reset_reason = "unknown-id";
  } else if (*last_event_id < forgotten_through_) {
    start.resume = StreamStart::Resume::reset;
    start.reset_reason = "retention";
  } else {
    start.resume = StreamStart::Resume::replay;
    start.from = *last_event_id;
  }
  return Result<StreamStart>::ok(std::move(start));
}

Result<std::vector<EventPtr>> MemoryStore::replay(const std::vector<std::string>& channels,
                                                  std::int64_t after, size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<EventPtr> out;
  auto it = std::upper_bound(history_.begin(), history_.end(), after,
                             [](std::int64_t id, const EventPtr& e) { return id < e->id; });
  for (; it != history_.end() && out.size() < limit; ++it) {
    if (std::find(channels.begin(), channels.end(), (*it)->channel) != channels.end()) {
      out.push_back(*it);
    }
  }
  return Result<std::vector<EventPtr>>::ok(std::move(out));
}

bool MemoryStore::healthy(std::string& detail) const {
  detail = "memory";
  return true;
}

void MemoryStore::stop() {
  hub_.close();
}

}  // namespace ssebridge
