// Native tests of the CPU kernels, run by ctest (no Python, no torch).
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "../kernels.h"
#include "../jpeg_math.h"

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

static void test_quantize_round_half_away() {
  std::vector<float> X(64, 0.f), t(64, 2.f), back(64);
  std::vector<int16_t> q(64);
  X[0] = 1.f; X[1] = -1.f; X[2] = 3.f; X[3] = -5.f; X[4] = 2.9f; X[5] = 1e9f;
  lc::quantize_cpu(X.data(), q.data(), t.data(), 1, 1, 8, 8);
  EXPECT(q[0] == 1 && q[1] == -1 && q[2] == 2 && q[3] == -3 && q[4] == 1 && q[5] == 32767,
         "quantize got %d %d %d %d %d %d", q[0], q[1], q[2], q[3], q[4], q[5]);
  lc::dequantize_cpu(q.data(), back.data(), t.data(), 1, 1, 8, 8);
  EXPECT(back[2] == 4.f && back[3] == -6.f, "dequantize got %g %g", back[2], back[3]);
}

static void test_dct_quantize_fused() {
  const int64_t H = 16, W = 24;
  std::vector<float> x(H * W), X(H * W), t(64);
  std::vector<int16_t> q1(H * W), q2(H * W);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.f, 255.f);
  for (auto& v : x) v = u(rng);
  for (int i = 0; i < 64; ++i) t[i] = 3.f + i;
  lc::block_dct_cpu(x.data(), X.data(), 1, H, W, false);
  lc::quantize_cpu(X.data(), q1.data(), t.data(), 1, 1, H, W);
  lc::dct_quantize_cpu(x.data(), q2.data(), t.data(), 1, 1, H, W);
  int diff = 0;
  for (size_t i = 0; i < q1.size(); ++i) diff = std::max(diff, std::abs(q1[i] - q2[i]));
  EXPECT(diff <= 1, "fused DCT+quantize differs by %d", diff);
}

static void test_islow_round_trip() {
  // A flat block: islow DCT gives DC = 8 * 64 * (v - 128) / 8 and the IDCT
  // of the dequantized coefficients gives the block back.
  int32_t d[64];
  for (int i = 0; i < 64; ++i) d[i] = 200 - 128;
  lc::jpeg::fdct_islow(d);
  EXPECT(d[0] == 64 * 72, "islow DC %d", d[0]);
  int32_t deq[64] = {0};
  deq[0] = d[0] / 8;  // quantization table of ones
  uint8_t out[64];
  lc::jpeg::idct_islow(deq, out, 8);
  for (int i = 0; i < 64; ++i) EXPECT(out[i] == 200, "idct[%d] = %d", i, out[i]);
}

static void test_jpeg_simulate_high_quality() {
  // Quality 100 (all-ones tables) on a smooth image: within a few grey levels.
  const int64_t N = 2, H = 19, W = 13;
  std::vector<uint8_t> img(N * H * W * 3), out(img.size());
  for (int64_t i = 0; i < N * H * W; ++i)
    for (int c = 0; c < 3; ++c) img[i * 3 + c] = static_cast<uint8_t>(40 + (i % W) * 5 + c * 20);
  std::vector<uint16_t> tables(128, 1);
  for (bool sub : {false, true}) {
    lc::jpeg_simulate_cpu(img.data(), out.data(), N, H, W, tables.data(), 1, sub);
    int worst = 0;
    for (size_t i = 0; i < img.size(); ++i) worst = std::max(worst, std::abs(int(img[i]) - int(out[i])));
    EXPECT(worst <= (sub ? 12 : 3), "jpeg_simulate q100 (420=%d) max error %d", int(sub), worst);
  }
}

