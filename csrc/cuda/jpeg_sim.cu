// Fused JPEG simulator on CUDA, same integer arithmetic as the CPU version
// (csrc/jpeg_math.h). Three kernels:
//   1. forward: one thread per 8x8 block: colour conversion (+ 2x2
//      downsampling) with edge replication, islow forward DCT -> int32 coefs;
//   2. inverse: one thread per (quality, block): quantize, dequantize, IDCT
//      -> decoded sample planes;
//   3. colour: one thread per (quality, pixel): (fancy upsampling +) YCbCr ->
//      RGB into the output.
// The forward work is shared by every quality.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../jpeg_math.h"
#include "../kernels.h"

namespace lc {
namespace {

constexpr int kThreads = 128;

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

struct Geo {
  int64_t N, H, W;
  bool sub;
  int64_t yh, yw, cw, ch, cph, cpw;
  int64_t ny, nc, per_image;  // samples per luma plane, per chroma plane, per image
};

Geo make_geo(int64_t N, int64_t H, int64_t W, bool sub) {
  Geo g;
  g.N = N; g.H = H; g.W = W; g.sub = sub;
  g.yh = (H + 7) / 8 * 8;
  g.yw = (W + 7) / 8 * 8;
  g.cw = sub ? (W + 1) / 2 : W;
  g.ch = sub ? (H + 1) / 2 : H;
  g.cph = (g.ch + 7) / 8 * 8;
  g.cpw = (g.cw + 7) / 8 * 8;
  g.ny = g.yh * g.yw;
  g.nc = g.cph * g.cpw;
  g.per_image = g.ny + 2 * g.nc;
  return g;
}

__device__ __forceinline__ int64_t clampi(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

// Component k (0 Y, 1 Cb, 2 Cr) of full-resolution pixel (r, c), clamped.
__device__ __forceinline__ int32_t component(const uint8_t* img, const Geo& g, int64_t r, int64_t c, int k) {
  const uint8_t* p = img + (clampi(r, g.H - 1) * g.W + clampi(c, g.W - 1)) * 3;
  int32_t y, cb, cr;
  jpeg::rgb_to_ycc(p[0], p[1], p[2], y, cb, cr);
  return k == 0 ? y : k == 1 ? cb : cr;
}

// Sample (r, c) of the padded plane of component k, as the CPU builds it.
__device__ __forceinline__ int32_t sample(const uint8_t* img, const Geo& g, int k, int64_t r, int64_t c) {
  if (k == 0 || !g.sub) return component(img, g, r, c, k);
  const int64_t cy = r < g.ch ? r : g.ch - 1;
  const int64_t r0 = 2 * cy, r1 = clampi(2 * cy + 1, g.H - 1);
  const int64_t x0 = clampi(2 * c, g.W - 1), x1 = clampi(2 * c + 1, g.W - 1);
  const int32_t bias = (c & 1) ? 2 : 1;
  return (component(img, g, r0, x0, k) + component(img, g, r0, x1, k) + component(img, g, r1, x0, k) +
          component(img, g, r1, x1, k) + bias) >> 2;
}

// Block b of an image -> (component, plane width, top-left sample offset).
__device__ __forceinline__ void locate(const Geo& g, int64_t b, int& k, int64_t& w, int64_t& by, int64_t& bx,
                                       int64_t& plane_off) {
  const int64_t nby = g.ny / 64;
  const int64_t nbc = g.nc / 64;
  if (b < nby) {
    k = 0; w = g.yw; plane_off = 0;
  } else {
    k = 1 + static_cast<int>((b - nby) / nbc);
    b = (b - nby) % nbc;
    w = g.cpw;
    plane_off = g.ny + (k - 1) * g.nc;
  }
  by = (b / (w / 8)) * 8;
  bx = (b % (w / 8)) * 8;
}

__global__ void forward_kernel(const uint8_t* images, int32_t* coef, Geo g) {
  const int64_t blocks = g.per_image / 64;
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= g.N * blocks) return;
  const int64_t n = t / blocks, b = t % blocks;
  int k;
  int64_t w, by, bx, off;
  locate(g, b, k, w, by, bx, off);
  const uint8_t* img = images + n * g.H * g.W * 3;
  int32_t d[64];
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) d[r * 8 + c] = sample(img, g, k, by + r, bx + c) - 128;
  jpeg::fdct_islow(d);
  int32_t* o = coef + t * 64;
  for (int i = 0; i < 64; ++i) o[i] = d[i];
}

// params: nq x 2 x 64 x {recip, corr, shift, Q}
__global__ void inverse_kernel(const int32_t* coef, const uint32_t* params, uint8_t* dec, Geo g, int64_t nq) {
  const int64_t blocks = g.per_image / 64;
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= nq * g.N * blocks) return;
  const int64_t q = t / (g.N * blocks), nb = t % (g.N * blocks);
  const int64_t n = nb / blocks, b = nb % blocks;
  int k;
  int64_t w, by, bx, off;
  locate(g, b, k, w, by, bx, off);
  const uint32_t* p = params + (q * 2 + (k == 0 ? 0 : 1)) * 64 * 4;
  const int32_t* c = coef + nb * 64;
  int32_t deq[64];
  for (int i = 0; i < 64; ++i) {
    const jpeg::Recip r{p[i * 4], p[i * 4 + 1], p[i * 4 + 2]};
    deq[i] = jpeg::quantize_recip(c[i], r) * static_cast<int32_t>(p[i * 4 + 3]);
  }
  uint8_t* plane = dec + (q * g.N + n) * g.per_image + off;
  jpeg::idct_islow(deq, plane + by * w + bx, w);
}

