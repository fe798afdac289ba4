// k-means (k <= 256) on the CPU: k-means++ seeding and Lloyd iterations.
//
// Assignment: for d == 1 the centroids are sorted and each point finds its
// two neighbours through a bucket table (O(1) per point instead of O(k)); for
// d > 1 distances are ||c||^2 - 2 x.c with the centroids transposed so the
// inner loop runs over 8 centroids per vector FMA.
// Determinism: every sum runs over fixed chunks of points in double and the
// chunk results are added in chunk order, so the thread count never changes
// the result.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "../kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LC_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define LC_CLONES
#endif

namespace lc {
namespace {

constexpr int64_t kChunk = 8192;

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
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < chunks; ++t) assign_1d(x, S, t * kChunk, std::min(n, (t + 1) * kChunk), labels);
  } else {
    const Generic G(c, d, k);
#pragma omp parallel for schedule(static)
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

// k-means++: first centre uniform, then each next centre drawn with
// probability proportional to D^2 (distance to the nearest chosen centre).
void seed_plus_plus(const float* x, float* c, int64_t n, int64_t d, int64_t k, uint64_t seed) {
  uint64_t state = seed;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<float> d2(n);
  std::vector<double> part(chunks);
  int64_t pick = std::min<int64_t>(n - 1, static_cast<int64_t>(uniform01(state) * n));
  std::copy(x + pick * d, x + (pick + 1) * d, c);
  for (int64_t j = 0; j + 1 < k; ++j) {
    const float* cj = c + j * d;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < chunks; ++t) {
      double s = 0;
      for (int64_t i = t * kChunk; i < std::min(n, (t + 1) * kChunk); ++i) {
        const float e = sqdist(x + i * d, cj, d);
        d2[i] = j == 0 ? e : std::min(d2[i], e);
        s += d2[i];
      }
      part[t] = s;
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
#pragma omp parallel for schedule(static)
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
