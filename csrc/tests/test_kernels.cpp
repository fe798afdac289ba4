// Native tests of the CPU kernels, run by ctest (no Python, no torch).
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "../kernels.h"

static int failures = 0;
#define EXPECT(cond, ...)                        \
  do {                                           \
    if (!(cond)) {                               \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);         \
      std::fprintf(stderr, "\n");                \
      ++failures;                                \
    }                                            \
  } while (0)

static void test_dct_round_trip() {
  const int64_t planes = 3, H = 16, W = 24;
  std::vector<float> x(planes * H * W), X(x.size()), back(x.size());
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.f, 255.f);
  for (auto& v : x) v = u(rng);
  lc::block_dct_cpu(x.data(), X.data(), planes, H, W, false);
  lc::block_dct_cpu(X.data(), back.data(), planes, H, W, true);
  double err = 0;
  for (size_t i = 0; i < x.size(); ++i) err = std::fmax(err, std::fabs(x[i] - back[i]));
  EXPECT(err < 1e-3, "DCT round trip max error %g", err);
}

static void test_dct_constant_block() {
  // A constant block has only a DC coefficient, equal to 8 * value (orthonormal).
  std::vector<float> x(64, 10.f), X(64);
  lc::block_dct_cpu(x.data(), X.data(), 1, 8, 8, false);
  EXPECT(std::fabs(X[0] - 80.f) < 1e-4, "DC %g != 80", X[0]);
  for (int i = 1; i < 64; ++i) EXPECT(std::fabs(X[i]) < 1e-4, "AC[%d] = %g", i, X[i]);
}

static void test_dct_energy() {
  // Orthonormal transform preserves the sum of squares (Parseval).
  std::vector<float> x(64), X(64);
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.f, 50.f);
  double e0 = 0, e1 = 0;
  for (auto& v : x) { v = n(rng); e0 += v * v; }
  lc::block_dct_cpu(x.data(), X.data(), 1, 8, 8, false);
  for (float v : X) e1 += v * v;
  EXPECT(std::fabs(e0 - e1) / e0 < 1e-5, "energy %g vs %g", e0, e1);
}

static void test_dct_rejects_bad_size() {
  std::vector<float> x(100);
  bool threw = false;
  try { lc::block_dct_cpu(x.data(), x.data(), 1, 10, 10, false); } catch (const std::exception&) { threw = true; }
  EXPECT(threw, "H=10 was accepted");
}

int main() {
  test_dct_round_trip();
  test_dct_constant_block();
  test_dct_energy();
  test_dct_rejects_bad_size();
  if (failures) { std::fprintf(stderr, "%d failure(s)\n", failures); return 1; }
  std::printf("all native kernel tests passed\n");
  return 0;
}
