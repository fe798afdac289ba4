// JPEG quantization of block-DCT coefficients on CUDA: one thread per
// coefficient for quantize / dequantize; the fused DCT + quantize reuses the
// shared-memory layout of dct.cu (one thread per position of an 8x8 block).
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "../kernels.h"

namespace lc {
namespace {

constexpr int kThreads = 256;
constexpr int kBlocksPerCta = 4;
__constant__ float c_qbasis[64];

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

void check_sizes(const char* op, int64_t ntables, int64_t planes, int64_t H, int64_t W) {
  if (ntables < 1 || planes < 0 || H < 0 || W < 0 || H % 8 != 0 || W % 8 != 0)
    throw std::invalid_argument(std::string(op) + ": ntables >= 1, planes >= 0 and H, W multiples of 8 required");
}

// Round half away from zero, saturated to int16 (roundf is half-away).
__device__ __forceinline__ int16_t round_sat16(float v) {
  float r = roundf(v);
  r = fminf(fmaxf(r, -32768.f), 32767.f);
  return static_cast<int16_t>(r);
}

__device__ __forceinline__ int64_t table_index(int64_t i, int64_t H, int64_t W, int64_t ntables) {
  const int64_t plane = i / (H * W), rem = i % (H * W);
  return (plane % ntables) * 64 + ((rem / W) & 7) * 8 + ((rem % W) & 7);
}

__global__ void quantize_kernel(const float* X, int16_t* q, const float* t, int64_t total,
                                int64_t H, int64_t W, int64_t ntables) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x)
    q[i] = round_sat16(X[i] / t[table_index(i, H, W, ntables)]);
}

__global__ void dequantize_kernel(const int16_t* q, float* X, const float* t, int64_t total,
                                  int64_t H, int64_t W, int64_t ntables) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x)
    X[i] = static_cast<float>(q[i]) * t[table_index(i, H, W, ntables)];
}

__global__ void dct_quantize_kernel(const float* x, int16_t* q, const float* tables, int64_t H,
                                    int64_t W, int64_t blocks_per_row, int64_t ntables) {
  __shared__ float tile[kBlocksPerCta][8][9];
  __shared__ float tmp[kBlocksPerCta][8][9];
  const int b = threadIdx.z, r = threadIdx.y, c = threadIdx.x;
  const int64_t bx = static_cast<int64_t>(blockIdx.x) * kBlocksPerCta + b;
  const int64_t by = blockIdx.y, plane = blockIdx.z;
  const bool active = bx < blocks_per_row;
  const int64_t idx = plane * H * W + (by * 8 + r) * W + bx * 8 + c;
  tile[b][r][c] = active ? x[idx] : 0.f;
  __syncthreads();
  float acc = 0.f;  // rows: tmp[r][c] = sum_n tile[r][n] C[c][n]
#pragma unroll
  for (int n = 0; n < 8; ++n) acc += tile[b][r][n] * c_qbasis[c * 8 + n];
  tmp[b][r][c] = acc;
  __syncthreads();
  acc = 0.f;  // columns: y[r][c] = sum_k C[r][k] tmp[k][c]
#pragma unroll
  for (int k = 0; k < 8; ++k) acc += c_qbasis[r * 8 + k] * tmp[b][k][c];
  if (active) q[idx] = round_sat16(acc / tables[(plane % ntables) * 64 + r * 8 + c]);
}

unsigned grid_for(int64_t total) {
  const int64_t g = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(g < 65535 * 16 ? g : 65535 * 16);
}

}  // namespace

void quantize_cuda(const float* X, int16_t* q, const float* tables, int64_t ntables, int64_t planes,
                   int64_t H, int64_t W, void* stream) {
  check_sizes("quantize", ntables, planes, H, W);
  const int64_t total = planes * H * W;
  if (total == 0) return;
  quantize_kernel<<<grid_for(total), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      X, q, tables, total, H, W, ntables);
  check(cudaGetLastError(), "quantize: launch");
}

void dequantize_cuda(const int16_t* q, float* X, const float* tables, int64_t ntables,
                     int64_t planes, int64_t H, int64_t W, void* stream) {
  check_sizes("dequantize", ntables, planes, H, W);
  const int64_t total = planes * H * W;
  if (total == 0) return;
  dequantize_kernel<<<grid_for(total), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      q, X, tables, total, H, W, ntables);
  check(cudaGetLastError(), "dequantize: launch");
}

void dct_quantize_cuda(const float* x, int16_t* q, const float* tables, int64_t ntables,
                       int64_t planes, int64_t H, int64_t W, void* stream) {
  check_sizes("dct_quantize", ntables, planes, H, W);
  if (planes == 0 || H == 0 || W == 0) return;
  if (planes > 65535 || H / 8 > 65535)
    throw std::invalid_argument("dct_quantize (cuda): more than 65535 planes or block rows");
  auto s = static_cast<cudaStream_t>(stream);
  float basis[64];
  dct8_matrix(basis);
  check(cudaMemcpyToSymbolAsync(c_qbasis, basis, sizeof(basis), 0, cudaMemcpyHostToDevice, s),
        "dct_quantize: copy basis");
  const int64_t bw = W / 8;
  dim3 grid(static_cast<unsigned>((bw + kBlocksPerCta - 1) / kBlocksPerCta), static_cast<unsigned>(H / 8),
            static_cast<unsigned>(planes));
  dim3 block(8, 8, kBlocksPerCta);
  dct_quantize_kernel<<<grid, block, 0, s>>>(x, q, tables, H, W, bw, ntables);
  check(cudaGetLastError(), "dct_quantize: launch");
}

}  // namespace lc
