// k-means (k <= 256) on the CPU: k-means++ seeding and Lloyd iterations.
//
// Assignment: for d == 1 the centroids are sorted and each point finds its
// two neighbours through a bucket table (O(1) per point instead of O(k)); for
// d > 1 distances are ||c||^2 - 2 x.c with the centroids transposed so the
// inner loop runs over 8 (16) centroids per vector FMA, register-blocked over
// 4 (8) points x 16 (32) centroids on AVX2 (AVX-512), picked at run time;
// every path does the same fma per (point, centroid) in the same order.
// Determinism: every sum runs over fixed chunks of points in double and the
// chunk results are added in chunk order, so the thread count (and the
// dynamic schedule, which keeps a core that is busy with another job from
// holding half of the work) never changes the result.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "../kernels.h"
#include "simd.h"

// Hand-vectorised AVX2 + FMA assignment, chosen at run time (the build
// targets generic x86-64, so it is compiled with a per-function target).
#ifdef LC_X86_AVX2
#define LC_AVX2 LC_TARGET_AVX2_FMA
#endif

namespace lc {
namespace {

constexpr int64_t kChunk = 8192;
// k-means++ makes k - 1 short passes (~1 ms for 200k x 16), each ending in a
// barrier; on a machine whose cores are shared with other jobs a barrier can
// cost a scheduler time slice, which made two threads ~10x slower than one
// (measured). Passes run on one thread below this much work (n * d floats).
constexpr int64_t kSeedParallelWork = int64_t{1} << 24;

void check(int64_t n, int64_t d, int64_t k) {
  if (n < 0 || d < 1 || k < 1 || k > 256)
    throw std::invalid_argument("kmeans: n >= 0, d >= 1 and 1 <= k <= 256 required");
}

// ---- d > 1: brute force over transposed centroids -------------------------
struct Generic {
  std::vector<float> cT, cn;  // d x k, k
  int64_t d, k;
  Generic(const float* c, int64_t d_, int64_t k_) : cT(d_ * k_), cn(k_, 0.f), d(d_), k(k_) {
    for (int64_t j = 0; j < k; ++j)
      for (int64_t t = 0; t < d; ++t) {
        cT[t * k + j] = c[j * d + t];
        cn[j] += c[j * d + t] * c[j * d + t];
      }
  }
};

LC_CLONES void assign_generic(const float* x, const Generic& G, int64_t i0, int64_t i1,
                              uint8_t* labels) {
  const int64_t d = G.d, k = G.k;
  alignas(64) float acc[4][256];
  int64_t i = i0;
  // Four points at a time: each centroid row is loaded once for four points.
  for (; i + 4 <= i1; i += 4) {
    for (int p = 0; p < 4; ++p)
      for (int64_t j = 0; j < k; ++j) acc[p][j] = G.cn[j];
    for (int64_t t = 0; t < d; ++t) {
      const float* row = G.cT.data() + t * k;
      const float v0 = -2.f * x[(i + 0) * d + t], v1 = -2.f * x[(i + 1) * d + t];
      const float v2 = -2.f * x[(i + 2) * d + t], v3 = -2.f * x[(i + 3) * d + t];
      for (int64_t j = 0; j < k; ++j) {
        acc[0][j] += v0 * row[j];
        acc[1][j] += v1 * row[j];
        acc[2][j] += v2 * row[j];
        acc[3][j] += v3 * row[j];
      }
    }
    for (int p = 0; p < 4; ++p) {
      int64_t best = 0;
      float bv = acc[p][0];
      for (int64_t j = 1; j < k; ++j)
        if (acc[p][j] < bv) { bv = acc[p][j]; best = j; }
      labels[i + p] = static_cast<uint8_t>(best);
    }
  }
  for (; i < i1; ++i) {
    for (int64_t j = 0; j < k; ++j) acc[0][j] = G.cn[j];
    for (int64_t t = 0; t < d; ++t) {
      const float v = -2.f * x[i * d + t];
      const float* row = G.cT.data() + t * k;
      for (int64_t j = 0; j < k; ++j) acc[0][j] += v * row[j];
    }
    int64_t best = 0;
    float bv = acc[0][0];
    for (int64_t j = 1; j < k; ++j)
      if (acc[0][j] < bv) { bv = acc[0][j]; best = j; }
    labels[i] = static_cast<uint8_t>(best);
  }
}

#ifdef LC_X86_AVX2
bool have_avx2() {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
}

bool have_avx512() {
  static const bool v = __builtin_cpu_supports("avx512f");
  return v;
}

// Centroids transposed (d x kp) and padded to kp = k rounded up to 32 with
// zero columns whose norm is +inf, so padded slots never win.
struct Packed {
  std::vector<float> cT, cn;
  int64_t d, k, kp;
  explicit Packed(const Generic& G) : d(G.d), k(G.k), kp((G.k + 31) / 32 * 32) {
    cT.assign(d * kp, 0.f);
    cn.assign(kp, INFINITY);
    for (int64_t j = 0; j < k; ++j) {
      cn[j] = G.cn[j];
      for (int64_t t = 0; t < d; ++t) cT[t * kp + j] = G.cT[t * k + j];
    }
  }
};

// Same arithmetic per (point, centroid) as assign_generic's FMA build:
// acc = ||c||^2, then acc = fma(-2 x_t, c_t, acc) for t = 0..d-1, and the
// first minimum wins. Register-blocked: 4 points x 16 centroids of
// accumulators stay in registers for the whole d loop; each lane of the
// vectorised argmin keeps its first minimum, and the lanes are merged by
// (value, index), which is the first minimum overall.
LC_AVX2 void assign_generic_avx2(const float* x, const Packed& P, int64_t i0, int64_t i1,
                                 uint8_t* labels) {
  const int64_t d = P.d, kp = P.kp;
  alignas(32) float dist[4][256];
  std::vector<float> xs(4 * d);
  const float* cT = P.cT.data();
  const float* cn = P.cn.data();
  for (int64_t i = i0; i < i1; i += 4) {
    const int64_t np = std::min<int64_t>(4, i1 - i);
    for (int64_t p = 0; p < 4; ++p) {  // -2 x (exact), read back by broadcast loads
      const float* xp = x + std::min(i + p, i1 - 1) * d;
      for (int64_t t = 0; t < d; ++t) xs[p * d + t] = -2.f * xp[t];
    }
    const float *x0 = xs.data(), *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
    for (int64_t jb = 0; jb < kp; jb += 16) {
      __m256 a00 = _mm256_loadu_ps(cn + jb), a01 = _mm256_loadu_ps(cn + jb + 8);
      __m256 a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
      const float* ct = cT + jb;
      for (int64_t t = 0; t < d; ++t, ct += kp) {
        const __m256 c0 = _mm256_loadu_ps(ct), c1 = _mm256_loadu_ps(ct + 8);
        __m256 v = _mm256_broadcast_ss(x0 + t);
        a00 = _mm256_fmadd_ps(v, c0, a00);
        a01 = _mm256_fmadd_ps(v, c1, a01);
        v = _mm256_broadcast_ss(x1 + t);
        a10 = _mm256_fmadd_ps(v, c0, a10);
        a11 = _mm256_fmadd_ps(v, c1, a11);
        v = _mm256_broadcast_ss(x2 + t);
        a20 = _mm256_fmadd_ps(v, c0, a20);
        a21 = _mm256_fmadd_ps(v, c1, a21);
        v = _mm256_broadcast_ss(x3 + t);
        a30 = _mm256_fmadd_ps(v, c0, a30);
        a31 = _mm256_fmadd_ps(v, c1, a31);
      }
      _mm256_store_ps(dist[0] + jb, a00);
      _mm256_store_ps(dist[0] + jb + 8, a01);
      _mm256_store_ps(dist[1] + jb, a10);
      _mm256_store_ps(dist[1] + jb + 8, a11);
      _mm256_store_ps(dist[2] + jb, a20);
      _mm256_store_ps(dist[2] + jb + 8, a21);
      _mm256_store_ps(dist[3] + jb, a30);
      _mm256_store_ps(dist[3] + jb + 8, a31);
    }
    for (int64_t p = 0; p < np; ++p) {
      // The minimum first (min is exact and order-free), four independent
      // chains; then the first index holding it (-0 == +0, as `<` treats them).
      const float* dp = dist[p];
      __m256 m0 = _mm256_load_ps(dp), m1 = _mm256_load_ps(dp + 8);
      __m256 m2 = m0, m3 = m1;
      int64_t j = 16;
      for (; j + 32 <= kp; j += 32) {
        m0 = _mm256_min_ps(m0, _mm256_load_ps(dp + j));
        m1 = _mm256_min_ps(m1, _mm256_load_ps(dp + j + 8));
        m2 = _mm256_min_ps(m2, _mm256_load_ps(dp + j + 16));
        m3 = _mm256_min_ps(m3, _mm256_load_ps(dp + j + 24));
      }
      for (; j < kp; j += 16) {
        m0 = _mm256_min_ps(m0, _mm256_load_ps(dp + j));
        m1 = _mm256_min_ps(m1, _mm256_load_ps(dp + j + 8));
      }
      __m256 m = _mm256_min_ps(_mm256_min_ps(m0, m1), _mm256_min_ps(m2, m3));
      m = _mm256_min_ps(m, _mm256_permute2f128_ps(m, m, 1));
      m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0x4E));
      m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0xB1));
      int32_t best = 0;
      for (int64_t jj = 0; jj < kp; jj += 8) {
        const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(dp + jj), m, _CMP_EQ_OQ));
        if (mask) {
          best = static_cast<int32_t>(jj) + __builtin_ctz(static_cast<unsigned>(mask));
          break;
        }
      }
      labels[i + p] = static_cast<uint8_t>(best);
    }
  }
}

