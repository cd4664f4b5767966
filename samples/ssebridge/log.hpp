// log.hpp: ssebridge's log, one line per state change on stderr.
//
// Lines read "2026-12-03T17:08:42.123Z ssebridge: postgres: connected to 127.0.0.1:5432/app".
// Nothing is logged per event, and no line ever holds a token, a cookie, a secret or a
// connection string with its password: callers build lines from safe parts only.
#pragma once

#include <string_view>

namespace ssebridge {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

/// Lines below `level` are dropped. Default: info (--verbose lowers it to debug).
void set_log_level(LogLevel level);

/// Whether a line at `level` would be written; lets callers skip building it.
bool log_enabled(LogLevel level);

/// Writes one line, prefixed with the UTC time and "ssebridge: ", in one write so lines from
/// different threads never interleave.
void log(LogLevel level, std::string_view line);

inline void log_debug(std::string_view line) {
  log(LogLevel::debug, line);
}
inline void log_info(std::string_view line) {
  log(LogLevel::info, line);
}
inline void log_warn(std::string_view line) {
  log(LogLevel::warn, line);
}
inline void log_error(std::string_view line) {
  log(LogLevel::error, line);
}

}  // namespace ssebridge