__global__ void color_kernel(const uint8_t* dec, uint8_t* out, Geo g, int64_t nq) {
  const int64_t px = g.H * g.W;
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= nq * g.N * px) return;
  const int64_t img = t / px, i = t % px, r = i / g.W, c = i % g.W;
  const uint8_t* y = dec + img * g.per_image;
  const uint8_t* cbp = y + g.ny;
  const uint8_t* crp = cbp + g.nc;
  int32_t cb, cr;
  if (g.sub) {
    cb = jpeg::fancy_upsample(cbp, g.cpw, g.cw, g.ch, r, c);
    cr = jpeg::fancy_upsample(crp, g.cpw, g.cw, g.ch, r, c);
  } else {
    cb = cbp[r * g.cpw + c];
    cr = crp[r * g.cpw + c];
  }
  jpeg::ycc_to_rgb(y[r * g.yw + c], cb, cr, out + t * 3);
}

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

}  // namespace

void jpeg_simulate_cuda(const uint8_t* images, uint8_t* out, int64_t N, int64_t H, int64_t W,
                        const uint16_t* tables, int64_t nq, bool subsample420, void* stream) {
  if (N < 0 || H < 1 || W < 1 || nq < 1)
    throw std::invalid_argument("jpeg_simulate: N >= 0, H, W >= 1 and at least one quality required");
  std::vector<uint32_t> params(nq * 128 * 4);
  for (int64_t i = 0; i < nq * 128; ++i) {
    if (tables[i] < 1 || tables[i] > 255)
      throw std::invalid_argument("jpeg_simulate: quantization table entries must be in [1, 255]");
    const jpeg::Recip r = jpeg::make_recip(8u * tables[i]);
    params[i * 4] = r.recip;
    params[i * 4 + 1] = r.corr;
    params[i * 4 + 2] = r.shift;
    params[i * 4 + 3] = tables[i];
  }
  if (N == 0) return;
  const Geo g = make_geo(N, H, W, subsample420);
  const int64_t blocks = N * g.per_image / 64;
  if (nq * blocks >= (int64_t(1) << 31) * kThreads || nq * N * H * W >= (int64_t(1) << 31) * kThreads)
    throw std::invalid_argument("jpeg_simulate (cuda): batch too large for one launch; split it");
  auto s = static_cast<cudaStream_t>(stream);
  uint32_t* d_params = nullptr;
  int32_t* d_coef = nullptr;
  uint8_t* d_dec = nullptr;
  check(cudaMallocAsync(&d_params, params.size() * sizeof(uint32_t), s), "jpeg_simulate: alloc");
  check(cudaMallocAsync(&d_coef, blocks * 64 * sizeof(int32_t), s), "jpeg_simulate: alloc");
  check(cudaMallocAsync(&d_dec, nq * N * g.per_image, s), "jpeg_simulate: alloc");
  // Pageable source: the call returns once the bytes are staged, so `params`
  // may go out of scope afterwards.
  check(cudaMemcpyAsync(d_params, params.data(), params.size() * sizeof(uint32_t), cudaMemcpyHostToDevice, s),
        "jpeg_simulate: copy tables");
  forward_kernel<<<blocks_for(blocks), kThreads, 0, s>>>(images, d_coef, g);
  check(cudaGetLastError(), "jpeg_simulate: forward launch");
  inverse_kernel<<<blocks_for(nq * blocks), kThreads, 0, s>>>(d_coef, d_params, d_dec, g, nq);
  check(cudaGetLastError(), "jpeg_simulate: inverse launch");
  color_kernel<<<blocks_for(nq * N * H * W), kThreads, 0, s>>>(d_dec, out, g, nq);
  check(cudaGetLastError(), "jpeg_simulate: colour launch");
  check(cudaFreeAsync(d_params, s), "jpeg_simulate: free");
  check(cudaFreeAsync(d_coef, s), "jpeg_simulate: free");
  check(cudaFreeAsync(d_dec, s), "jpeg_simulate: free");
}

}  // namespace lc
