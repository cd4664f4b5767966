// How ssetail prints events: NDJSON, a readable form (coloured on a terminal), or a template.
// Each event is rendered whole and written at once, so `ssetail URL | jq` is live and a reader
// never sees half an event unless ssetail is interrupted while the reader has stopped reading.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ssekit/event.hpp"

namespace ssetail {

enum class OutputStyle {
  readable,  ///< "type id=ID" header, the data, a blank line.
  json,      ///< {"event":...,"data":...,"id":...} per line.
  custom,    ///< --format TEMPLATE, one rendering per line.
};

/// A compiled --format TEMPLATE: literal text and the placeholders {event}, {data}, {id} and
/// {time}, with \n, \t and \\ escapes and {{ for a literal brace.
class FormatTemplate {
 public:
  /// Compiles `text`. On a bad placeholder or escape returns nothing and sets `error` to a
  /// sentence naming it.
  static std::optional<FormatTemplate> compile(std::string_view text, std::string& error);

  /// Appends the rendering of `event`, received at `now`, to `out`.
  void render(const ssekit::Event& event, std::chrono::system_clock::time_point now,
              std::string& out) const;

 private:
  enum class Field { literal, event, data, id, time };
  struct Piece {
    Field field = Field::literal;
    std::string text;
  };
  std::vector<Piece> pieces_;
};

/// Appends `{"event":...,"data":...,"id":...}` and a LF to `out`: exactly those keys in that
/// order, no whitespace, UTF-8 kept as is. Invalid UTF-8 becomes U+FFFD instead of throwing.
void append_json(const ssekit::Event& event, std::string& out);

/// Appends the readable form to `out`. With `terminal` set the header is coloured and control
/// characters in the event become caret notation, so a stream cannot drive the terminal.
void append_readable(const ssekit::Event& event, bool terminal, std::string& out);

/// True when `fd` is a terminal that should get colour: a tty, TERM is not "dumb" and NO_COLOR
/// is unset (https://no-color.org).
bool wants_colour(int fd);

/// "2026-12-03T17:10:20.123Z": UTC with milliseconds, for log lines and {time}.
std::string utc_timestamp(std::chrono::system_clock::time_point when);

/// What became of one write.
enum class WriteStatus {
  written,      ///< Every byte reached the descriptor.
  broken_pipe,  ///< The reader went away (EPIPE): stop quietly.
  interrupted,  ///< A signal asked ssetail to stop while the write was blocked.
  failed,       ///< Another error; errno_value() says which.
};

/// Renders events in one style and writes each to a descriptor. Never blocks for long: while the
/// descriptor is full it checks `stop_requested` every 100 ms. Not thread-safe: one thread
/// prints.
class EventWriter {
 public:
  /// `stop_requested` is consulted only while the output is full; null means never stop.
  EventWriter(int fd, OutputStyle style, FormatTemplate format, bool terminal,
              bool (*stop_requested)());

  /// Renders one event and writes it, together with any held ones. While holding, events are
  /// only rendered, and written once kFlushBytes are held or at flush().
  WriteStatus write(const ssekit::Event& event);

  /// Writes the held events.
  WriteStatus flush();

  /// Holds events until flush(): for a batch of events that arrived together, which gain
  /// nothing from a write(2) each.
  void hold(bool on) { holding_ = on; }

  /// True when rendered events wait for flush().
  bool has_held() const { return !buffer_.empty(); }

  /// The errno of the last failed write.
  int errno_value() const { return errno_value_; }

 private:
  WriteStatus write_all(std::string_view bytes);

  int fd_;
  OutputStyle style_;
  FormatTemplate format_;
  bool terminal_;
  bool (*stop_requested_)();
  std::string buffer_;  // rendered, not yet written; reused, so it allocates only on growth
  bool holding_ = false;
  int errno_value_ = 0;
};

}  // namespace ssetail