// assign_generic_avx2 with 16-float vectors and 8 points x 32 centroids of
// accumulators (16 of the 32 registers); the same fma per (point, centroid,
// t) in the same order, so the same labels.
__attribute__((target("avx512f"))) void assign_generic_avx512(const float* x, const Packed& P,
                                                              int64_t i0, int64_t i1,
                                                              uint8_t* labels) {
  const int64_t d = P.d, kp = P.kp;
  alignas(64) float dist[8][256];
  std::vector<float> xs(8 * d);
  const float* cT = P.cT.data();
  const float* cn = P.cn.data();
  for (int64_t i = i0; i < i1; i += 8) {
    const int64_t np = std::min<int64_t>(8, i1 - i);
    for (int64_t p = 0; p < 8; ++p) {
      const float* xp = x + std::min(i + p, i1 - 1) * d;
      for (int64_t t = 0; t < d; ++t) xs[p * d + t] = -2.f * xp[t];
    }
    const float* xv = xs.data();
    for (int64_t jb = 0; jb < kp; jb += 32) {
      __m512 a[8][2];
      const __m512 n0 = _mm512_loadu_ps(cn + jb), n1 = _mm512_loadu_ps(cn + jb + 16);
      for (int p = 0; p < 8; ++p) {
        a[p][0] = n0;
        a[p][1] = n1;
      }
      const float* ct = cT + jb;
      for (int64_t t = 0; t < d; ++t, ct += kp) {
        const __m512 c0 = _mm512_loadu_ps(ct), c1 = _mm512_loadu_ps(ct + 16);
        for (int p = 0; p < 8; ++p) {
          const __m512 v = _mm512_set1_ps(xv[p * d + t]);
          a[p][0] = _mm512_fmadd_ps(v, c0, a[p][0]);
          a[p][1] = _mm512_fmadd_ps(v, c1, a[p][1]);
        }
      }
      for (int p = 0; p < 8; ++p) {
        _mm512_store_ps(dist[p] + jb, a[p][0]);
        _mm512_store_ps(dist[p] + jb + 16, a[p][1]);
      }
    }
    for (int64_t p = 0; p < np; ++p) {
      const float* dp = dist[p];
      __m512 m0 = _mm512_load_ps(dp), m1 = _mm512_load_ps(dp + 16);
      for (int64_t j = 32; j < kp; j += 32) {
        m0 = _mm512_min_ps(m0, _mm512_load_ps(dp + j));
        m1 = _mm512_min_ps(m1, _mm512_load_ps(dp + j + 16));
      }
      __m512 m = _mm512_min_ps(m0, m1);  // every lane <- the minimum (exact)
      m = _mm512_min_ps(m, _mm512_shuffle_f32x4(m, m, 0x4E));
      m = _mm512_min_ps(m, _mm512_shuffle_f32x4(m, m, 0xB1));
      m = _mm512_min_ps(m, _mm512_permute_ps(m, 0x4E));
      m = _mm512_min_ps(m, _mm512_permute_ps(m, 0xB1));
      int32_t best = 0;
      for (int64_t jj = 0; jj < kp; jj += 16) {
        const unsigned mask = _mm512_cmp_ps_mask(_mm512_load_ps(dp + jj), m, _CMP_EQ_OQ);
        if (mask) {
          best = static_cast<int32_t>(jj) + __builtin_ctz(mask);
          break;
        }
      }
      labels[i + p] = static_cast<uint8_t>(best);
    }
  }
}
#endif

