// JPEG-style quantization of block-DCT coefficients on the CPU: quantize,
// dequantize, and a fused DCT + quantize that never writes the float
// coefficients back to memory (the hot path of a JPEG-like encoder).
#include <cmath>
#include <stdexcept>
#include <string>

#include "../kernels.h"
#include "simd.h"

// Hand-vectorised AVX2 paths, chosen at run time (the build targets generic
// x86-64, so these are compiled with a per-function target attribute).
#ifdef LC_X86_AVX2
#define LC_AVX2 LC_TARGET_AVX2_FMA
#endif

namespace lc {
namespace {

void check_sizes(const char* op, int64_t ntables, int64_t planes, int64_t H, int64_t W) {
  if (ntables < 1 || planes < 0 || H < 0 || W < 0 || H % 8 != 0 || W % 8 != 0)
    throw std::invalid_argument(std::string(op) +
                                ": ntables >= 1, planes >= 0 and H, W multiples of 8 required");
}

// round half away from zero (like libjpeg), saturated to int16. Written with
// trunc + compare so that it vectorizes; exact because v - trunc(v) is exact.
inline int16_t round_sat16(float v) {
  const float t = std::trunc(v);
  const float f = v - t;
  float r = t + (f >= 0.5f ? 1.f : 0.f) - (f <= -0.5f ? 1.f : 0.f);
  r = r < -32768.f ? -32768.f : r > 32767.f ? 32767.f : r;
  return static_cast<int16_t>(r);
}

// One row of 8x8 blocks (8 image rows of width W).
LC_CLONES void quantize_row(const float* X, int16_t* q, const float* t, int64_t W) {
  for (int r = 0; r < 8; ++r)
    for (int64_t x = 0; x < W; ++x) q[r * W + x] = round_sat16(X[r * W + x] / t[r * 8 + (x & 7)]);
}

LC_CLONES void dequantize_row(const int16_t* q, float* X, const float* t, int64_t W) {
  for (int r = 0; r < 8; ++r)
    for (int64_t x = 0; x < W; ++x) X[r * W + x] = static_cast<float>(q[r * W + x]) * t[r * 8 + (x & 7)];
}

// Y = C * B * C^T for each 8x8 block of the row, then quantize. Both passes
// loop innermost over 8 contiguous floats so that they become vector FMAs.
LC_CLONES void dct_quantize_row(const float* x, int16_t* q, const float* t,
                                const float* C, const float* CT, int64_t W) {
  for (int64_t bx = 0; bx < W; bx += 8) {
    float tmp[8][8], y[8][8];
    for (int k = 0; k < 8; ++k) {  // tmp[k][c] = sum_r C[k][r] x[r][c]
      for (int c = 0; c < 8; ++c) tmp[k][c] = 0.f;
      for (int r = 0; r < 8; ++r) {
        const float w = C[k * 8 + r];
        for (int c = 0; c < 8; ++c) tmp[k][c] += w * x[r * W + bx + c];
      }
    }
    for (int k = 0; k < 8; ++k) {  // y[k][l] = sum_c tmp[k][c] C[l][c]
      for (int l = 0; l < 8; ++l) y[k][l] = 0.f;
      for (int c = 0; c < 8; ++c) {
        const float w = tmp[k][c];
        for (int l = 0; l < 8; ++l) y[k][l] += w * CT[c * 8 + l];
      }
    }
    for (int k = 0; k < 8; ++k)
      for (int l = 0; l < 8; ++l) q[k * W + bx + l] = round_sat16(y[k][l] / t[k * 8 + l]);
  }
}

#ifdef LC_X86_AVX2
bool have_avx2() {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
}


// dct_quantize_row with the block held in eight registers: pass 1 runs down
// the columns (one image row per register), the block is transposed, pass 2
// runs along the rows (as columns), and it is transposed back. Same products
// and summation order as dct_quantize_row, every step a fused multiply-add
// (the compiler's build of dct_quantize_row fuses only some), same division
// and rounding: results equal the double-precision two-step reference except
// at float ties, as before (about 1 coefficient in 10^6 differs by 1).
LC_AVX2 void dct_quantize_row_avx2(const float* x, int16_t* q, const float* t, const float* C,
                                   int64_t W) {
  __m256 tv[8];
  for (int k = 0; k < 8; ++k) tv[k] = _mm256_loadu_ps(t + 8 * k);
  const __m256 half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f);
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 lo = _mm256_set1_ps(-32768.f), hi = _mm256_set1_ps(32767.f);
  for (int64_t bx = 0; bx < W; bx += 8) {
    __m256 r[8], T[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(x + i * W + bx);
    for (int k = 0; k < 8; ++k) {  // T[k][c] = sum_r C[k][r] x[r][c]
      __m256 a = _mm256_mul_ps(_mm256_set1_ps(C[k * 8]), r[0]);
      for (int i = 1; i < 8; ++i) a = _mm256_fmadd_ps(_mm256_set1_ps(C[k * 8 + i]), r[i], a);
      T[k] = a;
    }
    transpose8x8(T);  // T[c] = column c
    for (int l = 0; l < 8; ++l) {  // Y[k][l] = sum_c T[k][c] C[l][c], as column l
      __m256 a = _mm256_mul_ps(_mm256_set1_ps(C[l * 8]), T[0]);
      for (int c = 1; c < 8; ++c) a = _mm256_fmadd_ps(_mm256_set1_ps(C[l * 8 + c]), T[c], a);
      r[l] = a;
    }
    transpose8x8(r);  // r[k] = row k of Y
    for (int k = 0; k < 8; ++k) {
      const __m256 v = _mm256_div_ps(r[k], tv[k]);
      const __m256 tr = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 f = _mm256_sub_ps(v, tr);
      __m256 o = _mm256_add_ps(tr, _mm256_and_ps(_mm256_cmp_ps(f, half, _CMP_GE_OQ), one));
      o = _mm256_sub_ps(o, _mm256_and_ps(_mm256_cmp_ps(f, mhalf, _CMP_LE_OQ), one));
      o = _mm256_min_ps(_mm256_max_ps(o, lo), hi);
      const __m256i iv = _mm256_cvttps_epi32(o);
      const __m128i p = _mm_packs_epi32(_mm256_castsi256_si128(iv), _mm256_extracti128_si256(iv, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k * W + bx), p);
    }
  }
}
#endif

struct Basis {
  float C[64], CT[64];
  Basis() {
    dct8_matrix(C);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) CT[i * 8 + j] = C[j * 8 + i];
  }
};

}  // namespace

