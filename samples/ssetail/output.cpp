// Rendering and writing of events for ssetail's three output styles.
#include "output.hpp"

#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

namespace ssetail {
namespace {

// SGR sequences of the readable header: the type bold cyan, the id dim.
constexpr std::string_view kTypeColour = "\x1b[1;36m";
constexpr std::string_view kIdColour = "\x1b[2m";
constexpr std::string_view kResetColour = "\x1b[0m";

// Bytes below this are C0 controls; with DEL they are what could move a terminal's cursor.
constexpr unsigned char kFirstPrintable = 0x20;
constexpr unsigned char kDelete = 0x7f;
// Caret notation shows control byte c as '^' followed by c XOR 0x40 (ESC -> ^[, DEL -> ^?).
constexpr unsigned char kCaretFlip = 0x40;

/// Appends `text` as a JSON string. The replace handler turns invalid UTF-8 into U+FFFD, so a
/// hostile stream (or a capture fed to stdin) cannot make dump() throw.
void append_json_string(const std::string& text, std::string& out) {
  constexpr int kNoIndent = -1;
  constexpr bool kKeepUtf8 = false;  // ensure_ascii off: UTF-8 passes through unescaped
  out += nlohmann::json(text).dump(kNoIndent, ' ', kKeepUtf8,
                                   nlohmann::json::error_handler_t::replace);
}

/// Appends `text`, with control characters other than TAB (and LF when `keep_newlines`) shown
/// in caret notation.
void append_for_terminal(std::string_view text, bool keep_newlines, std::string& out) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool control = byte < kFirstPrintable || byte == kDelete;
    if (!control || c == '\t' || (c == '\n' && keep_newlines)) {
      out += c;
    } else {
      out += '^';
      out += static_cast<char>(byte ^ kCaretFlip);
    }
  }
}

}  // namespace

std::optional<FormatTemplate> FormatTemplate::compile(std::string_view text, std::string& error) {
  static constexpr std::pair<std::string_view, Field> kPlaceholders[] = {
      {"{event}", Field::event},
      {"{data}", Field::data},
      {"{id}", Field::id},
      {"{time}", Field::time},
  };

  FormatTemplate compiled;
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    compiled.pieces_.push_back({Field::literal, std::move(literal)});
    literal.clear();
  };

  std::size_t i = 0;
  while (i < text.size()) {
    const std::string_view rest = text.substr(i);
    if (rest.rfind("{{", 0) == 0) {
      literal += '{';
      i += 2;
      continue;
    }
    if (rest[0] == '{') {
      bool matched = false;
      for (const auto& [name, field] : kPlaceholders) {
        if (rest.rfind(name, 0) != 0) continue;
        flush_literal();
        compiled.pieces_.push_back({field, {}});
        i += name.size();
        matched = true;
        break;
      }
      if (matched) continue;
      const std::size_t close = rest.find('}');
      error = "unknown placeholder '" +
              std::string(rest.substr(0, close == std::string_view::npos ? 1 : close + 1)) +
              "'; use {event}, {data}, {id}, {time} or {{ for a brace";
      return std::nullopt;
    }
    if (rest[0] == '\\' && rest.size() > 1) {
      const char escaped = rest[1];
      if (escaped == 'n') {
        literal += '\n';
      } else if (escaped == 't') {
        literal += '\t';
      } else if (escaped == '\\') {
        literal += '\\';
      } else {
        error = std::string("unknown escape '\\") + escaped + "'; use \\n, \\t or \\\\";
        return std::nullopt;
      }
      i += 2;
      continue;
    }
    literal += rest[0];
    ++i;
  }

  flush_literal();
  return compiled;
}

void FormatTemplate::render(const ssekit::Event& event, std::chrono::system_clock::time_point now,
                            std::string& out) const {
  for (const Piece& piece : pieces_) {
    switch (piece.field) {
      case Field::literal:
        out += piece.text;
        break;
      case Field::event:
        out += event.type;
        break;
      case Field::data:
        out += event.data;
        break;
      case Field::id:
        out += event.id;
        break;
      case Field::time:
        out += utc_timestamp(now);
        break;
    }
  }
  out += '\n';
}

