#include "log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace ssebridge {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::info)};

const char* level_prefix(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug: ";
    case LogLevel::warn:
      return "warning: ";
    case LogLevel::error:
      return "error: ";
    case LogLevel::info:
      break;
  }
  return "";
}

// "2026-12-03T17:08:42.123Z"
std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(text, n);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(millis));
  return out + frac;
}

}  // namespace

void set_log_level(LogLevel level) {
  min_level = static_cast<int>(level);
}

bool log_enabled(LogLevel level) {
  return static_cast<int>(level) >= min_level.load();
}

void log(LogLevel level, std::string_view line) {
  if (!log_enabled(level)) return;
  std::string text = utc_timestamp();
  text += " ssebridge: ";
  text += level_prefix(level);
  text += line;
  text += '\n';
  // One write(2) per line: atomic with respect to other threads' lines, and never buffered
  // behind a crash.
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace ssebridge
