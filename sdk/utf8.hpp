// utf8.hpp: UTF-8 validation and WHATWG decoding with U+FFFD, for the event-stream parser.
#pragma once

#include <string>
#include <string_view>

namespace ssekit::detail {

/// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view bytes) noexcept;

/// Appends `bytes` to `out` as the WHATWG "UTF-8 decode" would see them, re-encoded as UTF-8:
/// well-formed sequences unchanged, each maximal ill-formed subpart replaced by U+FFFD.
void append_utf8_replacing_invalid(std::string_view bytes, std::string& out);

}  // namespace ssekit::detail