void quantize_cpu(const float* X, int16_t* q, const float* tables, int64_t ntables,
                  int64_t planes, int64_t H, int64_t W) {
  check_sizes("quantize", ntables, planes, H, W);
  const int64_t bh = H / 8;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < planes * bh; ++t) {
    const int64_t p = t / bh, off = p * H * W + (t % bh) * 8 * W;
    quantize_row(X + off, q + off, tables + (p % ntables) * 64, W);
  }
}

void dequantize_cpu(const int16_t* q, float* X, const float* tables, int64_t ntables,
                    int64_t planes, int64_t H, int64_t W) {
  check_sizes("dequantize", ntables, planes, H, W);
  const int64_t bh = H / 8;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < planes * bh; ++t) {
    const int64_t p = t / bh, off = p * H * W + (t % bh) * 8 * W;
    dequantize_row(q + off, X + off, tables + (p % ntables) * 64, W);
  }
}

void dct_quantize_cpu(const float* x, int16_t* q, const float* tables, int64_t ntables,
                      int64_t planes, int64_t H, int64_t W) {
  check_sizes("dct_quantize", ntables, planes, H, W);
  static const Basis basis;
  const int64_t bh = H / 8;
#ifdef LC_X86_AVX2
  const bool avx2 = have_avx2();
#endif
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < planes * bh; ++t) {
    const int64_t p = t / bh, off = p * H * W + (t % bh) * 8 * W;
#ifdef LC_X86_AVX2
    if (avx2) {
      dct_quantize_row_avx2(x + off, q + off, tables + (p % ntables) * 64, basis.C, W);
      continue;
    }
#endif
    dct_quantize_row(x + off, q + off, tables + (p % ntables) * 64, basis.C, basis.CT, W);
  }
}

}  // namespace lc
