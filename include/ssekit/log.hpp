// ssekit/log.hpp: the logger hook.
//
// ssekit never prints. It hands one line per state change (connecting, open, stale,
// reconnecting in 2.1 s after HTTP 503, closed) to a sink the app provides; with no sink it is
// silent. Nothing is logged per event at info level, and no line ever holds a header value,
// token or cookie: redaction happens where the line is built.
#pragma once

#include <functional>
#include <string_view>

namespace ssekit {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// The stable lower-case name of a level, such as "warn".
const char* to_string(LogLevel level) noexcept;

/// Receives log lines. Called on the loop thread: keep it short and do not block.
using LogSink = std::function<void(LogLevel level, std::string_view line)>;

}  // namespace ssekit
