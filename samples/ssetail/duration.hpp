// ssetail's DURATION arguments: a number with a unit, such as 250ms, 2s, 1.5m or 1h.
// Parsing is strict so that a typo ("2" or "2sec") is a usage error, not a surprise timeout.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ssetail {

/// Longest accepted duration: a week. Far above any sensible timeout or backoff, and small enough
/// that no arithmetic on it can overflow.
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24 * 7);

/// Parses "<number><unit>" where number is digits with an optional fraction and unit is ms, s,
/// m or h; a bare "0" is accepted too. Returns nothing for anything else, for a value above
/// kMaxDuration, and for a non-zero value that rounds to less than a millisecond.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Renders a delay for people: "250 ms" below a second, "1.8 s" from there on.
std::string describe_duration(std::chrono::milliseconds duration);

}  // namespace ssetail
