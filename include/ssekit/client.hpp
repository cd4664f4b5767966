// ssekit/client.hpp: a Server-Sent Events client that reconnects, resumes and watches the link.
//
// A Client opens one stream and keeps delivering its events, in order and without gaps, through
// server restarts, dead links and expired tokens, until the server answers 204, a failure is
// fatal, or the app calls close().
//
// Push: set callbacks, then start(). Pull: start() with no event callback, then next().
//
//   ssekit::ClientOptions options;
//   options.url = "http://127.0.0.1:8080/demo/ticks";
//   ssekit::Client client(options);
//   client.on_event([](const ssekit::Event& e) { std::cout << e.data << '\n'; });
//   if (auto error = client.start()) std::cerr << error.message << '\n';
//
// Threads: callbacks run on the loop's thread, one at a time, never concurrently for one
// client. They must not block for long: every stream on the loop waits meanwhile. close() may be
// called from any thread, a callback included; it returns within 100 ms and no callback of this
// client runs after it returns (except when called from a callback, which finishes first).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ssekit/error.hpp"
#include "ssekit/event.hpp"
#include "ssekit/options.hpp"

namespace ssekit {

/// Where a client is in its life: idle -> connecting -> open -> (waiting -> connecting)* -> closed.
enum class State {
  idle,        ///< Constructed, start() not called yet.
  connecting,  ///< A request is on its way.
  open,        ///< The response is an event stream and events flow.
  waiting,     ///< Backing off before the next attempt.
  closed,      ///< Finished for good; see StateChange::reason.
};

/// The stable lower-case name of a state, such as "waiting".
const char* to_string(State state) noexcept;

/// What on_state reports.
struct StateChange {
  /// The state entered.
  State state = State::idle;
  /// For waiting: the delay before the next attempt. Zero otherwise.
  std::chrono::milliseconds delay{0};
  /// For waiting and connecting: the attempt number, 1 for the first reconnect. 0 otherwise.
  unsigned attempt = 0;
  /// Why: the error that led to waiting or closed (ErrorCode::ok for the normal states).
  Error reason;
};

/// Counters of one client. Read with Client::stats() from any thread.
struct Stats {
  std::uint64_t bytes = 0;       ///< Body bytes received, all connections.
  std::uint64_t events = 0;      ///< Events dispatched.
  std::uint64_t comments = 0;    ///< Comment lines received.
  std::uint64_t connects = 0;    ///< Times the stream opened.
  std::uint64_t reconnects = 0;  ///< Reconnect attempts scheduled.
  std::string last_event_id;     ///< As Client::last_event_id().
  /// When the last byte arrived (the client's clock); epoch when none has.
  std::chrono::steady_clock::time_point last_byte_at{};
};

/// One event stream: connects, delivers events in order, reconnects and resumes until the server
/// says 204, a failure is fatal, or close() is called.
class Client {
 public:
  /// Stores the options; does no I/O and validates nothing yet (start() does).
  explicit Client(ClientOptions options);
  /// Closes the stream (as close()) and joins the loop thread if the client owns it.
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Callbacks. Set them before start(); each runs on the loop thread.

  /// The stream opened (a 200 event-stream response arrived). Called on every (re)connect.
  void on_open(std::function<void()> callback);
  /// An event. When set, events go here and next() returns nothing.
  void on_event(std::function<void(const Event&)> callback);
  /// A comment line, without its colon: heartbeats and keep-alives.
  void on_comment(std::function<void(std::string_view)> callback);
  /// Every state change, with the delay, attempt and reason.
  void on_state(std::function<void(const StateChange&)> callback);
  /// Every error, recoverable or not, as it happens.
  void on_error(std::function<void(const Error&)> callback);

  /// Validates the options and starts connecting. An invalid URL, header or option is returned
  /// here and nothing starts.
  [[nodiscard]] Error start();

  /// Pull API: waits up to `timeout` for the next event. Returns nothing on timeout, and at once
  /// when the client is closed and every queued event has been taken.
  std::optional<Event> next(std::chrono::milliseconds timeout);

  /// Stops the stream: aborts the transfer, cancels timers, moves to closed. Idempotent and
  /// callable from any thread. Returns within 100 ms.
  void close();

  /// The current state.
  State state() const;
  /// Why the client closed, once it has (ErrorCode::ok before).
  Error close_reason() const;
  /// The last event ID in force: what the next reconnect sends as Last-Event-ID.
  std::string last_event_id() const;
  /// A copy of the counters; callable from any thread.
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ssekit