// ---- d == 1: sorted centroids + bucket table -------------------------------
struct Sorted1D {
  std::vector<float> v;        // distinct centroid values, ascending
  std::vector<uint8_t> idx;    // lowest original index of each value
  std::vector<float> mid;      // midpoints between neighbours
  std::vector<int32_t> start;  // per bucket: number of midpoints below its lower edge
  float lo = 0.f, inv_w = 0.f;
  int64_t nb = 0;
  explicit Sorted1D(const float* c, int64_t k) {
    std::vector<int64_t> order(k);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return c[a] < c[b] || (c[a] == c[b] && a < b);
    });
    for (int64_t o : order)
      if (v.empty() || c[o] != v.back()) {
        v.push_back(c[o]);
        idx.push_back(static_cast<uint8_t>(o));
      }
    for (size_t j = 0; j + 1 < v.size(); ++j) mid.push_back(0.5f * (v[j] + v[j + 1]));
    if (mid.empty()) return;
    lo = mid.front();
    const float span = mid.back() - mid.front();
    nb = 4 * static_cast<int64_t>(mid.size());
    inv_w = span > 0.f ? static_cast<float>(nb) / span : 0.f;
    start.resize(nb);
    for (int64_t b = 0; b < nb; ++b) {
      const float edge = lo + static_cast<float>(b) / inv_w;
      start[b] = static_cast<int32_t>(std::lower_bound(mid.begin(), mid.end(), edge) - mid.begin());
    }
    if (inv_w == 0.f) start.assign(nb, 0);
  }
  // Index into v of the nearest value to x, lowest original index on ties.
  inline int64_t nearest(float x) const {
    const int64_t m = static_cast<int64_t>(mid.size());
    if (m == 0) return 0;
    const float fb = (x - lo) * inv_w;
    const int64_t b = fb <= 0.f ? 0 : fb >= static_cast<float>(nb - 1) ? nb - 1 : static_cast<int64_t>(fb);
    int64_t p = start[b];
    while (p < m && mid[p] < x) ++p;  // the bucket edge may be off by rounding
    while (p > 0 && mid[p - 1] >= x) --p;
    // p = number of midpoints below x: candidate p, check its neighbours exactly.
    int64_t best = p;
    float bd = (x - v[p]) * (x - v[p]);
    for (int64_t q = p - 1; q <= p + 1; q += 2) {
      if (q < 0 || q > m) continue;
      const float dq = (x - v[q]) * (x - v[q]);
      if (dq < bd || (dq == bd && idx[q] < idx[best])) { bd = dq; best = q; }
    }
    return best;
  }
};

