// ssekit/parser.hpp: an incremental text/event-stream parser.
//
// EventParser follows the WHATWG HTML "event stream interpretation" rules: UTF-8 decoding with
// U+FFFD for invalid bytes, one leading BOM stripped, lines ended by CRLF, LF or CR (and nothing
// else), the data/event/id/retry fields, comments. Bytes may be fed split anywhere; the events
// are the same whatever the split. It allocates nothing per line or per event once its buffers
// have grown to the largest line and event seen.
//
//   struct Print : ssekit::EventParser::Handler {
//     void on_event(const ssekit::Event& e) override { std::cout << e.data << '\n'; }
//   } print;
//   ssekit::EventParser parser;
//   parser.feed("data: hel", print);
//   parser.feed("lo\n\n", print);  // prints "hello"
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "ssekit/error.hpp"
#include "ssekit/event.hpp"

namespace ssekit {
namespace detail {
enum class Field : unsigned char;  // a field name the parser knows (parser.cpp)
}  // namespace detail

/// Bounds on what one stream may make the parser hold.
struct ParserLimits {
  /// Longest line kept, in bytes, line ending excluded. Default 1 MiB: far above any real field,
  /// small enough that a stream with no line end cannot exhaust memory.
  std::size_t max_line_bytes = std::size_t{1} << 20;

  /// Largest data buffer of one event, in bytes. Default 16 MiB, for large JSON snapshots.
  std::size_t max_event_bytes = std::size_t{16} << 20;
};

/// Parses one event stream after another (call reset() between connections).
class EventParser {
 public:
  /// Receives what the parser finds. Called synchronously from feed(), once per event, comment,
  /// retry field or limit error: never per byte.
  class Handler {
   public:
    virtual ~Handler() = default;

    /// A dispatched event. The reference is valid until the handler returns.
    virtual void on_event(const Event& event) = 0;

    /// A comment line, without its leading colon (one leading space, if any, kept as sent).
    virtual void on_comment(std::string_view /*text*/) {}

    /// A valid `retry:` field: the server's new reconnection time.
    virtual void on_retry(std::chrono::milliseconds /*delay*/) {}

    /// A line or an event past a limit. The parser skips it and goes on.
    virtual void on_error(const Error& /*error*/) {}
  };

  /// A parser at the start of a stream, holding no more than `limits` allow.
  explicit EventParser(ParserLimits limits = {});

  /// Parses the next bytes of the stream, calling `handler` for everything they complete.
  /// A line is processed as soon as its line end arrives: nothing is held back for more bytes.
  void feed(std::string_view bytes, Handler& handler);

  /// Starts a new stream (a reconnect): drops any partial line and event and expects a BOM
  /// again, but keeps the last event ID, which the next stream continues from.
  void reset();

  /// The last event ID of the last dispatched event ("" if none): what a reconnect sends as
  /// Last-Event-ID. An `id:` of an event that was never dispatched does not count.
  const std::string& last_event_id() const noexcept { return event_.id; }

  /// Seeds the last event ID, to resume a stream from a stored position.
  void set_last_event_id(std::string id);

  /// Total bytes fed since construction.
  std::size_t bytes_fed() const noexcept { return bytes_fed_; }

 private:
  void end_line(const char* begin, const char* eol, bool unusual, Handler& handler);
  void keep_partial_line(const char* begin, const char* end, Handler& handler);
  void take_line(std::string_view line, bool unusual, Handler& handler);
  void process_line(std::string_view line, Handler& handler);
  void process_field(detail::Field field, std::string_view value, Handler& handler);
  void append_data(std::string_view value, Handler& handler);
  void dispatch(Handler& handler);
  void refuse_line(Handler& handler);
  void clear_event();

  ParserLimits limits_;

  std::string pending_;     // bytes of a line whose end has not arrived yet
  std::string decoded_;     // scratch for a line that needed U+FFFD replacement
  Event event_;             // the data and type being built, and the last event ID
  std::string pending_id_;  // the value of the last `id:` field, when id_changed_

  bool line_unusual_ = false;    // the line being processed may hold NUL or non-ASCII bytes
  bool id_changed_ = false;      // an `id:` field set pending_id_ since the last dispatch
  bool type_set_ = false;        // an `event:` field set event_.type since the last dispatch
  bool has_data_ = false;        // a `data:` field came since the last dispatch
  bool after_cr_ = false;        // the last byte fed was CR: an LF right after it ends nothing
  bool at_stream_start_ = true;  // the next complete line is the first: strip a BOM
  bool skipping_line_ = false;   // the current line passed max_line_bytes: drop until its end
  bool skipping_event_ = false;  // the current event passed a limit: drop until a blank line
  std::size_t bytes_fed_ = 0;
};

}  // namespace ssekit
