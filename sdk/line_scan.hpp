// line_scan.hpp: finds the next CR or LF, the only two bytes that end an event-stream line.
//
// One pass answers both questions the parser asks of a line: where it ends, and whether it holds
// any byte >= 0x80 (only then does it need UTF-8 validation). On x86-64 it looks at 16 bytes a
// step with SSE2, which every x86-64 CPU has; elsewhere it falls back to a byte loop.
#pragma once

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ssekit::detail {

/// Returns the first CR or LF in [p, end), or `end`. Sets `non_ascii` when a byte >= 0x80
/// comes before it (it is never cleared: callers accumulate over several calls).
inline const char* find_line_end(const char* p, const char* end, bool& non_ascii) noexcept {
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  while (end - p >= 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned ends = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(chunk, lf), _mm_cmpeq_epi8(chunk, cr))));
    const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(chunk));
    if (ends != 0) {
      const unsigned index = static_cast<unsigned>(__builtin_ctz(ends));
      if (high & ((1u << index) - 1u)) non_ascii = true;
      return p + index;
    }
    if (high) non_ascii = true;
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const auto byte = static_cast<std::uint8_t>(*p);
    if (byte == '\n' || byte == '\r') return p;
    if (byte >= 0x80) non_ascii = true;
  }
  return end;
}

}  // namespace ssekit::detail
