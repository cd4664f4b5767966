// stream.hpp: one ssekit::Client seen from Python, the engine under ssekit.EventSource and
// ssekit.AsyncEventSource.
//
// The client's loop thread pushes events into an EventChannel; Python takes them in batches.
// Every wait releases the GIL and is cut into short slices between which pending signals run, so
// Ctrl-C interrupts a blocked iteration. The GIL is also released around every call into the
// client, because the loop thread takes the GIL to run token_provider and would otherwise
// deadlock against a Python thread waiting on it.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "event_channel.hpp"
#include "event_object.hpp"
#include "ssekit/client.hpp"

namespace ssekit::python {

class Stream {
 public:
  /// Prepares a client for `options`; `token_provider` is None or a callable returning the bearer
  /// token of each attempt. `event_type` is ssekit.Event. Does no I/O.
  Stream(ClientOptions options, pybind11::object token_provider, PyObject* event_type);
  /// Closes the stream and joins the loop thread, with the GIL released meanwhile.
  ~Stream();

  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// Validates the options and starts connecting. Raises ValueError for an invalid URL, header
  /// or option; any other failure to start becomes the close reason.
  void start();

  /// Waits up to `timeout_seconds` (forever when None) and returns a list of every event
  /// queued, an empty list on timeout, or None once the stream is over and drained. Raises
  /// KeyboardInterrupt (or whatever a signal handler raises) while waiting.
  pybind11::object take(std::optional<double> timeout_seconds);

  /// Stops the stream and drops what is queued. Idempotent; callable from any thread.
  void close();

  /// The client's state name: "idle", "connecting", "open", "waiting" or "closed".
  std::string state() const;
  /// The last event ID the client has seen (it may be ahead of what Python has taken).
  std::string last_event_id() const;
  /// (code name, HTTP status, message) of why the stream ended; ("ok", 0, "") while it runs.
  pybind11::tuple close_reason() const;
  /// The exception token_provider raised, or None.
  pybind11::object callback_error() const;

  /// Garbage collector support: the Python objects this stream holds can be part of a cycle
  /// (a token_provider that is a method of the object owning the source). traverse() reports
  /// them; clear_references() drops them, after which the stream runs without a token provider.
  int traverse(visitproc visit, void* arg) const;
  void clear_references();

  /// For asyncio: see EventChannel::wake_fd(), arm_wake() and drain_wake().
  int wake_fd();
  bool arm_wake();
  void drain_wake();

 private:
  /// Runs token_provider on the loop thread with the GIL held. A Python exception is kept for
  /// callback_error() and turned into a C++ exception the client reports as callback_failed.
  std::string call_token_provider();

  /// Turns the first `count` events of a batch into a list of ssekit.Event and hands the batch
  /// back to the channel.
  pybind11::list to_list(std::vector<Event>& batch, std::size_t count);

  std::shared_ptr<EventChannel> channel_;
  pybind11::object token_provider_;
  pybind11::object callback_error_;  // written on the loop thread; the GIL guards it
  std::mutex close_mutex_;           // serialises close(); see there
  EventFactory factory_;
  std::unique_ptr<Client> client_;  // last: destroyed (and joined) before what it calls into
};

}  // namespace ssekit::python
