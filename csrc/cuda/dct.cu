// 8x8 block DCT-II / DCT-III on CUDA. One thread block handles a tile of
// kBlocksPerCta 8x8 blocks along a row; each thread owns one (row, column)
// position of one block and does the two 8-point passes through shared memory.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "../kernels.h"

namespace lc {
namespace {

constexpr int kBlocksPerCta = 4;
__constant__ float c_basis[64];

__global__ void block_dct_kernel(const float* x, float* y,
                                 int64_t H, int64_t W, int64_t blocks_per_row,
                                 bool inverse) {
  __shared__ float tile[kBlocksPerCta][8][9];
  __shared__ float tmp[kBlocksPerCta][8][9];
  const int b = threadIdx.z;           // block within the CTA
  const int r = threadIdx.y;           // row within the 8x8 block
  const int c = threadIdx.x;           // column within the 8x8 block
  const int64_t bx = static_cast<int64_t>(blockIdx.x) * kBlocksPerCta + b;
  const int64_t by = blockIdx.y;
  const int64_t plane = blockIdx.z;
  const bool active = bx < blocks_per_row;
  const int64_t idx = plane * H * W + (by * 8 + r) * W + bx * 8 + c;
  tile[b][r][c] = active ? x[idx] : 0.f;
  __syncthreads();
  // pass 1 (rows): tmp[r][c] = sum_n tile[r][n] * M[c][n]
  float acc = 0.f;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
    const float m = inverse ? c_basis[n * 8 + c] : c_basis[c * 8 + n];
    acc += tile[b][r][n] * m;
  }
  tmp[b][r][c] = acc;
  __syncthreads();
  // pass 2 (columns): out[r][c] = sum_k M[r][k] * tmp[k][c]
  acc = 0.f;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    const float m = inverse ? c_basis[k * 8 + r] : c_basis[r * 8 + k];
    acc += m * tmp[b][k][c];
  }
  if (active) y[idx] = acc;
}

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

}  // namespace

void block_dct_cuda(const float* x, float* y, int64_t planes, int64_t H,
                    int64_t W, bool inverse, void* stream) {
  if (planes < 0 || H < 0 || W < 0 || H % 8 != 0 || W % 8 != 0)
    throw std::invalid_argument("block_dct: planes >= 0 and H, W multiples of 8 required");
  if (planes == 0 || H == 0 || W == 0) return;
  if (planes > 65535 || H / 8 > 65535)
    throw std::invalid_argument("block_dct (cuda): more than 65535 planes or block rows");
  auto s = static_cast<cudaStream_t>(stream);
  float basis[64];
  dct8_matrix(basis);
  check(cudaMemcpyToSymbolAsync(c_basis, basis, sizeof(basis), 0,
                                cudaMemcpyHostToDevice, s),
        "block_dct: copy basis");
  const int64_t bw = W / 8;
  dim3 grid(static_cast<unsigned>((bw + kBlocksPerCta - 1) / kBlocksPerCta),
            static_cast<unsigned>(H / 8), static_cast<unsigned>(planes));
  dim3 block(8, 8, kBlocksPerCta);
  block_dct_kernel<<<grid, block, 0, s>>>(x, y, H, W, bw, inverse);
  check(cudaGetLastError(), "block_dct: launch");
}

}  // namespace lc
