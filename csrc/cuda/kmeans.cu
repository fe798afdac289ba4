// k-means (k <= 256) on CUDA: same algorithm as csrc/cpu/kmeans.cpp.
//
// assign: one thread per point, centroids staged through shared memory in
//   tiles, exact squared distances, lowest index on ties.
// update: cluster sums in 64-bit fixed point (x * 2^s rounded to int64) with
//   integer atomics -- integer addition is associative, so the sums, and the
//   centroids, do not depend on the order the threads run in (float atomics
//   would). s is chosen from max |x| and n so that no sum can overflow.
// k-means++ seeding: D^2 per point on the device, per-CTA partial sums in a
//   fixed reduction tree, the weighted draw on the host (k small copies).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../kernels.h"

namespace lc {
namespace {

constexpr int kThreads = 256;
constexpr int kSharedFloats = 8192;  // 32 KiB centroid tile

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string("kmeans: ") + what + ": " + cudaGetErrorString(err));
}

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void assign_kernel(const float* x, const float* c, uint8_t* labels, int64_t n, int64_t d,
                              int64_t k, int64_t tile_k) {
  __shared__ float sc[kSharedFloats];
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  float best = INFINITY;
  int best_j = 0;
  for (int64_t j0 = 0; j0 < k; j0 += tile_k) {
    const int64_t nj = min(tile_k, k - j0);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < nj * d; e += blockDim.x) sc[e] = c[j0 * d + e];
    __syncthreads();
    if (i < n) {
      const float* xi = x + i * d;
      for (int64_t j = 0; j < nj; ++j) {
        float s = 0.f;
        for (int64_t e = 0; e < d; ++e) {
          const float diff = xi[e] - sc[j * d + e];
          s = __fmaf_rn(diff, diff, s);
        }
        if (s < best) { best = s; best_j = static_cast<int>(j0 + j); }
      }
    }
  }
  if (i < n) labels[i] = static_cast<uint8_t>(best_j);
}

__global__ void changed_kernel(const uint8_t* a, const uint8_t* b, int64_t n, int* flag) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n && a[i] != b[i]) atomicExch(flag, 1);
}

__global__ void max_abs_kernel(const float* x, int64_t total, unsigned int* out) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < total) atomicMax(out, __float_as_uint(fabsf(x[i])));  // non-negative floats order like ints
}

__global__ void accumulate_kernel(const float* x, const uint8_t* labels, int64_t n, int64_t d, double f,
                                  unsigned long long* sums, unsigned int* counts) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t j = labels[i];
  for (int64_t e = 0; e < d; ++e) {
    const long long v = llrint(static_cast<double>(x[i * d + e]) * f);
    atomicAdd(sums + j * d + e, static_cast<unsigned long long>(v));  // two's complement wraps exactly
  }
  atomicAdd(counts + j, 1u);
}

__global__ void finalize_kernel(const unsigned long long* sums, const unsigned int* counts, float* c,
                                int64_t d, int64_t k, double f) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= k * d) return;
  const unsigned int cnt = counts[t / d];
  if (cnt) c[t] = static_cast<float>(static_cast<double>(static_cast<long long>(sums[t])) / f / cnt);
}

// d2[i] = min(d2[i], |x_i - c|^2) (or = on the first centre); per-CTA sums.
__global__ void d2_kernel(const float* x, const float* c, float* d2, int64_t n, int64_t d, bool first,
                          double* partial) {
  __shared__ double red[kThreads];
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  double v = 0.0;
  if (i < n) {
    float s = 0.f;
    for (int64_t e = 0; e < d; ++e) {
      const float diff = x[i * d + e] - c[e];
      s = __fmaf_rn(diff, diff, s);
    }
    const float m = first ? s : fminf(d2[i], s);
    d2[i] = m;
    v = m;
  }
  red[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) red[threadIdx.x] += red[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = red[0];
}

void seed_plus_plus(const float* x, float* c, int64_t n, int64_t d, int64_t k, uint64_t seed, cudaStream_t s,
                    float* d2, double* d_partial) {
  uint64_t state = seed;
  const unsigned nb = blocks_for(n);
  std::vector<double> partial(nb);
  std::vector<float> seg(kThreads);
  int64_t pick = std::min<int64_t>(n - 1, static_cast<int64_t>(uniform01(state) * n));
  check(cudaMemcpyAsync(c, x + pick * d, d * sizeof(float), cudaMemcpyDeviceToDevice, s), "seed copy");
  for (int64_t j = 0; j + 1 < k; ++j) {
    d2_kernel<<<nb, kThreads, 0, s>>>(x, c + j * d, d2, n, d, j == 0, d_partial);
    check(cudaGetLastError(), "seed launch");
    check(cudaMemcpyAsync(partial.data(), d_partial, nb * sizeof(double), cudaMemcpyDeviceToHost, s), "seed copy");
    check(cudaStreamSynchronize(s), "seed sync");
    double total = 0;
    for (double p : partial) total += p;
    const double u = uniform01(state);
    if (total <= 0.0) {
      pick = std::min<int64_t>(n - 1, static_cast<int64_t>(u * n));
    } else {
      const double target = u * total;
      double acc = 0;
      unsigned b = 0;
      while (b + 1 < nb && acc + partial[b] <= target) acc += partial[b++];
      const int64_t i0 = int64_t(b) * kThreads, len = std::min<int64_t>(kThreads, n - i0);
      check(cudaMemcpyAsync(seg.data(), d2 + i0, len * sizeof(float), cudaMemcpyDeviceToHost, s), "seed copy");
      check(cudaStreamSynchronize(s), "seed sync");
      pick = -1;
      int64_t last_pos = -1;
      for (int64_t t = 0; t < len; ++t) {
        if (seg[t] > 0.f) last_pos = i0 + t;
        acc += seg[t];
        if (acc > target) { pick = i0 + t; break; }
      }
      if (pick < 0) pick = last_pos >= 0 ? last_pos : n - 1;
    }
    check(cudaMemcpyAsync(c + (j + 1) * d, x + pick * d, d * sizeof(float), cudaMemcpyDeviceToDevice, s),
          "seed copy");
  }
}

void launch_assign(const float* x, const float* c, uint8_t* labels, int64_t n, int64_t d, int64_t k,
                   cudaStream_t s) {
  const int64_t tile_k = std::max<int64_t>(1, std::min<int64_t>(k, kSharedFloats / d));
  if (d > kSharedFloats) throw std::invalid_argument("kmeans (cuda): d > 8192 is not supported");
  assign_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, c, labels, n, d, k, tile_k);
  check(cudaGetLastError(), "assign launch");
}

