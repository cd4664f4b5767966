// event.hpp: one published event, as the hub, the stores and the streams share it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ssebridge {

/// A published event. Immutable once made, and shared by pointer between the history, the
/// hub and every client queue it sits in, so a fan-out to a thousand clients copies nothing.
struct Event {
  /// The global sequence number: increasing, in commit order, never reused.
  std::int64_t id = 0;
  std::string channel;
  std::string type;
  std::string data;
  /// When it was published; the memory store's retention reads it.
  std::chrono::system_clock::time_point created;
  /// The event in text/event-stream form, formatted once for every client.
  std::string wire;
};

using EventPtr = std::shared_ptr<const Event>;

/// Makes an event and formats its wire form. `created` defaults to now.
EventPtr make_event(
    std::int64_t id, std::string channel, std::string type, std::string data,
    std::chrono::system_clock::time_point created = std::chrono::system_clock::now());

}  // namespace ssebridge