void append_json(const ssekit::Event& event, std::string& out) {
  out += "{\"event\":";
  append_json_string(event.type, out);
  out += ",\"data\":";
  append_json_string(event.data, out);
  out += ",\"id\":";
  append_json_string(event.id, out);
  out += "}\n";
}

void append_readable(const ssekit::Event& event, bool terminal, std::string& out) {
  if (!terminal) {
    out += event.type;
    if (!event.id.empty()) out.append(" id=").append(event.id);
    out.append("\n").append(event.data).append("\n\n");
    return;
  }

  out += kTypeColour;
  append_for_terminal(event.type, false, out);
  out += kResetColour;
  if (!event.id.empty()) {
    out.append(" ").append(kIdColour).append("id=");
    append_for_terminal(event.id, false, out);
    out += kResetColour;
  }
  out += '\n';
  append_for_terminal(event.data, true, out);
  out += "\n\n";
}

bool wants_colour(int fd) {
  if (::isatty(fd) == 0) return false;
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && no_colour[0] != '\0') return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

std::string utc_timestamp(std::chrono::system_clock::time_point when) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  constexpr long long kMillisPerSecond = 1000;

  const long long millis = duration_cast<milliseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / kMillisPerSecond);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);

  char text[64];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  std::snprintf(text + length, sizeof text - length, ".%03lldZ", millis % kMillisPerSecond);
  return text;
}

EventWriter::EventWriter(int fd, OutputStyle style, FormatTemplate format, bool terminal,
                         bool (*stop_requested)())
    : fd_(fd),
      style_(style),
      format_(std::move(format)),
      terminal_(terminal),
      stop_requested_(stop_requested) {}

WriteStatus EventWriter::write(const ssekit::Event& event) {
  // Held output is written in pieces of this size at least, enough to make the cost of the
  // system calls small against copying the bytes.
  constexpr std::size_t kFlushBytes = 64 * 1024;

  switch (style_) {
    case OutputStyle::json:
      append_json(event, buffer_);
      break;
    case OutputStyle::readable:
      append_readable(event, terminal_, buffer_);
      break;
    case OutputStyle::custom:
      format_.render(event, std::chrono::system_clock::now(), buffer_);
      break;
  }
  if (holding_ && buffer_.size() < kFlushBytes) return WriteStatus::written;
  return flush();
}

WriteStatus EventWriter::flush() {
  const WriteStatus status = write_all(buffer_);
  buffer_.clear();
  return status;
}

WriteStatus EventWriter::write_all(std::string_view bytes) {
  // Each write waits for room first and moves at most PIPE_BUF bytes, which a pipe with room
  // takes without blocking. So a reader that stops reading never pins ssetail: the stop flag
  // is looked at every kStopCheckInterval while the output is full.
  constexpr int kStopCheckIntervalMs = 100;
  while (!bytes.empty()) {
    pollfd output{fd_, POLLOUT, 0};
    const int ready = ::poll(&output, 1, kStopCheckIntervalMs);
    if (ready < 0 && errno != EINTR) {
      errno_value_ = errno;
      return WriteStatus::failed;
    }
    if (ready <= 0) {
      if (stop_requested_ != nullptr && stop_requested_()) return WriteStatus::interrupted;
      continue;
    }

    const std::size_t chunk = std::min<std::size_t>(bytes.size(), PIPE_BUF);
    const ssize_t written = ::write(fd_, bytes.data(), chunk);
    if (written >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(written));
      continue;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    errno_value_ = errno;
    return errno == EPIPE ? WriteStatus::broken_pipe : WriteStatus::failed;
  }
  return WriteStatus::written;
}

}  // namespace ssetail