static void test_latent_quantize() {
  std::vector<float> z = {0.f, 0.5f / 255.f, 1.f, 0.25f}, back(4);
  std::vector<uint8_t> codes(4);
  lc::latent_quantize_cpu(z.data(), codes.data(), nullptr, nullptr, 1, 1, 4, true);
  EXPECT(codes[0] == 0 && codes[1] == 0 && codes[2] == 255 && codes[3] == 64, "naive codes %d %d %d %d",
         codes[0], codes[1], codes[2], codes[3]);
  const float scale = 0.1f, zp = 10.f;
  std::vector<float> za = {-1.f, 0.f, 2.f, 100.f};
  lc::latent_quantize_cpu(za.data(), codes.data(), &scale, &zp, 1, 1, 4, false);
  EXPECT(codes[0] == 0 && codes[1] == 10 && codes[2] == 30 && codes[3] == 255, "affine codes");
  lc::latent_dequantize_cpu(codes.data(), back.data(), &scale, &zp, 1, 1, 4, false);
  EXPECT(std::fabs(back[2] - 2.f) < 1e-6f, "affine dequantize %g", back[2]);
}

static void test_kmeans_separated() {
  // Three tight 2-D clusters: every point gets its cluster's label.
  const int64_t n = 300, d = 2, k = 3;
  std::vector<float> x(n * d), c(k * d);
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.f, 0.1f);
  for (int64_t i = 0; i < n; ++i) {
    x[i * d] = 10.f * (i % 3) + g(rng);
    x[i * d + 1] = -5.f * (i % 3) + g(rng);
  }
  lc::kmeans_fit_cpu(x.data(), c.data(), n, d, k, 20, 1);
  std::vector<uint8_t> labels(n);
  lc::kmeans_assign_cpu(x.data(), c.data(), labels.data(), n, d, k);
  bool consistent = true;
  for (int64_t i = 3; i < n; ++i) consistent &= labels[i] == labels[i % 3];
  EXPECT(consistent && labels[0] != labels[1] && labels[1] != labels[2] && labels[0] != labels[2],
         "k-means labels do not follow the clusters");
  std::vector<float> c2(k * d);
  lc::kmeans_fit_cpu(x.data(), c2.data(), n, d, k, 20, 1);
  EXPECT(c == c2, "same seed gave different centroids");
}

// A two-level model (context W, then the catch-all) codes an image and decodes it
// back; a truncated stream and a flipped byte are refused, never over-read.
static void test_context_coder_round_trip() {
  const int64_t h = 9, w = 13;
  const int32_t nsym = 3;
  std::vector<uint8_t> img(h * w);
  for (int64_t i = 0; i < h * w; ++i) img[i] = static_cast<uint8_t>((i / 5) % nsym);
  const int32_t comps[] = {0, -1};                  // level 0: W; level 1: none
  const int64_t keys[] = {0, 1, 2, 31, 0};          // W = 0, 1, 2, outside; catch-all
  const int64_t start[] = {0, 4, 5};
  std::vector<uint16_t> freqs;
  for (int r = 0; r < 5; ++r)
    for (int s = 0; s < nsym; ++s) freqs.push_back(r < 3 && s == r ? 65536 - 2 * 300 : 300);
  for (int s = 0; s < nsym; ++s) freqs[3 * nsym + s] = s == 0 ? 65536 - 2 * 300 : 300;
  freqs[4 * nsym + 0] = 21846; freqs[4 * nsym + 1] = 21845; freqs[4 * nsym + 2] = 21845;
  std::vector<uint8_t> out(2 * h * w + 4);
  const int64_t n = lc::context_encode_cpu(img.data(), h, w, nullptr, 0, comps, 2, 1, keys, start,
                                           freqs.data(), nsym, out.data(), out.size());
  EXPECT(n > 4 && n < h * w / 2, "context_encode returned %lld bytes", static_cast<long long>(n));
  std::vector<uint8_t> back(h * w, 0);
  EXPECT(lc::context_decode_cpu(out.data(), n, h, w, nullptr, 0, comps, 2, 1, keys, start, freqs.data(),
                                nsym, back.data()) == 0 && back == img, "context round trip differs");
  EXPECT(lc::context_decode_cpu(out.data(), n - 1, h, w, nullptr, 0, comps, 2, 1, keys, start,
                                freqs.data(), nsym, back.data()) < 0, "truncated stream accepted");
  out[n / 2] ^= 0x10;
  const int64_t st = lc::context_decode_cpu(out.data(), n, h, w, nullptr, 0, comps, 2, 1, keys, start,
                                            freqs.data(), nsym, back.data());
  EXPECT(st < 0 || back != img, "a flipped byte decoded to the original image");
}

