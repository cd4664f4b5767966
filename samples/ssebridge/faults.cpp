#include "faults.hpp"

#include <functional>
#include <memory>

#include "bridge.hpp"
#include "sse_writer.hpp"
#include "validate.hpp"

namespace ssebridge {
namespace {

using httplib::DataSink;
using httplib::Request;
using httplib::Response;

// How often a stalled or endless fault checks that its client is still connected.
constexpr std::chrono::milliseconds kLivenessCheck{250};
// Bounds on parameters, so no request can pin memory or a thread for long by accident.
constexpr std::uint64_t kMaxEvents = 100000;
constexpr std::uint64_t kMaxIntervalMs = 60000;
constexpr std::uint64_t kMaxHugeBytes = 64u << 20;
constexpr std::uint64_t kMaxRetryMs = 86400000;
constexpr std::uint64_t kMaxHops = 20;
// The pieces a huge event is written in.
constexpr size_t kWriteChunk = 64u << 10;

constexpr const char* kIndex =
    "ssebridge faults (docs/faults.md has the details):\n"
    "  /faults/close?after=N&abort=0|1         N events, then close (abort: no final chunk)\n"
    "  /faults/stall?after=N                   N events, then silence until the client leaves\n"
    "  /faults/status?code=S&retry_after=SEC   HTTP status S\n"
    "  /faults/content-type?type=T             200 with Content-Type T (none: no header)\n"
    "  /faults/drip?events=N&interval_ms=D     N events, one byte per write, D ms apart\n"
    "  /faults/retry?ms=M&events=N             retry: M, N events, then close\n"
    "  /faults/redirect?to=PATH&code=C&hops=H  H redirects with status C, ending at PATH\n"
    "  /faults/huge?bytes=B&line_bytes=L       one event of B bytes of data, then close\n"
    "  /faults/invalid-utf8                    events whose data is not valid UTF-8\n"
    "  /faults/heartbeat?interval_ms=D&count=N comments only, every D ms\n";

// Reads a numeric parameter; false (400 sent) when it is malformed or out of range.
bool number_param(const Request& req, Response& res, const char* name, std::uint64_t fallback,
                  std::uint64_t min, std::uint64_t max, std::uint64_t& value) {
  value = fallback;
  if (!req.has_param(name)) return true;
  const auto parsed = parse_count(req.get_param_value(name), max);
  if (!parsed || *parsed < min) {
    send_error(res, 400,
               std::string("parameter ") + name + " must be a whole number from " +
                   std::to_string(min) + " to " + std::to_string(max));
    return false;
  }
  value = *parsed;
  return true;
}

// The id of the first event a fault sends: one past the Last-Event-ID, so a client that
// reconnects sees the numbering go on.
bool first_id(const Request& req, Response& res, std::int64_t& id) {
  std::string error;
  const auto last = last_event_id_of(req, error);
  if (!error.empty()) {
    send_error(res, 400, error);
    return false;
  }
  id = last ? *last + 1 : 1;
  return true;
}

std::string numbered_event(std::int64_t id) {
  std::string out;
  append_event(out, id, "message", "event " + std::to_string(id));
  return out;
}

bool write(DataSink& sink, const std::string& bytes) {
  return bytes.empty() || sink.write(bytes.data(), bytes.size());
}

// A fault stream: `step` is called until it returns false (abort) or calls sink.done().
using Step = std::function<bool(DataSink& sink)>;

void stream(Response& res, ClientSlots::Slot slot, Step step) {
  auto held = std::make_shared<ClientSlots::Slot>(std::move(slot));
  set_stream_headers(res);
  res.set_chunked_content_provider(
      "text/event-stream",
      [held, step = std::move(step)](size_t, DataSink& sink) { return step(sink); });
}

// The writes of a scripted stream, and how many were made.
struct Sequence {
  std::vector<std::string> writes;
  size_t next = 0;
};

}  // namespace

Faults::Faults(ClientSlots& slots) : slots_(slots) {}

void Faults::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
}

bool Faults::wait_stopped(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return wake_.wait_for(lock, timeout, [this] { return stopped_.load(); });
}

