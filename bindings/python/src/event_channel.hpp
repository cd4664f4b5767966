// event_channel.hpp: the bounded hand-over of events from a client's loop thread to Python.
//
// The loop thread pushes each event as it is parsed; a Python thread takes everything queued in
// one step, so the lock and the wake-up are paid per batch, not per event. When the queue is
// full the loop thread waits, which stops reading the socket and lets TCP slow the server down
// instead of growing memory. Nothing in here touches Python.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "ssekit/error.hpp"
#include "ssekit/event.hpp"

namespace ssekit::python {

class EventChannel {
 public:
  /// What take() found.
  enum class Outcome {
    events,    ///< `out` holds one or more events.
    timeout,   ///< Nothing arrived within the wait.
    finished,  ///< The stream is over and every event has been taken.
  };

  EventChannel();
  ~EventChannel();

  EventChannel(const EventChannel&) = delete;
  EventChannel& operator=(const EventChannel&) = delete;

  /// Loop thread: queues a copy of `event`, waiting while the queue is full. Dropped once
  /// close() was called: nothing is delivered after close.
  void push(const Event& event);

  /// Loop thread (or close()): the stream is over for `reason`. The first reason sticks.
  void finish(const Error& reason);

  /// Consumer: hands over every queued event, waiting at most `wait` for one to arrive or for
  /// the stream to finish. The events are the first `count` elements of `out` (the rest are
  /// spare slots); give `out` back with recycle() once they are converted.
  Outcome take(std::vector<Event>& out, std::size_t& count, std::chrono::milliseconds wait);

  /// Gives a batch back: its events' strings keep their capacity and the next pushes are copied
  /// into them, so a steady stream allocates nothing per event on either side.
  void recycle(std::vector<Event>&& batch);

  /// Any thread: drops queued events, finishes with closed_by_app unless already finished, and
  /// releases a loop thread waiting in push().
  void close();

  /// Why the stream finished (ErrorCode::ok while it runs).
  Error reason() const;

  /// Consumer: an eventfd that becomes readable after arm_wake() when events or the end arrive,
  /// for asyncio's add_reader. Created on first call; -1 with errno set if that failed.
  int wake_fd();

  /// Consumer: asks for one write to wake_fd() at the next push or finish. Returns false, and
  /// arms nothing, when events or the end are already there (take() them instead of waiting).
  bool arm_wake();

  /// Consumer: empties the eventfd's counter after it became readable.
  void drain_wake();

 private:
  bool full() const;
  void wake_consumer();  // with mutex_ held

  mutable std::mutex mutex_;
  std::condition_variable readable_;
  std::condition_variable writable_;
  std::vector<Event> events_;  // the first count_ are queued, the rest are slots to reuse
  std::size_t count_ = 0;
  std::vector<Event> spare_;
  std::size_t queued_bytes_ = 0;
  bool finished_ = false;
  bool closed_ = false;
  Error reason_;
  bool consumer_waiting_ = false;
  bool producer_waiting_ = false;
  bool wake_armed_ = false;
  int wake_fd_ = -1;
};

}  // namespace ssekit::python
