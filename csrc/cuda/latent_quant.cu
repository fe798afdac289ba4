// Latent-code quantizers on CUDA: one thread per element (grid-stride loop).
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "../kernels.h"

namespace lc {
namespace {

constexpr int kThreads = 256;

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

__device__ __forceinline__ uint8_t to_code(float v) {
  v = rintf(v);  // half to even, like torch.round and the CPU's nearbyint
  return static_cast<uint8_t>(fminf(fmaxf(v, 0.f), 255.f));
}

__global__ void quantize_kernel(const float* z, uint8_t* codes, const float* scale, const float* zp,
                                int64_t total, int64_t groups, int64_t inner, bool naive) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (naive) {
      codes[i] = to_code(__fmul_rn(z[i], 255.f));  // no FMA contraction: match z * 255
    } else {
      const int64_t g = (i / inner) % groups;
      codes[i] = to_code(rintf(__fdiv_rn(z[i], scale[g])) + zp[g]);
    }
  }
}

__global__ void dequantize_kernel(const uint8_t* codes, float* z, const float* scale, const float* zp,
                                  int64_t total, int64_t groups, int64_t inner, bool naive) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (naive) {
      z[i] = __fdiv_rn(static_cast<float>(codes[i]), 255.f);
    } else {
      const int64_t g = (i / inner) % groups;
      z[i] = __fmul_rn(static_cast<float>(codes[i]) - zp[g], scale[g]);
    }
  }
}

unsigned grid_for(int64_t total) {
  const int64_t g = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(g < 65535 * 16 ? g : 65535 * 16);
}

void check_sizes(const char* op, int64_t outer, int64_t groups, int64_t inner) {
  if (outer < 0 || groups < 1 || inner < 0)
    throw std::invalid_argument(std::string(op) + ": outer >= 0, groups >= 1, inner >= 0 required");
}

}  // namespace

void latent_quantize_cuda(const float* z, uint8_t* codes, const float* scale, const float* zero_point,
                          int64_t outer, int64_t groups, int64_t inner, bool naive, void* stream) {
  check_sizes("latent_quantize", outer, groups, inner);
  const int64_t total = outer * groups * inner;
  if (total == 0) return;
  quantize_kernel<<<grid_for(total), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      z, codes, scale, zero_point, total, groups, inner, naive);
  check(cudaGetLastError(), "latent_quantize: launch");
}

void latent_dequantize_cuda(const uint8_t* codes, float* z, const float* scale, const float* zero_point,
                            int64_t outer, int64_t groups, int64_t inner, bool naive, void* stream) {
  check_sizes("latent_dequantize", outer, groups, inner);
  const int64_t total = outer * groups * inner;
  if (total == 0) return;
  dequantize_kernel<<<grid_for(total), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      codes, z, scale, zero_point, total, groups, inner, naive);
  check(cudaGetLastError(), "latent_dequantize: launch");
}

}  // namespace lc