void assign_1d(const float* x, const Sorted1D& S, int64_t i0, int64_t i1, uint8_t* labels) {
  for (int64_t i = i0; i < i1; ++i) labels[i] = S.idx[S.nearest(x[i])];
}

void assign_all(const float* x, const float* c, uint8_t* labels, int64_t n, int64_t d, int64_t k) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (d == 1) {
    const Sorted1D S(c, k);
#pragma omp parallel for schedule(dynamic)
    for (int64_t t = 0; t < chunks; ++t) assign_1d(x, S, t * kChunk, std::min(n, (t + 1) * kChunk), labels);
  } else {
    const Generic G(c, d, k);
#ifdef LC_X86_AVX2
    if (have_avx512()) {
      const Packed P(G);
#pragma omp parallel for schedule(dynamic)
      for (int64_t t = 0; t < chunks; ++t)
        assign_generic_avx512(x, P, t * kChunk, std::min(n, (t + 1) * kChunk), labels);
      return;
    }
    if (have_avx2()) {
      const Packed P(G);
#pragma omp parallel for schedule(dynamic)
      for (int64_t t = 0; t < chunks; ++t)
        assign_generic_avx2(x, P, t * kChunk, std::min(n, (t + 1) * kChunk), labels);
      return;
    }
#endif
#pragma omp parallel for schedule(dynamic)
    for (int64_t t = 0; t < chunks; ++t) assign_generic(x, G, t * kChunk, std::min(n, (t + 1) * kChunk), labels);
  }
}

