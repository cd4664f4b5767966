// event_channel.cpp: the bounded event queue between a loop thread and Python.
#include "event_channel.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>

namespace ssekit::python {
namespace {

// Bounds on what waits for Python. 1024 small events are a few hundred microseconds of a fast
// stream: enough that the threads rarely wait for each other, and few enough that the Python
// objects of one batch stay in cache and in the allocator's warm memory (16384 measured 20 %
// slower, in page faults). 16 MiB lets one maximum-size event (ParserLimits' 16 MiB default)
// through while keeping a slow consumer from holding much more than that.
constexpr std::size_t kMaxQueuedEvents = 1024;
constexpr std::size_t kMaxQueuedBytes = std::size_t{16} << 20;

// A recycled slot keeps string capacity up to this size; a rare large event gives its memory
// back instead of pinning it in a slot for the life of the stream.
constexpr std::size_t kMaxKeptSlotBytes = std::size_t{64} << 10;

void trim(std::string& text) {
  if (text.capacity() > kMaxKeptSlotBytes) std::string().swap(text);
}

std::size_t footprint(const Event& event) {
  return event.type.size() + event.data.size() + event.id.size();
}

}  // namespace

EventChannel::EventChannel() = default;

EventChannel::~EventChannel() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool EventChannel::full() const {
  return count_ >= kMaxQueuedEvents || (count_ > 0 && queued_bytes_ >= kMaxQueuedBytes);
}

void EventChannel::wake_consumer() {
  if (consumer_waiting_) readable_.notify_all();
  if (wake_armed_) {
    wake_armed_ = false;
    const std::uint64_t one = 1;
    // A failed write can only mean the counter is saturated, which is as readable as it gets.
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
  }
}

void EventChannel::push(const Event& event) {
  std::unique_lock lock(mutex_);
  if (full() && !closed_) {
    producer_waiting_ = true;
    writable_.wait(lock, [this] { return !full() || closed_; });
    producer_waiting_ = false;
  }
  if (closed_) return;

  if (count_ < events_.size()) {
    events_[count_] = event;  // copy-assignment reuses the slot's string capacity
  } else {
    events_.push_back(event);
  }
  ++count_;
  queued_bytes_ += footprint(event);
  wake_consumer();
}

void EventChannel::finish(const Error& reason) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  reason_ = reason;
  wake_consumer();
}

EventChannel::Outcome EventChannel::take(std::vector<Event>& out, std::size_t& count,
                                         std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (count_ == 0 && !finished_ && wait.count() > 0) {
    consumer_waiting_ = true;
    readable_.wait_for(lock, wait, [this] { return count_ > 0 || finished_; });
    consumer_waiting_ = false;
  }
  if (count_ > 0) {
    out.swap(events_);
    count = count_;
    events_.swap(spare_);
    count_ = 0;
    queued_bytes_ = 0;
    if (producer_waiting_) writable_.notify_all();
    return Outcome::events;
  }
  return finished_ ? Outcome::finished : Outcome::timeout;
}

void EventChannel::recycle(std::vector<Event>&& batch) {
  for (Event& slot : batch) {
    trim(slot.data);
    trim(slot.type);
    trim(slot.id);
  }
  std::lock_guard lock(mutex_);
  if (batch.size() > spare_.size()) spare_.swap(batch);
}

void EventChannel::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  events_.clear();
  count_ = 0;
  queued_bytes_ = 0;
  if (!finished_) {
    finished_ = true;
    reason_ = Error{ErrorCode::closed_by_app, 0, 0, "close() was called"};
  }
  writable_.notify_all();
  wake_consumer();
}

Error EventChannel::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

int EventChannel::wake_fd() {
  std::lock_guard lock(mutex_);
  if (wake_fd_ < 0) wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return wake_fd_;
}

bool EventChannel::arm_wake() {
  std::lock_guard lock(mutex_);
  if (count_ > 0 || finished_ || wake_fd_ < 0) return false;
  wake_armed_ = true;
  return true;
}

void EventChannel::drain_wake() {
  std::lock_guard lock(mutex_);
  if (wake_fd_ < 0) return;
  std::uint64_t count = 0;
  // EAGAIN (nothing to drain) is the only failure of a read from a valid non-blocking eventfd.
  [[maybe_unused]] auto drained = ::read(wake_fd_, &count, sizeof count);
}

}  // namespace ssekit::python
