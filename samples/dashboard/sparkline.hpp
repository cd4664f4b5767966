// sparkline.hpp: a one-line chart of the values of the last minute, as text.
//
// Pure functions of their inputs, so the chart is the same whatever thread or terminal draws it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace dashboard {

/// How far back the chart looks: a minute of one-second ticks fits an 80-column terminal.
inline constexpr std::chrono::seconds kChartWindow{60};

/// One charted value and when it arrived.
struct Sample {
  std::chrono::steady_clock::time_point at;
  double value = 0;
};

/// The characters a sparkline is drawn with.
enum class Glyphs {
  ascii,    ///< "_.-=+*#@": any terminal.
  unicode,  ///< U+2581..U+2588 block elements: UTF-8 terminals.
};

/// Renders `samples` as `width` columns, the last column ending at `now` and the first starting
/// `window` earlier. A column shows the last sample that fell in its slice of time, scaled
/// between the smallest and largest value shown; a slice without a sample is a space, so an
/// outage reads as a gap. Samples outside the window are ignored.
std::string render_sparkline(const std::vector<Sample>& samples,
                             std::chrono::steady_clock::time_point now,
                             std::chrono::steady_clock::duration window, int width, Glyphs glyphs);

}  // namespace dashboard