void Faults::add_routes(httplib::Server& server) {
  // Takes a client slot for a streaming fault, or answers 503.
  const auto acquire = [this](Response& res) -> std::optional<ClientSlots::Slot> {
    auto slot = slots_.try_acquire();
    if (!slot) {
      res.set_header("Retry-After", "2");
      send_error(res, 503, "the bridge is at its client limit; retry later");
    }
    return slot;
  };

  // Writes `writes` one per step, then ends cleanly or, with `abort`, drops the connection.
  const auto play = [acquire](Response& res, std::vector<std::string> writes, bool abort) {
    auto slot = acquire(res);
    if (!slot) return;
    auto seq = std::make_shared<Sequence>();
    seq->writes = std::move(writes);
    stream(res, std::move(*slot), [seq, abort](DataSink& sink) {
      if (seq->next < seq->writes.size()) return write(sink, seq->writes[seq->next++]);
      if (abort) return false;
      sink.done();
      return true;
    });
  };

  server.Get("/faults",
             [](const Request&, Response& res) { res.set_content(kIndex, "text/plain"); });
  server.Get("/faults/",
             [](const Request&, Response& res) { res.set_content(kIndex, "text/plain"); });

  server.Get("/faults/close", [play](const Request& req, Response& res) {
    std::uint64_t after = 0;
    std::uint64_t abort = 0;
    std::int64_t id = 0;
    if (!number_param(req, res, "after", 3, 0, kMaxEvents, after) ||
        !number_param(req, res, "abort", 0, 0, 1, abort) || !first_id(req, res, id)) {
      return;
    }
    std::vector<std::string> writes;
    for (std::uint64_t i = 0; i < after; ++i)
      writes.push_back(numbered_event(id++));
    play(res, std::move(writes), abort == 1);
  });

  server.Get("/faults/stall", [this, acquire](const Request& req, Response& res) {
    std::uint64_t after = 0;
    std::int64_t id = 0;
    if (!number_param(req, res, "after", 0, 0, kMaxEvents, after) || !first_id(req, res, id)) {
      return;
    }
    auto slot = acquire(res);
    if (!slot) return;
    auto seq = std::make_shared<Sequence>();
    for (std::uint64_t i = 0; i < after; ++i)
      seq->writes.push_back(numbered_event(id++));
    stream(res, std::move(*slot), [this, seq](DataSink& sink) {
      if (seq->next < seq->writes.size()) return write(sink, seq->writes[seq->next++]);
      // Silence, until the client goes away or the server stops: never a pinned thread.
      if (wait_stopped(kLivenessCheck)) return false;
      return sink.is_writable();
    });
  });

  server.Get("/faults/status", [](const Request& req, Response& res) {
    std::uint64_t code = 0;
    if (!number_param(req, res, "code", 500, 200, 599, code)) return;
    if (req.has_param("retry_after")) {
      std::uint64_t seconds = 0;
      if (!number_param(req, res, "retry_after", 0, 0, 86400, seconds)) return;
      res.set_header("Retry-After", std::to_string(seconds));
    }
    res.status = static_cast<int>(code);
    if (code != 204 && code != 304) {
      res.set_content("fault: HTTP " + std::to_string(code) + "\n", "text/plain");
    }
  });

  server.Get("/faults/content-type", [](const Request& req, Response& res) {
    const std::string type = req.has_param("type") ? req.get_param_value("type") : "text/plain";
    if (type.empty() || type.size() > 100 || type.find_first_of("\r\n") != std::string::npos) {
      return send_error(res, 400, "parameter type must be 1 to 100 characters on one line");
    }
    std::string body;
    append_event(body, 1, "message", "served as " + type);
    if (type == "none") {
      // cpp-httplib labels a plain body text/plain; a provider with an empty type sends an
      // empty Content-Type header instead, as close to none as it allows.
      res.set_content_provider(body.size(), "",
                               [body](size_t offset, size_t length, DataSink& sink) {
                                 return sink.write(body.data() + offset, length);
                               });
    } else {
      res.set_content(body, type);
    }
  });

  server.Get("/faults/drip", [this, acquire](const Request& req, Response& res) {
    std::uint64_t events = 0;
    std::uint64_t interval = 0;
    std::int64_t id = 0;
    if (!number_param(req, res, "events", 2, 0, kMaxEvents, events) ||
        !number_param(req, res, "interval_ms", 20, 0, kMaxIntervalMs, interval) ||
        !first_id(req, res, id)) {
      return;
    }
    auto slot = acquire(res);
    if (!slot) return;
    auto seq = std::make_shared<Sequence>();
    std::string text;
    for (std::uint64_t i = 0; i < events; ++i)
      text += numbered_event(id++);
    seq->writes.push_back(std::move(text));
    const auto delay = std::chrono::milliseconds(interval);
    stream(res, std::move(*slot), [this, seq, delay](DataSink& sink) {
      const std::string& text = seq->writes.front();
      if (seq->next >= text.size()) {
        sink.done();
        return true;
      }
      if (seq->next > 0 && wait_stopped(delay)) return false;
      return write(sink, text.substr(seq->next++, 1));
    });
  });

  server.Get("/faults/retry", [play](const Request& req, Response& res) {
    std::uint64_t ms = 0;
    std::uint64_t events = 0;
    std::int64_t id = 0;
    if (!number_param(req, res, "ms", 1500, 0, kMaxRetryMs, ms) ||
        !number_param(req, res, "events", 1, 0, kMaxEvents, events) || !first_id(req, res, id)) {
      return;
    }
    std::vector<std::string> writes(1);
    append_retry(writes[0], std::chrono::milliseconds(ms));
    for (std::uint64_t i = 0; i < events; ++i)
      writes.push_back(numbered_event(id++));
    play(res, std::move(writes), false);
  });

  server.Get("/faults/redirect", [](const Request& req, Response& res) {
    std::uint64_t code = 0;
    std::uint64_t hops = 0;
    if (!number_param(req, res, "code", 307, 301, 308, code) ||
        !number_param(req, res, "hops", 1, 1, kMaxHops, hops)) {
      return;
    }
    if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
      return send_error(res, 400, "parameter code must be 301, 302, 303, 307 or 308");
    }
    const std::string to = req.has_param("to") ? req.get_param_value("to") : "/demo/ticks";
    // Only paths on this server: the fault must not become an open redirect.
    if (to.empty() || to[0] != '/' || to.rfind("//", 0) == 0 ||
        to.find_first_of("\r\n\\") != std::string::npos) {
      return send_error(res, 400, "parameter to must be a path on this server, like /demo/ticks");
    }
    std::string location = to;
    if (hops > 1) {
      location = "/faults/redirect?code=" + std::to_string(code) +
                 "&hops=" + std::to_string(hops - 1) +
                 "&to=" + httplib::detail::encode_query_param(to);
    }
    res.set_redirect(location, static_cast<int>(code));
  });

  server.Get("/faults/huge", [acquire](const Request& req, Response& res) {
    std::uint64_t bytes = 0;
    std::uint64_t line_bytes = 0;
    if (!number_param(req, res, "bytes", 1u << 20, 0, kMaxHugeBytes, bytes) ||
        !number_param(req, res, "line_bytes", 0, 0, kMaxHugeBytes, line_bytes)) {
      return;
    }
    auto slot = acquire(res);
    if (!slot) return;
    // Written piece by piece: the event is never whole in memory.
    struct Huge {
      std::uint64_t left;
      std::uint64_t line_bytes;
      std::uint64_t in_line = 0;
      int phase = 0;  // 0 head, 1 data, 2 tail, 3 done
    };
    auto huge = std::make_shared<Huge>(Huge{bytes, line_bytes});
    stream(res, std::move(*slot), [huge](DataSink& sink) {
      std::string out;
      switch (huge->phase) {
        case 0:
          out = "id: 1\nevent: huge\ndata: ";
          huge->phase = 1;
          break;
        case 1:
          while (huge->left > 0 && out.size() < kWriteChunk) {
            if (huge->line_bytes > 0 && huge->in_line == huge->line_bytes) {
              out += "\ndata: ";
              huge->in_line = 0;
            }
            std::uint64_t run = std::min<std::uint64_t>(huge->left, kWriteChunk - out.size());
            if (huge->line_bytes > 0) run = std::min(run, huge->line_bytes - huge->in_line);
            out.append(static_cast<size_t>(run), 'x');
            huge->left -= run;
            huge->in_line += run;
          }
          if (huge->left == 0) huge->phase = 2;
          break;
        case 2:
          out = "\n\n";
          append_event(out, 2, "message", "end");
          huge->phase = 3;
          break;
        default:
          sink.done();
          return true;
      }
      return write(sink, out);
    });
  });

  server.Get("/faults/invalid-utf8", [play](const Request&, Response& res) {
    // Each event's data as sent; a conforming client decodes each bad sequence to U+FFFD.
    const char* const data[] = {
        "before \xFF\xFE after",  // bytes that never occur in UTF-8
        "cut \xE2\x82",           // a three-byte sequence missing its last byte
        "overlong \xC0\xAF",      // an overlong encoding of '/'
        "valid \xE2\x82\xAC",     // a correct euro sign, to show the stream goes on
    };
    std::vector<std::string> writes;
    std::int64_t id = 1;
    for (const char* d : data) {
      std::string event;
      append_event(event, id++, "message", d);
      writes.push_back(std::move(event));
    }
    play(res, std::move(writes), false);
  });

  server.Get("/faults/heartbeat", [this, acquire](const Request& req, Response& res) {
    std::uint64_t interval = 0;
    std::uint64_t count = 0;
    if (!number_param(req, res, "interval_ms", 1000, 10, kMaxIntervalMs, interval) ||
        !number_param(req, res, "count", 0, 0, kMaxEvents, count)) {
      return;
    }
    auto slot = acquire(res);
    if (!slot) return;
    auto sent = std::make_shared<std::uint64_t>(0);
    const auto delay = std::chrono::milliseconds(interval);
    stream(res, std::move(*slot), [this, sent, count, delay](DataSink& sink) {
      if (count > 0 && *sent == count) {
        sink.done();
        return true;
      }
      if (*sent > 0 && wait_stopped(delay)) return false;
      ++*sent;
      return write(sink, ": heartbeat\n\n");
    });
  });
}

}  // namespace ssebridge
