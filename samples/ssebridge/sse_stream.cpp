#include "sse_stream.hpp"

#include <algorithm>

#include "log.hpp"
#include "sse_writer.hpp"

namespace ssebridge {

std::optional<ClientSlots::Slot> ClientSlots::try_acquire() {
  size_t current = in_use_.load();
  do {
    if (current >= max_) return std::nullopt;
  } while (!in_use_.compare_exchange_weak(current, current + 1));
  return Slot(this);
}

void set_stream_headers(httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
}

namespace {

using Clock = std::chrono::steady_clock;

// Everything one stream holds; released when cpp-httplib drops the provider.
struct StreamState {
  enum class Phase { open, reset, replay, live };

  StreamState(Store& s, std::vector<std::string> c, StreamStart st, ClientSlots::Slot sl,
              const StreamSettings& se, Metrics& m, int fd)
      : socket(fd),
        store(s),
        channels(std::move(c)),
        start(std::move(st)),
        slot(std::move(sl)),
        settings(se),
        metrics(m),
        last_sent(start.from) {}

  ~StreamState() {
    store.hub().unsubscribe(start.subscribed.subscription);
    if (log_enabled(LogLevel::debug)) {
      log_debug("stream closed for " + start.subscribed.subscription->peer());
    }
  }

  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  const int socket;
  Store& store;
  const std::vector<std::string> channels;
  const StreamStart start;
  ClientSlots::Slot slot;
  const StreamSettings settings;
  Metrics& metrics;

  Phase phase = Phase::open;
  std::int64_t last_sent;  // the highest id written (or skipped by a reset): later ids only
  Clock::time_point last_write = Clock::now();
  std::vector<EventPtr> batch;
  std::string out;
};

// Writes `s.out` as one chunk; false when the client is gone.
bool flush(StreamState& s, httplib::DataSink& sink) {
  if (s.out.empty()) return true;
  // cpp-httplib ends a chunked response when it is handed zero bytes, hence the check above.
  if (!sink.write(s.out.data(), s.out.size())) return false;
  s.out.clear();
  s.last_write = Clock::now();
  return true;
}

// Appends the events of `s.batch` past last_sent; returns how many.
size_t append_new_events(StreamState& s) {
  size_t written = 0;
  for (const auto& event : s.batch) {
    if (event->id <= s.last_sent) continue;  // already sent by the replay: the seam's overlap
    s.out += event->wire;
    s.last_sent = event->id;
    ++written;
  }
  s.batch.clear();
  return written;
}

bool open_step(StreamState& s) {
  if (s.settings.retry.count() > 0) {
    append_retry(s.out, s.settings.retry);
  } else {
    append_comment(s.out, "ok");
  }
  switch (s.start.resume) {
    case StreamStart::Resume::live:
      s.phase = StreamState::Phase::live;
      break;
    case StreamStart::Resume::replay:
      s.metrics.replays.fetch_add(1, std::memory_order_relaxed);
      s.phase = StreamState::Phase::replay;
      break;
    case StreamStart::Resume::reset:
      s.phase = StreamState::Phase::reset;
      break;
  }
  return true;
}

// The `reset` event tells the client its Last-Event-ID cannot be resumed: reload state, then
// read on. Its id is the position the stream continues after.
bool reset_step(StreamState& s) {
  const std::string data = "{\"reason\":\"" + s.start.reset_reason + "\"}";
  append_event(s.out, s.start.from, "reset", data);
  s.metrics.resets.fetch_add(1, std::memory_order_relaxed);
  s.phase = StreamState::Phase::live;
  return true;
}

bool replay_step(StreamState& s) {
  auto page = s.store.replay(s.channels, s.last_sent, s.settings.replay_page);
  if (!page) {
    log_warn("stream of " + s.start.subscribed.subscription->peer() +
             " ends: replay failed: " + page.reason);
    return false;
  }
  s.batch = std::move(*page.value);
  const size_t read = s.batch.size();
  const size_t written = append_new_events(s);
  s.metrics.replayed_events.fetch_add(written, std::memory_order_relaxed);
  s.metrics.events_sent.fetch_add(written, std::memory_order_relaxed);
  if (read < s.settings.replay_page) s.phase = StreamState::Phase::live;
  return true;
}

// Waits for events, the next heartbeat or the next liveness check, whichever comes first.
bool live_step(StreamState& s, httplib::DataSink& sink) {
  if (s.settings.live_writer != nullptr && s.socket >= 0) {
    // The writer thread serves the stream from here on; once it lets go, the connection is
    // closed (a clean end would put it in cpp-httplib's keep-alive wait).
    s.settings.live_writer->run(s.socket, s.start.subscribed.subscription, s.last_sent);
    return false;
  }
  const auto now = Clock::now();
  auto deadline = now + s.settings.liveness_check;
  if (s.settings.heartbeat.count() > 0) {
    deadline = std::min(deadline, s.last_write + s.settings.heartbeat);
  }
  switch (s.start.subscribed.subscription->wait(s.batch, deadline)) {
    case Subscription::Wake::events:
      s.metrics.events_sent.fetch_add(append_new_events(s), std::memory_order_relaxed);
      return true;
    case Subscription::Wake::timeout:
      if (s.settings.heartbeat.count() > 0 && Clock::now() >= s.last_write + s.settings.heartbeat) {
        append_comment(s.out, "heartbeat");
        return true;
      }
      return sink.is_writable();
    case Subscription::Wake::dropped:
      return false;  // logged and counted where the queue overflowed
    case Subscription::Wake::closed:
      // The bridge is stopping. Ending the response cleanly would leave the connection in
      // cpp-httplib's keep-alive wait, which holds shutdown for up to its timeout; dropping it
      // ends the thread now, and the client reconnects all the same.
      return false;
  }
  return false;
}

bool step(StreamState& s, httplib::DataSink& sink) {
  bool ok = false;
  switch (s.phase) {
    case StreamState::Phase::open:
      ok = open_step(s);
      break;
    case StreamState::Phase::reset:
      ok = reset_step(s);
      break;
    case StreamState::Phase::replay:
      ok = replay_step(s);
      break;
    case StreamState::Phase::live:
      ok = live_step(s, sink);
      break;
  }
  return ok && flush(s, sink);
}

}  // namespace

void serve_stream(httplib::Response& res, Store& store, std::vector<std::string> channels,
                  StreamStart start, ClientSlots::Slot slot, const StreamSettings& settings,
                  Metrics& metrics, int socket) {
  auto state = std::make_shared<StreamState>(store, std::move(channels), std::move(start),
                                             std::move(slot), settings, metrics, socket);
  set_stream_headers(res);
  res.set_chunked_content_provider(
      "text/event-stream",
      [state](size_t /*offset*/, httplib::DataSink& sink) { return step(*state, sink); });
}

}  // namespace ssebridge
