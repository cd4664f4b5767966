// sparkline.cpp: time-sliced rendering of the last minute of one value.
#include "sparkline.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace dashboard {
namespace {

// Eight levels in both sets: the Unicode block elements come in eighths.
constexpr std::array<const char*, 8> kAsciiLevels = {"_", ".", "-", "=", "+", "*", "#", "@"};
constexpr std::array<const char*, 8> kUnicodeLevels = {"\u2581", "\u2582", "\u2583", "\u2584",
                                                       "\u2585", "\u2586", "\u2587", "\u2588"};

// The level (0..7) of `value` between `low` and `high`; a flat line sits in the middle.
std::size_t level_of(double value, double low, double high) {
  constexpr std::size_t kTop = kAsciiLevels.size() - 1;
  if (high <= low) return kTop / 2;
  const double fraction = (value - low) / (high - low);
  return std::min(kTop, static_cast<std::size_t>(fraction * static_cast<double>(kTop) + 0.5));
}

}  // namespace

std::string render_sparkline(const std::vector<Sample>& samples,
                             std::chrono::steady_clock::time_point now,
                             std::chrono::steady_clock::duration window, int width, Glyphs glyphs) {
  if (width <= 0 || window <= std::chrono::steady_clock::duration::zero()) return {};

  // Bucket: the last sample of each column's slice of time.
  const auto start = now - window;
  std::vector<std::optional<double>> columns(static_cast<std::size_t>(width));
  for (const Sample& sample : samples) {
    if (sample.at < start || sample.at > now) continue;
    const auto offset = sample.at - start;
    auto column = static_cast<std::size_t>(offset * width / window);
    column = std::min(column, columns.size() - 1);
    columns[column] = sample.value;
  }

  // Scale: between the extremes actually shown, so small movements stay visible.
  double low = 0;
  double high = 0;
  bool any = false;
  for (const auto& value : columns) {
    if (!value) continue;
    low = any ? std::min(low, *value) : *value;
    high = any ? std::max(high, *value) : *value;
    any = true;
  }

  // Draw.
  const auto& levels = glyphs == Glyphs::unicode ? kUnicodeLevels : kAsciiLevels;
  std::string line;
  for (const auto& value : columns) {
    line += value ? levels[level_of(*value, low, high)] : " ";
  }
  return line;
}

}  // namespace dashboard
