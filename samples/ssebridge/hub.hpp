// hub.hpp: the in-memory fan-out. One publisher side (a store delivering events in id order),
// many subscriptions, each with its own bounded queue.
//
// The hub keeps the live position: the id of the last event it delivered. An event at or
// below it is a duplicate (a notification that a catch-up query already delivered) and is
// dropped, so every subscription sees ids strictly increasing. Subscribing returns the
// position atomically with the registration: every event past it reaches the new queue, which
// is what lets a stream replay up to that point from storage and go live without a gap.
//
// Delivery never blocks on a client. A queue that is full when an event arrives means that
// client cannot keep up: its subscription is dropped (the stream ends, the client reconnects
// with Last-Event-ID and replays what it missed), and nobody else waits for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "event.hpp"

namespace ssebridge {

/// How much one client may have waiting to be written.
struct QueueLimits {
  /// Events queued for one client. Default 1024: a minute of a busy channel at 17 events/s.
  size_t max_events = 1024;
  /// Bytes of event text queued for one client. Default 16 MiB: bounds what a stalled client
  /// pins even when events are large.
  size_t max_bytes = 16u << 20;
};

/// One client's view of the hub: the channels it reads and the events waiting for it.
class Subscription {
 public:
  enum class Wake {
    events,   ///< `out` received at least one event
    timeout,  ///< the deadline passed with nothing queued
    dropped,  ///< the queue overflowed: the client was too slow and must reconnect
    closed,   ///< the hub is shutting down
  };

  Subscription(std::vector<std::string> channels, QueueLimits limits, std::string peer);

  /// Moves every queued event to the end of `out`, first waiting until there is one, the
  /// subscription is dropped or closed, or `deadline` passes. Queued events are handed out
  /// before a drop or close is reported.
  Wake wait(std::vector<EventPtr>& out, std::chrono::steady_clock::time_point deadline);

  /// Like wait(), without waiting: Wake::timeout when there is nothing to report.
  Wake take(std::vector<EventPtr>& out);

  /// Calls `on_ready` (outside the subscription's lock) whenever an event is queued or the
  /// subscription is dropped or closed, instead of waking a waiter; calls it once at once if
  /// there is something to take already. For a writer that serves many subscriptions.
  void set_ready_callback(std::function<void()> on_ready);

  const std::vector<std::string>& channels() const { return channels_; }

  /// "127.0.0.1:53412", for log lines.
  const std::string& peer() const { return peer_; }

 private:
  friend class Hub;

  /// Queues `event`. False, and the subscription dropped, when the queue is full.
  bool offer(const EventPtr& event);
  void close();
  /// Wakes the waiter, or calls the ready callback.
  void notify();
  Wake take_locked(std::vector<EventPtr>& out);

  const std::vector<std::string> channels_;
  const QueueLimits limits_;
  const std::string peer_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::function<void()> on_ready_;
  std::deque<EventPtr> queue_;
  size_t queued_bytes_ = 0;
  bool dropped_ = false;
  bool closed_ = false;
};

class Hub {
 public:
  /// Called after a subscription was dropped for overflowing (outside the hub's lock).
  using DropHandler = std::function<void(const Subscription&)>;
  /// Called after the set of channels with subscribers changed (outside the hub's lock).
  using ChannelsHandler = std::function<void()>;

  explicit Hub(QueueLimits limits);

  struct Subscribed {
    std::shared_ptr<Subscription> subscription;
    /// The live position at registration: every event with a greater id will be queued.
    std::int64_t position;
  };

  /// Registers a subscription to `channels` (already validated, at least one).
  Subscribed subscribe(std::vector<std::string> channels, std::string peer);

  /// Removes a subscription; idempotent.
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);

  /// Queues `event` for every subscription to its channel and moves the live position to its
  /// id. Returns false, delivering nothing, when the id is not past the live position.
  bool deliver(const EventPtr& event);

  /// Moves the live position forward to `id` without delivering (a store starting up at the
  /// end of its table). Never moves it back.
  void advance_to(std::int64_t id);

  std::int64_t position() const;

  /// The channels that have at least one subscription.
  std::vector<std::string> channels() const;
  bool has_subscribers(const std::string& channel) const;
  size_t subscription_count() const;

  /// Events delivered so far (duplicates not counted).
  std::uint64_t delivered_count() const;

  /// Ends every subscription, now and later, with Wake::closed.
  void close();

  void set_drop_handler(DropHandler handler);
  void set_channels_handler(ChannelsHandler handler);

 private:
  /// Takes `subscription` out of every channel list; true when a channel lost its last one.
  bool remove_locked(const std::shared_ptr<Subscription>& subscription);

  const QueueLimits limits_;

  mutable std::mutex mutex_;
  std::int64_t position_ = 0;
  std::uint64_t delivered_ = 0;
  bool closed_ = false;
  size_t subscriptions_ = 0;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Subscription>>> by_channel_;
  DropHandler on_drop_;
  ChannelsHandler on_channels_;
};

}  // namespace ssebridge
