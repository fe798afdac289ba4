// 8x8 block DCT-II / DCT-III on the CPU: separable, two passes of 8-point
// matrix products per block, blocks spread over OpenMP threads.
#include <cmath>
#include <stdexcept>

#include "../kernels.h"

namespace lc {

void dct8_matrix(float C[64]) {
  const double pi = std::acos(-1.0);
  for (int k = 0; k < 8; ++k) {
    const double a = k == 0 ? std::sqrt(1.0 / 8.0) : std::sqrt(2.0 / 8.0);
    for (int n = 0; n < 8; ++n)
      C[k * 8 + n] = static_cast<float>(a * std::cos((2 * n + 1) * k * pi / 16.0));
  }
}

namespace {

struct Basis {
  float fwd[64];  // C
  float inv[64];  // C^T
  Basis() {
    dct8_matrix(fwd);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) inv[i * 8 + j] = fwd[j * 8 + i];
  }
};

const Basis& basis() {
  static const Basis b;
  return b;
}

// out = M * blk * M^T for one 8x8 block read with row stride `ld`.
inline void transform_block(const float* M, const float* src, float* dst,
                            int64_t ld) {
  float tmp[64];
  // rows: tmp[r][k] = sum_n src[r][n] * M[k][n]
  for (int r = 0; r < 8; ++r) {
    const float* s = src + r * ld;
    for (int k = 0; k < 8; ++k) {
      const float* m = M + k * 8;
      float acc = 0.f;
      for (int n = 0; n < 8; ++n) acc += s[n] * m[n];
      tmp[r * 8 + k] = acc;
    }
  }
  // columns: dst[k][c] = sum_r M[k][r] * tmp[r][c]
  for (int k = 0; k < 8; ++k) {
    const float* m = M + k * 8;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int r = 0; r < 8; ++r) {
      const float w = m[r];
      for (int c = 0; c < 8; ++c) acc[c] += w * tmp[r * 8 + c];
    }
    float* d = dst + k * ld;
    for (int c = 0; c < 8; ++c) d[c] = acc[c];
  }
}

}  // namespace

void block_dct_cpu(const float* x, float* y, int64_t planes, int64_t H,
                   int64_t W, bool inverse) {
  if (planes < 0 || H < 0 || W < 0 || H % 8 != 0 || W % 8 != 0)
    throw std::invalid_argument("block_dct: planes >= 0 and H, W multiples of 8 required");
  const float* M = inverse ? basis().inv : basis().fwd;
  const int64_t bh = H / 8, bw = W / 8;
  const int64_t rows = planes * bh;  // one task = one row of blocks
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < rows; ++t) {
    const int64_t p = t / bh, by = t % bh;
    const int64_t off = p * H * W + by * 8 * W;
    for (int64_t bx = 0; bx < bw; ++bx)
      transform_block(M, x + off + bx * 8, y + off + bx * 8, W);
  }
}

}  // namespace lc
