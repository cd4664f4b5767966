// parser.cpp: the WHATWG "event stream interpretation", incrementally.
//
// Complete lines are processed straight out of the caller's buffer; only a line cut by the end
// of a read is copied, into pending_. Field values are appended to buffers that keep their
// capacity, so a steady stream allocates nothing.
#include "ssekit/parser.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "line_scan.hpp"
#include "utf8.hpp"

namespace ssekit {
namespace detail {

// The four field names the spec acts on. Any other name is ignored.
enum class Field : unsigned char { data, id, event, retry, other };

}  // namespace detail

namespace {

using detail::Field;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kDefaultType = "message";

// Replaces the text of `target`, reusing its capacity. The ids of one stream usually keep
// their length from event to event, and then the bytes are simply overwritten in place.
void copy_into(std::string& target, std::string_view text) {
  if (target.size() == text.size()) {
    if (!text.empty()) std::memcpy(target.data(), text.data(), text.size());
    return;
  }
  target.assign(text.data(), text.size());
}

// Recognises "data:", "id:", "event:" and "retry:" by their fixed prefix, colon included, and
// sets `colon` to where the colon is. Most lines start so; the rest take the general search.
Field known_field(std::string_view line, std::size_t& colon) {
  const auto starts_with = [line](std::string_view prefix) {
    return line.size() >= prefix.size() &&
           std::memcmp(line.data(), prefix.data(), prefix.size()) == 0;
  };
  switch (line[0]) {
    case 'd':
      colon = 4;
      return starts_with("data:") ? Field::data : Field::other;
    case 'i':
      colon = 2;
      return starts_with("id:") ? Field::id : Field::other;
    case 'e':
      colon = 5;
      return starts_with("event:") ? Field::event : Field::other;
    case 'r':
      colon = 5;
      return starts_with("retry:") ? Field::retry : Field::other;
    default:
      return Field::other;
  }
}

// Names a field from the whole name: for lines the prefix test did not settle.
template <std::size_t N>
bool is_field(std::string_view name, const char (&literal)[N]) {
  return name.size() == N - 1 && std::memcmp(name.data(), literal, N - 1) == 0;
}

Field field_named(std::string_view name) {
  if (is_field(name, "data")) return Field::data;
  if (is_field(name, "id")) return Field::id;
  if (is_field(name, "event")) return Field::event;
  if (is_field(name, "retry")) return Field::retry;
  return Field::other;
}

// Event types are short: comparing them in a loop is cheaper than a call to memcmp.
bool same_text(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Ids are short: a byte loop is cheaper here than a call to memchr.
bool contains_nul(std::string_view value) {
  for (char c : value) {
    if (c == '\0') return true;
  }
  return false;
}

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
  id_changed_ = false;
}

void EventParser::reset() {
  pending_.clear();
  clear_event();

  // Like browsers, a new connection continues from the last dispatched ID (event_.id), so
  // events that carry no id: of their own still report the position a reconnect resumes from.
  id_changed_ = false;

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

  // Walk the read a block at a time and its line ends a bit at a time. `unusual` may be set
  // by a byte of a neighbouring line in the same block; that only costs a validation.
  const char* line = p;
  bool unusual = false;
  bool settled = false;
  const char* next = nullptr;
  for (const char* block = p; block < end; block = next) {
    const auto left = static_cast<std::size_t>(end - block);
    bool block_unusual = false;
    std::uint64_t ends = left >= detail::kScanBlock ? detail::scan_block(block, block_unusual)
                                                    : detail::scan_tail(block, left, block_unusual);
    unusual = unusual || block_unusual;
    next = detail::next_block(block, ends, end, unusual);

    for (; ends != 0; ends &= ends - 1) {
      const char* eol = block + __builtin_ctzll(ends);
      if (eol < line) continue;  // the LF of a CR LF, already stepped over

      // After the first line end of a read nothing is pending, skipped or at the stream start,
      // so a plain line within the limit goes straight to the field rules.
      const auto size = static_cast<std::size_t>(eol - line);
      if (settled && !unusual && size <= limits_.max_line_bytes) {
        line_unusual_ = false;
        process_line(std::string_view(line, size), handler);
      } else {
        end_line(line, eol, unusual, handler);
        settled = true;
      }
      unusual = block_unusual;

      // Step past the line end: LF, CR LF, or a lone CR (whose LF may come in the next read).
      if (*eol == '\r' && eol + 1 == end) {
        after_cr_ = true;
        line = end;
      } else {
        line = (*eol == '\r' && eol[1] == '\n') ? eol + 2 : eol + 1;
      }
    }
  }

  if (line < end) keep_partial_line(line, end, handler);
}

inline void EventParser::end_line(const char* begin, const char* eol, bool unusual,
                                  Handler& handler) {
  const auto size = static_cast<std::size_t>(eol - begin);

  if (skipping_line_) {
    skipping_line_ = false;  // the end of the refused line: parsing resumes after it
  } else if (pending_.size() + size > limits_.max_line_bytes) {
    refuse_line(handler);
    skipping_line_ = false;
  } else if (pending_.empty()) {
    take_line(std::string_view(begin, size), unusual, handler);
  } else {
    pending_.append(begin, size);
    take_line(pending_, true, handler);
    pending_.clear();
  }
}

void EventParser::keep_partial_line(const char* begin, const char* end, Handler& handler) {
  // The line goes on in a later read: keep it, within the line limit.
  if (skipping_line_) return;

  const auto size = static_cast<std::size_t>(end - begin);
  if (pending_.size() + size > limits_.max_line_bytes) {
    refuse_line(handler);
  } else {
    pending_.append(begin, size);
  }
}

inline void EventParser::take_line(std::string_view line, bool unusual, Handler& handler) {
  // The decoder strips one BOM at the very start of the stream, and only there.
  if (at_stream_start_) {
    at_stream_start_ = false;
    if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  }

  line_unusual_ = unusual;
  if (unusual && !detail::is_valid_utf8(line)) {
    decoded_.clear();
    detail::append_utf8_replacing_invalid(line, decoded_);
    line = decoded_;
  }

  process_line(line, handler);
}

inline void EventParser::process_line(std::string_view line, Handler& handler) {
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
  std::size_t colon = 0;
  Field field = known_field(line, colon);
  if (field == Field::other) {
    colon = 0;
    while (colon < line.size() && line[colon] != ':')
      ++colon;
    field = field_named(line.substr(0, colon));
  }

  std::string_view value;
  if (colon < line.size()) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  process_field(field, value, handler);
}

inline void EventParser::process_field(Field field, std::string_view value, Handler& handler) {
  switch (field) {
    case Field::data:
      append_data(value, handler);
      break;
    case Field::id:
      // An id holding U+0000 is ignored as a whole, per the spec.
      if (!line_unusual_ || !contains_nul(value)) {
        copy_into(pending_id_, value);
        id_changed_ = true;
      }
      break;
    case Field::event: {
      // event_.type is only seen at dispatch, so it holds the type being built. Copying only
      // when it differs means a feed of one event type never copies it.
      const std::string_view type = value.empty() ? kDefaultType : value;
      if (!same_text(event_.type, type)) copy_into(event_.type, type);
      type_set_ = true;
      break;
    }
    case Field::retry:
      // Only ASCII digits count; "1.5", "-1", " 10" and "" are ignored.
      if (is_ascii_digits(value)) handler.on_retry(parse_retry(value));
      break;
    case Field::other:
      break;  // any other field name is ignored
  }
}

inline void EventParser::append_data(std::string_view value, Handler& handler) {
  if (skipping_event_) return;

  const std::size_t needed = event_.data.size() + value.size() + 1;
  if (needed > limits_.max_event_bytes) {
    Error error;
    error.code = ErrorCode::event_too_large;
    error.message = "event stream: event data over " + std::to_string(limits_.max_event_bytes) +
                    " bytes; the event was dropped";
    skipping_event_ = true;
    clear_event();
    handler.on_error(error);
    return;
  }

  // Once the buffer would pass half the limit it grows straight to the limit. Doubling alone
  // can stop just under the limit and then copy a full buffer into one twice its size: a server
  // could make the client hold twice max_event_bytes for a moment.
  const std::size_t capacity = event_.data.capacity();
  if (needed > capacity && std::max(needed, 2 * capacity) > limits_.max_event_bytes / 2) {
    event_.data.reserve(limits_.max_event_bytes);
  }

  // Lines are joined with LF; writing it before every line but the first leaves no final LF to
  // remove, and has_data_ tells "data:" (an empty event) from no data line at all.
  if (has_data_) event_.data.push_back('\n');
  event_.data.append(value);
  has_data_ = true;
}

inline void EventParser::dispatch(Handler& handler) {
  // The last event ID is set even when no event follows: an `id:` alone moves the position.
  if (id_changed_) {
    copy_into(event_.id, pending_id_);
    id_changed_ = false;
  }

  if (has_data_ && !skipping_event_) {
    if (!type_set_ && !same_text(event_.type, kDefaultType)) copy_into(event_.type, kDefaultType);
    handler.on_event(event_);
  }

  skipping_event_ = false;
  clear_event();
}

inline void EventParser::clear_event() {
  event_.data.clear();
  has_data_ = false;
  type_set_ = false;
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
  clear_event();
  handler.on_error(error);
}

}  // namespace ssekit