void check_args(int64_t n, int64_t d, int64_t k) {
  if (n < 0 || d < 1 || k < 1 || k > 256)
    throw std::invalid_argument("kmeans: n >= 0, d >= 1 and 1 <= k <= 256 required");
}

// RAII for the scratch buffers (stream-ordered allocations).
struct DeviceBuffer {
  void* p = nullptr;
  cudaStream_t s;
  DeviceBuffer(size_t bytes, cudaStream_t s_) : s(s_) { check(cudaMallocAsync(&p, bytes ? bytes : 1, s), "alloc"); }
  ~DeviceBuffer() { cudaFreeAsync(p, s); }
  template <typename T> T* as() const { return static_cast<T*>(p); }
};

}  // namespace

void kmeans_assign_cuda(const float* x, const float* centroids, uint8_t* labels, int64_t n, int64_t d, int64_t k,
                        void* stream) {
  check_args(n, d, k);
  if (n == 0) return;
  launch_assign(x, centroids, labels, n, d, k, static_cast<cudaStream_t>(stream));
}

int64_t kmeans_fit_cuda(const float* x, float* centroids, int64_t n, int64_t d, int64_t k, int64_t iters,
                        uint64_t seed, void* stream) {
  check_args(n, d, k);
  if (n < k) throw std::invalid_argument("kmeans_fit: need at least k points");
  if (iters < 0) throw std::invalid_argument("kmeans_fit: iters >= 0 required");
  auto s = static_cast<cudaStream_t>(stream);
  DeviceBuffer d2(n * sizeof(float), s), partial(blocks_for(n) * sizeof(double), s);
  seed_plus_plus(x, centroids, n, d, k, seed, s, d2.as<float>(), partial.as<double>());

  // Fixed-point scale: |sum| <= n * max|x| * f < 2^62.
  DeviceBuffer maxbits(sizeof(unsigned int), s);
  check(cudaMemsetAsync(maxbits.p, 0, sizeof(unsigned int), s), "memset");
  max_abs_kernel<<<blocks_for(n * d), kThreads, 0, s>>>(x, n * d, maxbits.as<unsigned int>());
  check(cudaGetLastError(), "max launch");
  unsigned int bits = 0;
  check(cudaMemcpyAsync(&bits, maxbits.p, sizeof(bits), cudaMemcpyDeviceToHost, s), "copy");
  check(cudaStreamSynchronize(s), "sync");
  float max_abs;
  std::memcpy(&max_abs, &bits, sizeof(float));
  const int e = max_abs > 0.f ? static_cast<int>(std::floor(62.0 - std::log2(double(n)) - std::log2(double(max_abs)))) - 1 : 0;
  const double f = std::ldexp(1.0, std::max(-1000, std::min(1000, e)));

  DeviceBuffer labels(n, s), prev(n, s), sums(k * d * sizeof(unsigned long long), s),
      counts(k * sizeof(unsigned int), s), flag(sizeof(int), s);
  int64_t it = 0;
  for (; it < iters; ++it) {
    launch_assign(x, centroids, labels.as<uint8_t>(), n, d, k, s);
    if (it > 0) {
      int changed = 0;
      check(cudaMemsetAsync(flag.p, 0, sizeof(int), s), "memset");
      changed_kernel<<<blocks_for(n), kThreads, 0, s>>>(labels.as<uint8_t>(), prev.as<uint8_t>(), n, flag.as<int>());
      check(cudaGetLastError(), "changed launch");
      check(cudaMemcpyAsync(&changed, flag.p, sizeof(int), cudaMemcpyDeviceToHost, s), "copy");
      check(cudaStreamSynchronize(s), "sync");
      if (!changed) break;
    }
    check(cudaMemsetAsync(sums.p, 0, k * d * sizeof(unsigned long long), s), "memset");
    check(cudaMemsetAsync(counts.p, 0, k * sizeof(unsigned int), s), "memset");
    accumulate_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, labels.as<uint8_t>(), n, d, f,
                                                         sums.as<unsigned long long>(), counts.as<unsigned int>());
    check(cudaGetLastError(), "accumulate launch");
    finalize_kernel<<<blocks_for(k * d), kThreads, 0, s>>>(sums.as<unsigned long long>(), counts.as<unsigned int>(),
                                                           centroids, d, k, f);
    check(cudaGetLastError(), "finalize launch");
    check(cudaMemcpyAsync(prev.p, labels.p, n, cudaMemcpyDeviceToDevice, s), "copy");
  }
  check(cudaStreamSynchronize(s), "sync");
  return it;
}

}  // namespace lc
