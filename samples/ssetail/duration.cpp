// Parsing and printing of ssetail's DURATION arguments.
#include "duration.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ssetail {
namespace {

/// Milliseconds per unit, or 0 for an unknown unit.
double unit_millis(std::string_view unit) {
  if (unit == "ms") return 1.0;
  if (unit == "s") return 1000.0;
  if (unit == "m") return 60.0 * 1000.0;
  if (unit == "h") return 60.0 * 60.0 * 1000.0;
  return 0.0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);

  // Split "12.5ms" into the number and the unit; the number is digits with at most one dot
  // between digits, so "1.", ".5", "-1" and "1e3" are all refused.
  std::size_t end = 0;
  while (end < text.size() && is_digit(text[end]))
    ++end;
  const std::size_t whole_digits = end;
  if (whole_digits == 0) return std::nullopt;
  if (end < text.size() && text[end] == '.') {
    const std::size_t fraction_start = ++end;
    while (end < text.size() && is_digit(text[end]))
      ++end;
    if (end == fraction_start) return std::nullopt;
  }

  const double per_unit = unit_millis(text.substr(end));
  if (per_unit == 0.0) return std::nullopt;

  // Twenty digits already exceed any accepted value; stopping there keeps strtod's input small.
  constexpr std::size_t kMaxNumberChars = 20;
  if (end > kMaxNumberChars) return std::nullopt;
  const std::string number(text.substr(0, end));
  const double millis = std::strtod(number.c_str(), nullptr) * per_unit;
  if (millis > static_cast<double>(kMaxDuration.count())) return std::nullopt;

  const auto rounded = static_cast<long long>(std::llround(millis));
  if (rounded == 0 && millis != 0.0) return std::nullopt;
  return std::chrono::milliseconds(rounded);
}

std::string describe_duration(std::chrono::milliseconds duration) {
  constexpr long long kMillisPerSecond = 1000;
  char text[32];
  if (duration.count() < kMillisPerSecond) {
    std::snprintf(text, sizeof text, "%lld ms", static_cast<long long>(duration.count()));
  } else {
    std::snprintf(text, sizeof text, "%.1f s",
                  static_cast<double>(duration.count()) / kMillisPerSecond);
  }
  return text;
}

}  // namespace ssetail
