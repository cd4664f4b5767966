// line_scan.cpp: the AVX2 stride over long lines, compiled for AVX2 and called only when the CPU
// has it, so the library still runs on any x86-64.
#include "line_scan.hpp"

#if defined(SSEKIT_LINE_SCAN_AVX2)
#include <immintrin.h>

namespace ssekit::detail {

const bool kLineScanHasAvx2 = __builtin_cpu_supports("avx2");

__attribute__((target("avx2"))) const char* skip_line_body(const char* p, const char* end,
                                                           bool& unusual) noexcept {
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i cr = _mm256_set1_epi8('\r');
  const __m256i zero = _mm256_setzero_si256();
  __m256i seen = zero;  // OR of every byte passed, NULs made 0xFF: high bits say unusual

  while (end - p >= static_cast<std::ptrdiff_t>(kScanBlock)) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const __m256i ends =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(a, lf), _mm256_cmpeq_epi8(a, cr)),
                        _mm256_or_si256(_mm256_cmpeq_epi8(b, lf), _mm256_cmpeq_epi8(b, cr)));
    if (!_mm256_testz_si256(ends, ends)) break;
    const __m256i nuls = _mm256_or_si256(_mm256_cmpeq_epi8(a, zero), _mm256_cmpeq_epi8(b, zero));
    seen = _mm256_or_si256(seen, _mm256_or_si256(_mm256_or_si256(a, b), nuls));
    p += kScanBlock;
  }

  if (_mm256_movemask_epi8(seen) != 0) unusual = true;
  return p;
}

}  // namespace ssekit::detail
#endif