// A 2-tap average (weights 1/2, 1/2 at 8 bits) of a two-colour screen, resampled and
// inverted: resample_rows by hand, resample_invert finds a screen that resamples back.
static void test_resample_round_trip() {
  const int64_t h_in = 8, h_out = 7, w = 3;
  std::vector<int64_t> wt(h_out * h_in, 0);
  for (int64_t o = 0; o < h_out; ++o) wt[o * h_in + o] = wt[o * h_in + o + 1] = 128;
  const uint8_t pal[6] = {10, 20, 30, 200, 100, 50};
  std::vector<uint8_t> screen(h_in * w * 3);
  for (int64_t r = 0; r < h_in; ++r)
    for (int64_t x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) screen[(r * w + x) * 3 + c] = pal[((r / 3 + x) % 2) * 3 + c];
  std::vector<uint8_t> frame(h_out * w * 3);
  EXPECT(lc::resample_rows_cpu(screen.data(), 1, h_in, w * 3, wt.data(), h_out, 8, frame.data()) == 1,
         "resample_rows refused good arguments");
  const int v = (10 + 200 + 1) / 2;  // rows 2|3 of column 0: colours 0 then 1, rounded half up
  EXPECT(frame[(2 * w) * 3] == v, "resample_rows: got %d, expected %d", frame[(2 * w) * 3], v);
  std::vector<int32_t> out(h_in * w);
  uint8_t ok = 0;
  EXPECT(lc::resample_invert_cpu(frame.data(), 1, h_out, w, wt.data(), h_in, 8, pal, 2, nullptr, 4096,
                                 nullptr, nullptr, out.data(), &ok) == 1 && ok == 1, "resample_invert failed");
  std::vector<uint8_t> mask(w, 1);
  std::vector<int32_t> copied(h_in * w, 0);
  EXPECT(lc::resample_invert_cpu(frame.data(), 1, h_out, w, wt.data(), h_in, 8, pal, 2, nullptr, 4096,
                                 out.data(), mask.data(), copied.data(), &ok) == 1 && copied == out,
         "known columns were not taken as given");
  std::vector<uint8_t> rgb(h_in * w * 3), again(h_out * w * 3);
  for (int64_t i = 0; i < h_in * w; ++i)
    for (int c = 0; c < 3; ++c) rgb[i * 3 + c] = static_cast<uint8_t>(out[i] >> (16 - 8 * c));
  lc::resample_rows_cpu(rgb.data(), 1, h_in, w * 3, wt.data(), h_out, 8, again.data());
  EXPECT(again == frame, "the inverted screen does not resample back to the frame");
  std::vector<int64_t> bad(h_out * h_in, 0);
  EXPECT(lc::resample_rows_cpu(screen.data(), 1, h_in, w * 3, wt.data(), h_out, 31, frame.data()) < 0,
         "precision 31 accepted");
  EXPECT(lc::resample_invert_cpu(frame.data(), 1, h_out, w, bad.data(), h_in, 8, pal, 2, nullptr, 4096,
                                 nullptr, nullptr, out.data(), &ok) < 0, "weights without taps accepted");
}

int main() {
  test_dct_round_trip();
  test_dct_constant_block();
  test_dct_energy();
  test_dct_rejects_bad_size();
  test_quantize_round_half_away();
  test_dct_quantize_fused();
  test_islow_round_trip();
  test_jpeg_simulate_high_quality();
  test_latent_quantize();
  test_kmeans_separated();
  test_context_coder_round_trip();
  test_resample_round_trip();
  if (failures) { std::fprintf(stderr, "%d failure(s)\n", failures); return 1; }
  std::printf("all native kernel tests passed\n");
  return 0;
}
