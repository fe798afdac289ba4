// Vertical fixed-point resampling of uint8 images (Pillow's vertical pass, bit for bit).
//
// out[o] = clip((2^(p-1) + sum_k weights[o][k] * in[k]) >> p, 0, 255), element by
// element over a row of w*c bytes. The weights are dense h_out x h_in integers, but
// each output row's nonzero taps are contiguous (a few, for Lanczos), so each row
// sums only those. Accumulation is int32, as in Pillow (its weights are normalised
// so that the sum of |weights| * 255 stays below 2^31; we check it). Rows are
// independent: frames run in parallel (OpenMP), the result does not depend on it.
#include <algorithm>
#include <vector>

#include "kernels.h"

namespace lc {

int64_t resample_rows_cpu(const uint8_t* in, int64_t n, int64_t h_in, int64_t row, const int64_t* weights,
                          int64_t h_out, int32_t precision, uint8_t* out) {
  if (n < 0 || h_in < 1 || h_out < 1 || row < 1 || precision < 1 || precision > 30) return kResampleBadArgs;
  std::vector<int64_t> lo(h_out), hi(h_out);
  std::vector<int32_t> taps;
  std::vector<int64_t> first(h_out);
  for (int64_t o = 0; o < h_out; ++o) {
    const int64_t* wr = weights + o * h_in;
    int64_t a = 0, b = h_in;
    while (a < h_in && wr[a] == 0) ++a;
    while (b > a && wr[b - 1] == 0) --b;
    int64_t abs_sum = 0;  // each tap bounded first, so the sum cannot overflow
    for (int64_t k = a; k < b; ++k) {
      if (wr[k] >= (int64_t(1) << 31) || wr[k] <= -(int64_t(1) << 31)) return kResampleBadArgs;
      abs_sum += wr[k] < 0 ? -wr[k] : wr[k];
    }
    if (abs_sum * 255 + (int64_t(1) << (precision - 1)) >= (int64_t(1) << 31)) return kResampleBadArgs;
    lo[o] = a;
    hi[o] = b;
    first[o] = static_cast<int64_t>(taps.size());
    for (int64_t k = a; k < b; ++k) taps.push_back(static_cast<int32_t>(wr[k]));
  }
  const int32_t half = int32_t(1) << (precision - 1);
#pragma omp parallel if (n > 1)
  {
    std::vector<int32_t> acc(row);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* src = in + i * h_in * row;
      uint8_t* dst = out + i * h_out * row;
      for (int64_t o = 0; o < h_out; ++o) {
        std::fill(acc.begin(), acc.end(), half);
        const int32_t* t = taps.data() + first[o];
        for (int64_t k = lo[o]; k < hi[o]; ++k) {
          const int32_t c = t[k - lo[o]];
          const uint8_t* s = src + k * row;
          for (int64_t j = 0; j < row; ++j) acc[j] += c * static_cast<int32_t>(s[j]);
        }
        uint8_t* d = dst + o * row;
        for (int64_t j = 0; j < row; ++j) d[j] = static_cast<uint8_t>(std::clamp(acc[j] >> precision, 0, 255));
      }
    }
  }
  return n;
}

}  // namespace lc
