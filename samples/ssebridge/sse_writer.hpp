// sse_writer.hpp: the text/event-stream wire format, as ssebridge writes it.
//
// An event is written as
//   id: 42
//   event: order.created
//   data: first line
//   data: second line
//   <blank line>
// Data holding line breaks (LF, CR or CRLF) becomes one `data:` line per line, which a client
// joins back with LF (so a CR or CRLF in published data arrives as LF, as the WHATWG parser
// defines). Every event has at least one `data:` line, so even empty data is dispatched.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ssebridge {

/// Appends one event to `out`. `id` is written in decimal; `type` and the id must hold no line
/// break (validated by the caller); `data` may hold any.
void append_event(std::string& out, std::int64_t id, std::string_view type, std::string_view data);

/// Appends the `data:` lines of `data`, without the terminating blank line.
void append_data_lines(std::string& out, std::string_view data);

/// Appends a comment line, ": text\n\n"; clients ignore it, proxies see traffic. The blank line
/// ends it as its own block.
void append_comment(std::string& out, std::string_view text);

/// Appends "retry: N\n\n": the reconnection time the client should use, in milliseconds.
void append_retry(std::string& out, std::chrono::milliseconds delay);

}  // namespace ssebridge