inline float sqdist(const float* a, const float* b, int64_t d) {
  float s = 0.f;
  for (int64_t t = 0; t < d; ++t) {
    const float e = a[t] - b[t];
    s += e * e;
  }
  return s;
}

#ifdef LC_X86_AVX2
// One k-means++ pass over a chunk of points stored transposed (xT: d rows of
// `len` values, row stride `ld`): d2 = min(d2, ||x - c||^2), eight points per
// vector. Per point the arithmetic is sqdist's (subtract, square, add in t
// order, no fused multiply-add: fp-contract is off here), so d2 is the same
// bits as the scalar loop. Returns whether any d2 went down.
__attribute__((target("avx2"), optimize("fp-contract=off"))) bool seed_pass_avx2(
    const float* xT, int64_t ld, int64_t len, int64_t d, const float* c, float* d2, bool first) {
  __m256 any = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= len; i += 8) {
    __m256 s = _mm256_setzero_ps();
    for (int64_t t = 0; t < d; ++t) {
      const __m256 e = _mm256_sub_ps(_mm256_loadu_ps(xT + t * ld + i), _mm256_set1_ps(c[t]));
      s = _mm256_add_ps(s, _mm256_mul_ps(e, e));
    }
    if (first) {
      _mm256_storeu_ps(d2 + i, s);
    } else {
      const __m256 o = _mm256_loadu_ps(d2 + i);
      any = _mm256_or_ps(any, _mm256_cmp_ps(s, o, _CMP_LT_OQ));
      _mm256_storeu_ps(d2 + i, _mm256_min_ps(s, o));  // s < o ? s : o, as std::min(o, s)
    }
  }
  bool changed = first || _mm256_movemask_ps(any) != 0;
  for (; i < len; ++i) {
    float s = 0.f;
    for (int64_t t = 0; t < d; ++t) {
      const float e = xT[t * ld + i] - c[t];
      s += e * e;
    }
    if (first || s < d2[i]) {
      changed = changed || !first;
      d2[i] = s;
    }
  }
  return changed;
}
#endif

// k-means++: first centre uniform, then each next centre drawn with
// probability proportional to D^2 (distance to the nearest chosen centre).
// Each pass only lowers d2 where the newest centre is nearer, and a chunk's
// D^2 sum (double, in point order) is recomputed only when one of its d2
// changed: the same sum, without the pass over unchanged chunks.
void seed_plus_plus(const float* x, float* c, int64_t n, int64_t d, int64_t k, uint64_t seed) {
  uint64_t state = seed;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<float> d2(n);
  std::vector<double> part(chunks);
#ifdef LC_X86_AVX2
  // The vector pass reads the points transposed, chunk by chunk (d x chunk).
  const bool avx2 = have_avx2();
  std::vector<float> xT(avx2 && d > 1 ? n * d : 0);
  if (avx2 && d > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < chunks; ++t) {
      const int64_t b = t * kChunk, len = std::min(n, b + kChunk) - b;
      float* dst = xT.data() + b * d;
      for (int64_t i = 0; i < len; ++i)
        for (int64_t e = 0; e < d; ++e) dst[e * len + i] = x[(b + i) * d + e];
    }
  }
