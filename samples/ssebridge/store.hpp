// store.hpp: where events are kept and where they come from. Two implementations:
// MemoryStore (the embedded hub, no durability across restarts) and PostgresStore (the events
// table, LISTEN/NOTIFY, any number of bridge instances on one database).
//
// A store owns a Hub and delivers every event to it in id order. A stream opens with
// open(), which subscribes to the hub and decides how the stream resumes; it then pages
// through replay() up to the live events the subscription queues, skipping ids it already sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "event.hpp"
#include "hub.hpp"

namespace ssebridge {

/// A value or the reason there is none, and whose fault that is.
template <class T>
struct Result {
  enum class Failure {
    none,
    bad_request,  ///< the request is wrong: 400 with `reason`
    unavailable,  ///< the store cannot answer now (database down): 503, try again later
  };

  std::optional<T> value;
  Failure failure = Failure::none;
  std::string reason;

  static Result ok(T v) { return Result{std::move(v), Failure::none, {}}; }
  static Result bad_request(std::string why) {
    return Result{std::nullopt, Failure::bad_request, std::move(why)};
  }
  static Result unavailable(std::string why) {
    return Result{std::nullopt, Failure::unavailable, std::move(why)};
  }

  explicit operator bool() const { return value.has_value(); }
};

/// How an opened stream goes on.
struct StreamStart {
  enum class Resume {
    live,    ///< no Last-Event-ID: live events only, those past `from`
    replay,  ///< replay the stored events past `from` (the Last-Event-ID), then live
    reset,   ///< the Last-Event-ID cannot be resumed: send a `reset` event with id `from`, then
             ///< live events past `from`
  };

  Hub::Subscribed subscribed;
  Resume resume = Resume::live;
  std::int64_t from = 0;
  /// For Resume::reset: "retention" (older than what is kept) or "unknown-id" (newer than any
  /// event this store has issued, as after a memory store restarts).
  std::string reset_reason;
};

class Store {
 public:
  virtual ~Store() = default;

  /// "memory" or "postgres".
  virtual const char* kind() const = 0;

  virtual Hub& hub() = 0;

  /// Publishes an event (channel, type and data already validated) and returns its id.
  virtual Result<std::int64_t> publish(const std::string& channel, const std::string& type,
                                       std::string data) = 0;

  /// Subscribes to `channels` and decides how the stream resumes from `last_event_id`.
  virtual Result<StreamStart> open(std::vector<std::string> channels,
                                   std::optional<std::int64_t> last_event_id, std::string peer) = 0;

  /// Up to `limit` stored events of `channels` with ids above `after`, in id order.
  virtual Result<std::vector<EventPtr>> replay(const std::vector<std::string>& channels,
                                               std::int64_t after, size_t limit) = 0;

  /// Whether the store can serve now; `detail` says why not ("postgres reconnecting").
  virtual bool healthy(std::string& detail) const = 0;

  /// Stops background work and closes the hub; streams end.
  virtual void stop() = 0;
};

}  // namespace ssebridge
