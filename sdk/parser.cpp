// parser.cpp: the WHATWG "event stream interpretation", incrementally.
//
// Complete lines are processed straight out of the caller's buffer; only a line cut by the end
// of a read is copied, into pending_. Field values are appended to buffers that keep their
// capacity, so a steady stream allocates nothing.
#include "ssekit/parser.hpp"

#include <cstring>
#include <limits>
#include <utility>

#include "line_scan.hpp"
#include "utf8.hpp"

namespace ssekit {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kDefaultType = "message";

bool is_ascii_digits(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Reads a digits-only `retry:` value, saturating instead of overflowing.
std::chrono::milliseconds parse_retry(std::string_view digits) {
  using Rep = std::chrono::milliseconds::rep;
  constexpr Rep kMax = std::numeric_limits<Rep>::max();
  Rep value = 0;
  for (char c : digits) {
    const Rep digit = c - '0';
    if (value > (kMax - digit) / 10) return std::chrono::milliseconds(kMax);
    value = value * 10 + digit;
  }
  return std::chrono::milliseconds(value);
}

}  // namespace

EventParser::EventParser(ParserLimits limits) : limits_(limits) {}

void EventParser::set_last_event_id(std::string id) {
  // The same rule as an `id:` field: an ID holding NUL cannot be sent back as a header.
  if (id.find('\0') != std::string::npos) return;
  event_.id = std::move(id);
  id_buffer_ = event_.id;
}

void EventParser::reset() {
  pending_.clear();
  event_.data.clear();
  if (type_set_) event_.type.assign(kDefaultType);
  type_set_ = false;

  // Like browsers, a new connection continues from the last dispatched ID, so events that
  // carry no id: of their own still report the position a reconnect would resume from.
  id_buffer_ = event_.id;

  after_cr_ = false;
  at_stream_start_ = true;
  skipping_line_ = false;
  skipping_event_ = false;
}

void EventParser::feed(std::string_view bytes, Handler& handler) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  bytes_fed_ += bytes.size();

  // "CR LF" split across two reads is one line end: the CR already ended the line.
  if (after_cr_ && p < end) {
    after_cr_ = false;
    if (*p == '\n') ++p;
  }

  while (p < end) {
    bool non_ascii = false;
    const char* eol = detail::find_line_end(p, end, non_ascii);

    if (eol == end) {
      // The line goes on in a later read: keep it, within the line limit.
      if (!skipping_line_) {
        if (pending_.size() + static_cast<std::size_t>(end - p) > limits_.max_line_bytes) {
          refuse_line(handler);
        } else {
          pending_.append(p, end);
        }
      }
      break;
    }

    if (skipping_line_) {
      skipping_line_ = false;  // the end of the refused line: parsing resumes after it
    } else if (pending_.empty()) {
      if (static_cast<std::size_t>(eol - p) > limits_.max_line_bytes) {
        refuse_line(handler);
        skipping_line_ = false;
      } else {
        take_line(std::string_view(p, static_cast<std::size_t>(eol - p)), non_ascii, handler);
      }
    } else if (pending_.size() + static_cast<std::size_t>(eol - p) > limits_.max_line_bytes) {
      refuse_line(handler);
      skipping_line_ = false;
    } else {
      pending_.append(p, eol);
      take_line(pending_, true, handler);
      pending_.clear();
    }

    // Step past the line end: LF, CR LF, or a lone CR (whose LF may come in the next read).
    if (*eol == '\r') {
      if (eol + 1 == end) {
        after_cr_ = true;
        p = end;
      } else {
        p = eol[1] == '\n' ? eol + 2 : eol + 1;
      }
    } else {
      p = eol + 1;
    }
  }
}

void EventParser::take_line(std::string_view line, bool non_ascii, Handler& handler) {
  // The decoder strips one BOM at the very start of the stream, and only there.
  if (at_stream_start_) {
    at_stream_start_ = false;
    if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  }

  if (non_ascii && !detail::is_valid_utf8(line)) {
    decoded_.clear();
    detail::append_utf8_replacing_invalid(line, decoded_);
    line = decoded_;
  }

  process_line(line, handler);
}

void EventParser::process_line(std::string_view line, Handler& handler) {
  if (line.empty()) {
    dispatch(handler);
    return;
  }

  if (line.front() == ':') {
    handler.on_comment(line.substr(1));
    return;
  }

  // "field: value" with exactly one optional space after the colon; no colon means the whole
  // line is the field name and the value is empty.
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    process_field(line, std::string_view(), handler);
    return;
  }
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  process_field(line.substr(0, colon), value, handler);
}

void EventParser::process_field(std::string_view name, std::string_view value, Handler& handler) {
  if (name == "data") {
    append_data(value, handler);
  } else if (name == "event") {
    if (skipping_event_) return;
    event_.type.assign(value.empty() ? kDefaultType : value);
    type_set_ = true;
  } else if (name == "id") {
    // An id holding U+0000 is ignored as a whole, per the spec.
    if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
  } else if (name == "retry") {
    // Only ASCII digits count; "1.5", "-1", " 10" and "" are ignored.
    if (is_ascii_digits(value)) handler.on_retry(parse_retry(value));
  }
  // Any other field name is ignored.
}

void EventParser::append_data(std::string_view value, Handler& handler) {
  if (skipping_event_) return;

  if (event_.data.size() + value.size() + 1 > limits_.max_event_bytes) {
    Error error;
    error.code = ErrorCode::event_too_large;
    error.message = "event stream: event data over " + std::to_string(limits_.max_event_bytes) +
                    " bytes; the event was dropped";
    skipping_event_ = true;
    event_.data.clear();
    handler.on_error(error);
    return;
  }

  event_.data.append(value);
  event_.data.push_back('\n');
}

void EventParser::dispatch(Handler& handler) {
  // The last event ID is set even when no event follows: an `id:` alone moves the position.
  if (event_.id != id_buffer_) event_.id = id_buffer_;

  const bool deliver = !skipping_event_ && !event_.data.empty();
  skipping_event_ = false;

  if (deliver) {
    event_.data.pop_back();  // the LF appended after the last data line
    handler.on_event(event_);
  }

  event_.data.clear();
  if (type_set_) {
    event_.type.assign(kDefaultType);
    type_set_ = false;
  }
}

void EventParser::refuse_line(Handler& handler) {
  // A line past the limit cannot be trusted, nor can the event it belongs to.
  Error error;
  error.code = ErrorCode::line_too_long;
  error.message = "event stream: line over " + std::to_string(limits_.max_line_bytes) +
                  " bytes; it and its event were dropped";
  pending_.clear();
  at_stream_start_ = false;
  skipping_line_ = true;
  skipping_event_ = true;
  event_.data.clear();
  handler.on_error(error);
}

}  // namespace ssekit
