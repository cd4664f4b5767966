#include "hub.hpp"

#include <algorithm>

namespace ssebridge {

Subscription::Subscription(std::vector<std::string> channels, QueueLimits limits, std::string peer)
    : channels_(std::move(channels)), limits_(limits), peer_(std::move(peer)) {}

Subscription::Wake Subscription::wait(std::vector<EventPtr>& out,
                                      std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_until(lock, deadline, [&] { return !queue_.empty() || dropped_ || closed_; });
  return take_locked(out);
}

Subscription::Wake Subscription::take(std::vector<EventPtr>& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  return take_locked(out);
}

void Subscription::set_ready_callback(std::function<void()> on_ready) {
  bool ready = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    on_ready_ = on_ready;
    ready = !queue_.empty() || dropped_ || closed_;
  }
  if (ready && on_ready) on_ready();
}

void Subscription::notify() {
  std::function<void()> on_ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    on_ready = on_ready_;
  }
  if (on_ready) {
    on_ready();
  } else {
    wake_.notify_one();
  }
}

Subscription::Wake Subscription::take_locked(std::vector<EventPtr>& out) {
  if (!queue_.empty()) {
    out.insert(out.end(), std::make_move_iterator(queue_.begin()),
               std::make_move_iterator(queue_.end()));
    queue_.clear();
    queued_bytes_ = 0;
    return Wake::events;
  }
  if (dropped_) return Wake::dropped;
  if (closed_) return Wake::closed;
  return Wake::timeout;
}

bool Subscription::offer(const EventPtr& event) {
  bool accepted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (dropped_) return false;
    if (queue_.size() >= limits_.max_events ||
        queued_bytes_ + event->wire.size() > limits_.max_bytes) {
      // What is queued is released at once: the client replays it after reconnecting.
      dropped_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    } else {
      queue_.push_back(event);
      queued_bytes_ += event->wire.size();
      accepted = true;
    }
  }
  notify();
  return accepted;
}

void Subscription::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  notify();
}

Hub::Hub(QueueLimits limits) : limits_(limits) {}

Hub::Subscribed Hub::subscribe(std::vector<std::string> channels, std::string peer) {
  auto subscription = std::make_shared<Subscription>(channels, limits_, std::move(peer));
  bool channels_changed = false;
  std::int64_t position = 0;
  ChannelsHandler on_channels;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    position = position_;
    if (closed_) {
      subscription->close();
      return {subscription, position};
    }
    for (const auto& channel : subscription->channels()) {
      auto& list = by_channel_[channel];
      channels_changed |= list.empty();
      list.push_back(subscription);
    }
    ++subscriptions_;
    on_channels = on_channels_;
  }
  if (channels_changed && on_channels) on_channels();
  return {subscription, position};
}

bool Hub::remove_locked(const std::shared_ptr<Subscription>& subscription) {
  bool channels_changed = false;
  bool found = false;
  for (const auto& channel : subscription->channels()) {
    const auto it = by_channel_.find(channel);
    if (it == by_channel_.end()) continue;
    auto& list = it->second;
    const auto pos = std::find(list.begin(), list.end(), subscription);
    if (pos == list.end()) continue;
    found = true;
    list.erase(pos);
    if (list.empty()) {
      by_channel_.erase(it);
      channels_changed = true;
    }
  }
  if (found) --subscriptions_;
  return channels_changed;
}

void Hub::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  bool channels_changed = false;
  ChannelsHandler on_channels;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    channels_changed = remove_locked(subscription);
    on_channels = on_channels_;
  }
  if (channels_changed && on_channels) on_channels();
}

bool Hub::deliver(const EventPtr& event) {
  std::vector<std::shared_ptr<Subscription>> dropped;
  bool channels_changed = false;
  DropHandler on_drop;
  ChannelsHandler on_channels;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (event->id <= position_) return false;
    position_ = event->id;
    ++delivered_;
    const auto it = by_channel_.find(event->channel);
    if (it == by_channel_.end()) return true;
    for (const auto& subscription : it->second) {
      if (!subscription->offer(event)) dropped.push_back(subscription);
    }
    // A dropped subscription leaves the hub now; its stream sees Wake::dropped and ends.
    for (const auto& subscription : dropped)
      channels_changed |= remove_locked(subscription);
    on_drop = on_drop_;
    on_channels = on_channels_;
  }
  if (on_drop) {
    for (const auto& subscription : dropped)
      on_drop(*subscription);
  }
  if (channels_changed && on_channels) on_channels();
  return true;
}

void Hub::advance_to(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  position_ = std::max(position_, id);
}

std::int64_t Hub::position() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return position_;
}

std::vector<std::string> Hub::channels() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  out.reserve(by_channel_.size());
  for (const auto& entry : by_channel_)
    out.push_back(entry.first);
  return out;
}

bool Hub::has_subscribers(const std::string& channel) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_channel_.count(channel) != 0;
}

size_t Hub::subscription_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return subscriptions_;
}

std::uint64_t Hub::delivered_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return delivered_;
}

void Hub::close() {
  std::vector<std::shared_ptr<Subscription>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (const auto& entry : by_channel_) {
      all.insert(all.end(), entry.second.begin(), entry.second.end());
    }
  }
  for (const auto& subscription : all)
    subscription->close();
}

void Hub::set_drop_handler(DropHandler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_drop_ = std::move(handler);
}

void Hub::set_channels_handler(ChannelsHandler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_channels_ = std::move(handler);
}

}  // namespace ssebridge
