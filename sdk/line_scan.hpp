// line_scan.hpp: finds the CR and LF bytes, the only two that end an event-stream line.
//
// The parser looks at its input 64 bytes at a time and gets back one bit per line end, so a
// block holding several short lines is scanned once, not once per line. The same pass tells
// whether the block holds an unusual byte, NUL or >= 0x80: only lines in such blocks need UTF-8
// validation or the check for NUL in an id.
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
/// Sets `unusual` when any of the bytes is NUL or >= 0x80 (never clears it).
inline std::uint64_t scan_block(const char* p, bool& unusual) noexcept {
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

  // A NUL byte becomes 0xFF under cmpeq with zero, so one high-bit test finds both kinds.
  const __m128i zero = _mm_setzero_si128();
  auto flagged = [&](__m128i v) { return _mm_or_si128(v, _mm_cmpeq_epi8(v, zero)); };
  const __m128i any =
      _mm_or_si128(_mm_or_si128(flagged(a), flagged(b)), _mm_or_si128(flagged(c), flagged(d)));
  if (_mm_movemask_epi8(any) != 0) unusual = true;
  return ends;
#else
  std::uint64_t ends = 0;
  for (std::size_t i = 0; i < kScanBlock; ++i) {
    const auto byte = static_cast<unsigned char>(p[i]);
    if (byte == '\n' || byte == '\r') ends |= std::uint64_t{1} << i;
    if (byte == 0 || byte >= 0x80) unusual = true;
  }
  return ends;
#endif
}

#if defined(SSEKIT_LINE_SCAN_AVX2)
/// True when the running CPU has AVX2 (decided once, at start-up).
extern const bool kLineScanHasAvx2;

/// Skips whole blocks of [p, end) that hold no CR or LF, 64 bytes a step with AVX2, noting
/// unusual bytes. Returns the first block with a line end, or the last partial block.
const char* skip_line_body(const char* p, const char* end, bool& unusual) noexcept;
#endif

/// Where the block after `block` starts: past a stretch with no line end when the CPU can stride
/// over it faster than scan_block(), which matters for events of kilobytes.
inline const char* next_block(const char* block, std::uint64_t ends, const char* end,
                              bool& unusual) noexcept {
  const char* next = block + kScanBlock;
#if defined(SSEKIT_LINE_SCAN_AVX2)
  if (ends == 0 && kLineScanHasAvx2 && end - next >= static_cast<std::ptrdiff_t>(kScanBlock)) {
    return skip_line_body(next, end, unusual);
  }
#else
  (void)ends;
  (void)end;
  (void)unusual;
#endif
  return next;
}

/// scan_block() for the last `size` (< kScanBlock) bytes of a read, which may not be read past.
inline std::uint64_t scan_tail(const char* p, std::size_t size, bool& unusual) noexcept {
  char block[kScanBlock];
  std::memset(block, ' ', sizeof block);  // spaces: neither a line end nor unusual
  std::memcpy(block, p, size);
  return scan_block(block, unusual);
}

}  // namespace ssekit::detail
