// validate.hpp: the syntax of what clients send: channel names, event types, event ids, data.
//
// Every check returns an empty string when the value is fine and otherwise the reason, worded
// for a 400 response body ("channel name 'a b' has a character outside A-Z a-z 0-9 _ . : -").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssebridge {

/// Longest channel name. Postgres notification channels are identifiers of at most 63 bytes,
/// and the bridge prefixes "ssekit." (7 bytes) to keep its channels apart from the app's.
inline constexpr size_t kMaxChannelLength = 56;

/// Longest event type. The type travels in every notification and every `event:` line.
inline constexpr size_t kMaxTypeLength = 64;

/// Most channels one stream may subscribe to.
inline constexpr size_t kMaxChannelsPerStream = 32;

/// A channel name is 1 to 56 characters from A-Z a-z 0-9 _ . : -
std::string check_channel(std::string_view name);

/// An event type is 1 to 64 characters from the same set as channel names.
std::string check_type(std::string_view type);

/// Event data must be valid UTF-8 without NUL: SSE is UTF-8 text, and Postgres text holds
/// neither invalid sequences nor NUL.
std::string check_data(std::string_view data);

/// Whether `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

/// Parses an event id: decimal digits only, at most 18 of them (fits an int64 with room).
/// Returns nullopt for anything else, including an empty string.
std::optional<std::int64_t> parse_event_id(std::string_view text);

/// Parses a non-negative count ("12"); nullopt if it is not all digits or exceeds `max`.
std::optional<std::uint64_t> parse_count(std::string_view text, std::uint64_t max);

/// Parses a duration: a non-negative number with an optional unit ms, s, m, h or d ("15s",
/// "250ms", "1.5h", "24h"); a bare number is seconds. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses a byte size: a number with an optional unit K, M or G (powers of 1024), "1M".
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace ssebridge