#endif
  int64_t pick = std::min<int64_t>(n - 1, static_cast<int64_t>(uniform01(state) * n));
  std::copy(x + pick * d, x + (pick + 1) * d, c);
  for (int64_t j = 0; j + 1 < k; ++j) {
    const float* cj = c + j * d;
#pragma omp parallel for schedule(dynamic) if (n * d >= kSeedParallelWork)
    for (int64_t t = 0; t < chunks; ++t) {
      const int64_t b = t * kChunk, e = std::min(n, (t + 1) * kChunk);
      bool changed;
#ifdef LC_X86_AVX2
      if (avx2) {
        changed = d == 1 ? seed_pass_avx2(x + b, 0, e - b, 1, cj, d2.data() + b, j == 0)
                         : seed_pass_avx2(xT.data() + b * d, e - b, e - b, d, cj, d2.data() + b, j == 0);
      } else
#endif
      {
        changed = j == 0;
        for (int64_t i = b; i < e; ++i) {
          const float s = sqdist(x + i * d, cj, d);
          if (j == 0) {
            d2[i] = s;
          } else if (s < d2[i]) {
            d2[i] = s;
            changed = true;
          }
        }
      }
      if (changed) {
        double s = 0;
        for (int64_t i = b; i < e; ++i) s += d2[i];
        part[t] = s;
      }
    }
    const double total = std::accumulate(part.begin(), part.end(), 0.0);
    const double u = uniform01(state);
    if (total <= 0.0) {  // every point sits on a centre: repeat a point
      pick = std::min<int64_t>(n - 1, static_cast<int64_t>(u * n));
    } else {
      // first i with cumsum(d2)[i] > u * total, chunk sums first
      const double target = u * total;
      double acc = 0;
      int64_t t = 0;
      while (t + 1 < chunks && acc + part[t] <= target) acc += part[t++];
      pick = -1;
      int64_t last_pos = -1;
      for (int64_t i = t * kChunk; i < n; ++i) {
        if (d2[i] > 0.f) last_pos = i;
        acc += d2[i];
        if (acc > target) { pick = i; break; }
      }
      if (pick < 0) pick = last_pos >= 0 ? last_pos : n - 1;  // rounding at the end
    }
    std::copy(x + pick * d, x + (pick + 1) * d, c + (j + 1) * d);
  }
}

// New centroids = means of their points (double sums per chunk, reduced in
// chunk order); empty clusters keep their centroid.
void update(const float* x, const uint8_t* labels, float* c, int64_t n, int64_t d, int64_t k) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> sums(chunks * k * (d + 1), 0.0);
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < chunks; ++t) {
    double* s = sums.data() + t * k * (d + 1);
    for (int64_t i = t * kChunk; i < std::min(n, (t + 1) * kChunk); ++i) {
      double* sl = s + labels[i] * (d + 1);
      for (int64_t e = 0; e < d; ++e) sl[e] += x[i * d + e];
      sl[d] += 1.0;
    }
  }
  for (int64_t j = 0; j < k; ++j) {
    std::vector<double> tot(d + 1, 0.0);
    for (int64_t t = 0; t < chunks; ++t)
      for (int64_t e = 0; e <= d; ++e) tot[e] += sums[(t * k + j) * (d + 1) + e];
    if (tot[d] > 0)
      for (int64_t e = 0; e < d; ++e) c[j * d + e] = static_cast<float>(tot[e] / tot[d]);
  }
}

}  // namespace

void kmeans_assign_cpu(const float* x, const float* centroids, uint8_t* labels, int64_t n,
                       int64_t d, int64_t k) {
  check(n, d, k);
  assign_all(x, centroids, labels, n, d, k);
}

int64_t kmeans_fit_cpu(const float* x, float* centroids, int64_t n, int64_t d, int64_t k,
                       int64_t iters, uint64_t seed) {
  check(n, d, k);
  if (n < k) throw std::invalid_argument("kmeans_fit: need at least k points");
  if (iters < 0) throw std::invalid_argument("kmeans_fit: iters >= 0 required");
  seed_plus_plus(x, centroids, n, d, k, seed);
  std::vector<uint8_t> labels(n), prev(n);
  int64_t it = 0;
  for (; it < iters; ++it) {
    assign_all(x, centroids, labels.data(), n, d, k);
    if (it > 0 && labels == prev) break;  // converged: the update would change nothing
    update(x, labels.data(), centroids, n, d, k);
    prev.swap(labels);
  }
  return it;
}

}  // namespace lc
