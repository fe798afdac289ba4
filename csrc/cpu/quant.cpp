// JPEG-style quantization of block-DCT coefficients on the CPU: quantize,
// dequantize, and a fused DCT + quantize that never writes the float
// coefficients back to memory (the hot path of a JPEG-like encoder).
#include <cmath>
#include <stdexcept>
#include <string>

#include "../kernels.h"

// Compile the hot loops twice (AVX2+FMA and baseline x86-64) and pick at load
// time: setup.py builds for the generic target, and 8-wide float vectors are
// what makes these loops fast.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LC_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define LC_CLONES
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
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < planes * bh; ++t) {
    const int64_t p = t / bh, off = p * H * W + (t % bh) * 8 * W;
    dct_quantize_row(x + off, q + off, tables + (p % ntables) * 64, basis.C, basis.CT, W);
  }
}

}  // namespace lc
