// ssekit/event.hpp: the value an event stream delivers.
//
// An Event is a plain value: copy it, move it, compare it. The parser hands out a reference to
// one it reuses, so copy it if you keep it past the callback.
#pragma once

#include <string>

namespace ssekit {

/// One dispatched event, as the WHATWG "dispatch the event" step builds it.
struct Event {
  /// The `event:` field of the event, or "message" when the server sent none.
  std::string type = "message";

  /// The `data:` lines of the event joined with LF, without the final LF.
  std::string data;

  /// The last event ID in force when the event was dispatched: the most recent `id:` field of
  /// this stream (it persists across events and reconnects), "" when none was seen or it was
  /// reset by an empty `id:`.
  std::string id;
};

inline bool operator==(const Event& a, const Event& b) {
  return a.type == b.type && a.data == b.data && a.id == b.id;
}

inline bool operator!=(const Event& a, const Event& b) {
  return !(a == b);
}

}  // namespace ssekit
