// Run-time CPU dispatch for the hot loops. setup.py and CMake build for the
// generic x86-64 target (the machine that runs the code may differ from the one
// that built it), so wider vectors are reached per function:
//   LC_CLONES            compile a function twice (Haswell: AVX2+FMA, and baseline)
//                        and let the loader pick one (GCC target_clones);
//   LC_TARGET_AVX2[_FMA] mark hand-vectorised functions, which callers reach
//                        only after __builtin_cpu_supports says the CPU has them.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LC_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define LC_CLONES
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define LC_X86_AVX2 1
#define LC_TARGET_AVX2 __attribute__((target("avx2")))
#define LC_TARGET_AVX2_FMA __attribute__((target("avx2,fma")))

// In-register transpose of an 8x8 block of 32-bit lanes held as rows r[0..7].
LC_TARGET_AVX2 inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#endif
