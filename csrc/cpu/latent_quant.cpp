// Latent-code quantizers to uint8 on the CPU: naive (z * 255) and affine
// (per-group scale and zero point). The group statistics (min / max) are
// reductions the Python wrapper computes with torch; these loops do the
// element-wise part.
#include <cmath>
#include <stdexcept>
#include <string>

#include "../kernels.h"

namespace lc {
namespace {

void check(const char* op, int64_t outer, int64_t groups, int64_t inner) {
  if (outer < 0 || groups < 1 || inner < 0)
    throw std::invalid_argument(std::string(op) + ": outer >= 0, groups >= 1, inner >= 0 required");
}

inline uint8_t to_code(float v) {
  // rint = round half to even, like torch.round; clamp before converting.
  v = std::nearbyint(v);
  return static_cast<uint8_t>(v < 0.f ? 0.f : v > 255.f ? 255.f : v);
}

}  // namespace

void latent_quantize_cpu(const float* z, uint8_t* codes, const float* scale,
                         const float* zero_point, int64_t outer, int64_t groups,
                         int64_t inner, bool naive) {
  check("latent_quantize", outer, groups, inner);
  const int64_t rows = outer * groups;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < rows; ++t) {
    const float* zi = z + t * inner;
    uint8_t* ci = codes + t * inner;
    if (naive) {
      for (int64_t i = 0; i < inner; ++i) ci[i] = to_code(zi[i] * 255.f);
    } else {
      const float s = scale[t % groups], zp = zero_point[t % groups];
      for (int64_t i = 0; i < inner; ++i) ci[i] = to_code(std::nearbyint(zi[i] / s) + zp);
    }
  }
}

void latent_dequantize_cpu(const uint8_t* codes, float* z, const float* scale,
                           const float* zero_point, int64_t outer, int64_t groups,
                           int64_t inner, bool naive) {
  check("latent_dequantize", outer, groups, inner);
  const int64_t rows = outer * groups;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < rows; ++t) {
    const uint8_t* ci = codes + t * inner;
    float* zi = z + t * inner;
    if (naive) {
      for (int64_t i = 0; i < inner; ++i) zi[i] = static_cast<float>(ci[i]) / 255.f;
    } else {
      const float s = scale[t % groups], zp = zero_point[t % groups];
      for (int64_t i = 0; i < inner; ++i) zi[i] = (static_cast<float>(ci[i]) - zp) * s;
    }
  }
}

}  // namespace lc
