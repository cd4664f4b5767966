// utf8.cpp: the UTF-8 decoder of the WHATWG Encoding standard, reduced to what the parser needs.
#include "utf8.hpp"

#include <cstdint>
#include <cstring>

namespace ssekit::detail {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER in UTF-8

// The decoder's state between bytes: how many continuation bytes are still needed and the
// range the next one must fall in (narrower than 80..BF right after E0, ED, F0 and F4, which is
// how overlongs, surrogates and code points past U+10FFFF are refused).
struct Utf8Decoder {
  int needed = 0;
  std::uint8_t lower = 0x80;
  std::uint8_t upper = 0xBF;

  // Starts a sequence at lead byte `b`. Returns false when `b` cannot start one.
  bool start(std::uint8_t b) {
    lower = 0x80;
    upper = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      needed = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      if (b == 0xE0) lower = 0xA0;
      if (b == 0xED) upper = 0x9F;
      needed = 2;
    } else if (b >= 0xF0 && b <= 0xF4) {
      if (b == 0xF0) lower = 0x90;
      if (b == 0xF4) upper = 0x8F;
      needed = 3;
    } else {
      return false;
    }
    return true;
  }

  // Takes continuation byte `b`. Returns false when it does not continue the sequence.
  bool take(std::uint8_t b) {
    if (b < lower || b > upper) {
      needed = 0;
      return false;
    }
    lower = 0x80;
    upper = 0xBF;
    --needed;
    return true;
  }
};

// Skips the ASCII prefix of [p, end) eight bytes at a time: event streams are mostly ASCII.
const char* skip_ascii(const char* p, const char* end) noexcept {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    if (word & kHighBits) break;
    p += 8;
  }
  while (p < end && static_cast<std::uint8_t>(*p) < 0x80)
    ++p;
  return p;
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) noexcept {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  Utf8Decoder decoder;

  while (p < end) {
    p = skip_ascii(p, end);
    if (p == end) break;

    if (!decoder.start(static_cast<std::uint8_t>(*p++))) return false;
    while (decoder.needed > 0) {
      if (p == end || !decoder.take(static_cast<std::uint8_t>(*p++))) return false;
    }
  }
  return true;
}

void append_utf8_replacing_invalid(std::string_view bytes, std::string& out) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  Utf8Decoder decoder;

  while (p < end) {
    const char* ascii_end = skip_ascii(p, end);
    out.append(p, ascii_end);
    p = ascii_end;
    if (p == end) break;

    const char* sequence = p;
    if (!decoder.start(static_cast<std::uint8_t>(*p++))) {
      out.append(kReplacement, 3);
      continue;
    }

    // A byte that breaks the sequence is not consumed: it may start the next one. The bytes
    // taken so far are one maximal ill-formed subpart, hence one U+FFFD.
    bool complete = true;
    while (decoder.needed > 0) {
      if (p == end || !decoder.take(static_cast<std::uint8_t>(*p))) {
        complete = false;
        break;
      }
      ++p;
    }

    if (complete) {
      out.append(sequence, p);
    } else {
      decoder.needed = 0;
      out.append(kReplacement, 3);
    }
  }
}

}  // namespace ssekit::detail
