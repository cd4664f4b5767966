// line_scan.hpp: finds the CR and LF bytes, the only two that end an event-stream line.
//
// The parser looks at its input 64 bytes at a time and gets back one bit per line end, so a
// block holding several short lines is scanned once, not once per line. The same pass tells
// whether the block holds any byte >= 0x80: only lines in such blocks need UTF-8 validation.
// On x86-64 this uses SSE2, which every x86-64 CPU has; elsewhere a byte loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SSEKIT_LINE_SCAN_AVX2 1
#endif

namespace ssekit::detail {

/// Bytes examined per scan_block() call: one bit of a 64-bit mask each.
inline constexpr std::size_t kScanBlock = 64;

/// Scans kScanBlock bytes at `p`: bit i of the result is set when p[i] is CR or LF.
/// Sets `non_ascii` when any of the bytes is >= 0x80 (never clears it).
inline std::uint64_t scan_block(const char* p, bool& non_ascii) noexcept {
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
  const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));

  auto line_ends = [&](__m128i v) {
    return static_cast<std::uint64_t>(static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)))));
  };
  const std::uint64_t ends =
      line_ends(a) | (line_ends(b) << 16) | (line_ends(c) << 32) | (line_ends(d) << 48);

  if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0) {
    non_ascii = true;
  }
  return ends;
#else
  std::uint64_t ends = 0;
  unsigned char high = 0;
  for (std::size_t i = 0; i < kScanBlock; ++i) {
    const auto byte = static_cast<unsigned char>(p[i]);
    if (byte == '\n' || byte == '\r') ends |= std::uint64_t{1} << i;
    high |= byte;
  }
  if (high & 0x80) non_ascii = true;
  return ends;
#endif
}

#if defined(SSEKIT_LINE_SCAN_AVX2)
/// True when the running CPU has AVX2 (decided once, at start-up).
extern const bool kLineScanHasAvx2;

/// Skips whole blocks of [p, end) that hold no CR or LF, 64 bytes a step with AVX2, noting
/// non-ASCII bytes. Returns the first block with a line end, or the last partial block.
const char* skip_line_body(const char* p, const char* end, bool& non_ascii) noexcept;
#endif

/// Where the block after `block` starts: past a stretch with no line end when the CPU can stride
/// over it faster than scan_block(), which matters for events of kilobytes.
inline const char* next_block(const char* block, std::uint64_t ends, const char* end,
                              bool& non_ascii) noexcept {
  const char* next = block + kScanBlock;
#if defined(SSEKIT_LINE_SCAN_AVX2)
  if (ends == 0 && kLineScanHasAvx2 && end - next >= static_cast<std::ptrdiff_t>(kScanBlock)) {
    return skip_line_body(next, end, non_ascii);
  }
#else
  (void)ends;
  (void)end;
  (void)non_ascii;
#endif
  return next;
}

/// scan_block() for the last `size` (< kScanBlock) bytes of a read, which may not be read past.
inline std::uint64_t scan_tail(const char* p, std::size_t size, bool& non_ascii) noexcept {
  char block[kScanBlock] = {};  // NUL padding is neither a line end nor non-ASCII
  std::memcpy(block, p, size);
  return scan_block(block, non_ascii);
}

}  // namespace ssekit::detail
