// libjpeg's integer arithmetic for one 8x8 block or one pixel, written once
// for the CPU (jpeg_sim.cpp) and CUDA (jpeg_sim.cu) simulators.
//
// Why copy libjpeg bit for bit: a float DCT with the same tables lands within
// ~1 grey level of libjpeg, but the simulator is checked against (and used in
// place of) Pillow's real encode + decode, so we reproduce the islow integer
// DCT/IDCT (jfdctint.c / jidctint.c, CONST_BITS 13, PASS1_BITS 2), the
// reciprocal quantizer of libjpeg-turbo (jcdctmgr.c, 16-bit DCTELEM), the
// fixed-point JFIF colour conversion (jccolor.c / jdcolor.c), the 2x2
// downsampler (jcsample.c) and the "fancy" upsampler (jdsample.c).
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define LC_HD __host__ __device__ __forceinline__
#else
#define LC_HD inline
#endif

namespace lc {
namespace jpeg {

constexpr int kConstBits = 13;
constexpr int kPass1Bits = 2;
constexpr int32_t F0_298631336 = 2446;
constexpr int32_t F0_390180644 = 3196;
constexpr int32_t F0_541196100 = 4433;
constexpr int32_t F0_765366865 = 6270;
constexpr int32_t F0_899976223 = 7373;
constexpr int32_t F1_175875602 = 9633;
constexpr int32_t F1_501321110 = 12299;
constexpr int32_t F1_847759065 = 15137;
constexpr int32_t F1_961570560 = 16069;
constexpr int32_t F2_053119869 = 16819;
constexpr int32_t F2_562915447 = 20995;
constexpr int32_t F3_072711026 = 25172;

LC_HD int32_t descale(int32_t x, int n) { return (x + (1 << (n - 1))) >> n; }

// Forward islow DCT in place on 64 level-shifted samples (natural order).
// Output is 8x the orthonormal DCT-II, as libjpeg's.
LC_HD void fdct_islow(int32_t* d) {
  for (int pass = 0; pass < 2; ++pass) {
    // pass 0: rows (stride 1 inside a row, 8 between rows); pass 1: columns.
    const int step = pass == 0 ? 1 : 8, next = pass == 0 ? 8 : 1;
    for (int i = 0; i < 8; ++i) {
      int32_t* p = d + i * next;
      const int32_t tmp0 = p[0] + p[7 * step], tmp7 = p[0] - p[7 * step];
      const int32_t tmp1 = p[1 * step] + p[6 * step], tmp6 = p[1 * step] - p[6 * step];
      const int32_t tmp2 = p[2 * step] + p[5 * step], tmp5 = p[2 * step] - p[5 * step];
      const int32_t tmp3 = p[3 * step] + p[4 * step], tmp4 = p[3 * step] - p[4 * step];
      const int32_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
      const int32_t tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
      const int sh = pass == 0 ? kConstBits - kPass1Bits : kConstBits + kPass1Bits;
      if (pass == 0) {
        p[0] = (tmp10 + tmp11) * (1 << kPass1Bits);
        p[4 * step] = (tmp10 - tmp11) * (1 << kPass1Bits);
      } else {
        p[0] = descale(tmp10 + tmp11, kPass1Bits);
        p[4 * step] = descale(tmp10 - tmp11, kPass1Bits);
      }
      int32_t z1 = (tmp12 + tmp13) * F0_541196100;
      p[2 * step] = descale(z1 + tmp13 * F0_765366865, sh);
      p[6 * step] = descale(z1 - tmp12 * F1_847759065, sh);
      // odd part
      z1 = tmp4 + tmp7;
      int32_t z2 = tmp5 + tmp6, z3 = tmp4 + tmp6, z4 = tmp5 + tmp7;
      const int32_t z5 = (z3 + z4) * F1_175875602;
      const int32_t t4 = tmp4 * F0_298631336, t5 = tmp5 * F2_053119869;
      const int32_t t6 = tmp6 * F3_072711026, t7 = tmp7 * F1_501321110;
      z1 *= -F0_899976223;
      z2 *= -F2_562915447;
      z3 = z3 * -F1_961570560 + z5;
      z4 = z4 * -F0_390180644 + z5;
      p[7 * step] = descale(t4 + z1 + z3, sh);
      p[5 * step] = descale(t5 + z2 + z4, sh);
      p[3 * step] = descale(t6 + z2 + z3, sh);
      p[1 * step] = descale(t7 + z1 + z4, sh);
    }
  }
}

// libjpeg's post-IDCT range limit: value + 128 clamped to [0, 255], with the
// table's wrap-around (index & 1023) for wild values, as jdmaster.c builds it.
LC_HD uint8_t idct_range_limit(int32_t x) {
  const int32_t v = x & 1023;
  return static_cast<uint8_t>(v < 128 ? v + 128 : v < 512 ? 255 : v < 896 ? 0 : v - 896);
}

// Inverse islow DCT of 64 dequantized coefficients (natural order) into an
// 8x8 block of samples at out (row stride `stride`).
LC_HD void idct_islow(const int32_t* c, uint8_t* out, int64_t stride) {
  int32_t ws[64];
  for (int pass = 0; pass < 2; ++pass) {
    // pass 0: columns of c into ws; pass 1: rows of ws into out.
    for (int i = 0; i < 8; ++i) {
      const int32_t* in = pass == 0 ? c + i : ws + i * 8;
      const int s = pass == 0 ? 8 : 1;
      int32_t z2 = in[2 * s], z3 = in[6 * s];
      int32_t z1 = (z2 + z3) * F0_541196100;
      int32_t tmp2 = z1 - z3 * F1_847759065;
      int32_t tmp3 = z1 + z2 * F0_765366865;
      int32_t tmp0 = (in[0] + in[4 * s]) * (1 << kConstBits);
      int32_t tmp1 = (in[0] - in[4 * s]) * (1 << kConstBits);
      const int32_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
      const int32_t tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
      tmp0 = in[7 * s];
      tmp1 = in[5 * s];
      tmp2 = in[3 * s];
      tmp3 = in[1 * s];
      z1 = tmp0 + tmp3;
      z2 = tmp1 + tmp2;
      z3 = tmp0 + tmp2;
      int32_t z4 = tmp1 + tmp3;
      const int32_t z5 = (z3 + z4) * F1_175875602;
      tmp0 *= F0_298631336;
      tmp1 *= F2_053119869;
      tmp2 *= F3_072711026;
      tmp3 *= F1_501321110;
      z1 *= -F0_899976223;
      z2 *= -F2_562915447;
      z3 = z3 * -F1_961570560 + z5;
      z4 = z4 * -F0_390180644 + z5;
      tmp0 += z1 + z3;
      tmp1 += z2 + z4;
      tmp2 += z2 + z3;
      tmp3 += z1 + z4;
      const int32_t o[8] = {tmp10 + tmp3, tmp11 + tmp2, tmp12 + tmp1, tmp13 + tmp0,
                            tmp13 - tmp0, tmp12 - tmp1, tmp11 - tmp2, tmp10 - tmp3};
      if (pass == 0) {
        for (int r = 0; r < 8; ++r) ws[r * 8 + i] = descale(o[r], kConstBits - kPass1Bits);
      } else {
        uint8_t* row = out + i * stride;
        for (int r = 0; r < 8; ++r)
          row[r] = idct_range_limit(descale(o[r], kConstBits + kPass1Bits + 3));
      }
    }
  }
}

// libjpeg-turbo's quantizer (jcdctmgr.c compute_reciprocal + quantize with a
// 16-bit DCTELEM): q = sign(x) * (((|x| + corr) * recip) >> shift) with
// divisor = 8 * Q. Close to round-half-away(x / divisor) but not always equal,
// which is why it is copied rather than replaced by a division.
struct Recip {
  uint32_t recip, corr, shift;
};

LC_HD Recip make_recip(uint32_t divisor) {
  int b = 0;
  while ((divisor >> (b + 1)) != 0) ++b;  // floor(log2(divisor))
  uint32_t r = 16 + b;
  uint64_t fq = (uint64_t{1} << r) / divisor;
  const uint64_t fr = (uint64_t{1} << r) % divisor;
  uint32_t c = divisor / 2;
  if (fr == 0) {  // power of two: fq would not fit 16 bits
    fq >>= 1;
    --r;
  } else if (fr <= divisor / 2u) {
    ++c;
  } else {
    ++fq;
  }
  return Recip{static_cast<uint32_t>(fq), c, r};
}

LC_HD int32_t quantize_recip(int32_t x, const Recip& q) {
  const uint32_t a = static_cast<uint32_t>(x < 0 ? -x : x);
  const int32_t v = static_cast<int32_t>(
      (static_cast<uint64_t>((a + q.corr) & 0xFFFFu) * q.recip) >> q.shift);
  return x < 0 ? -v : v;
}

// ---- colour conversion (JFIF, 16-bit fixed point) -------------------------
constexpr int kScale = 16;
constexpr int32_t kHalf = 1 << (kScale - 1);
constexpr int32_t fix(double v) { return static_cast<int32_t>(v * 65536.0 + 0.5); }

LC_HD void rgb_to_ycc(int32_t r, int32_t g, int32_t b, int32_t& y, int32_t& cb, int32_t& cr) {
  y = (fix(0.29900) * r + fix(0.58700) * g + fix(0.11400) * b + kHalf) >> kScale;
  // 0.5 - epsilon rounding (jccolor.c) keeps the maximum at 255.
  const int32_t off = (128 << kScale) + kHalf - 1;
  cb = (-fix(0.16874) * r - fix(0.33126) * g + fix(0.50000) * b + off) >> kScale;
  cr = (fix(0.50000) * r - fix(0.41869) * g - fix(0.08131) * b + off) >> kScale;
}

LC_HD uint8_t clamp255(int32_t v) {
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

LC_HD void ycc_to_rgb(int32_t y, int32_t cb, int32_t cr, uint8_t* rgb) {
  const int32_t xb = cb - 128, xr = cr - 128;
  rgb[0] = clamp255(y + ((fix(1.40200) * xr + kHalf) >> kScale));
  rgb[1] = clamp255(y + ((-fix(0.34414) * xb + kHalf - fix(0.71414) * xr) >> kScale));
  rgb[2] = clamp255(y + ((fix(1.77200) * xb + kHalf) >> kScale));
}

// "Fancy" (triangular) h2v2 upsampling of a decoded chroma plane `c`
// (cw x ch valid samples, row stride `ld`) at full-resolution pixel (y, x):
// 3/4 nearer + 1/4 farther sample in each direction, edges replicated,
// rounding biases 8/7 alternating by column (jdsample.c h2v2_fancy_upsample).
LC_HD int32_t fancy_upsample(const uint8_t* c, int64_t ld, int64_t cw, int64_t ch,
                             int64_t y, int64_t x) {
  const int64_t cy = y >> 1, cx = x >> 1;
  int64_t ny = (y & 1) ? cy + 1 : cy - 1;
  ny = ny < 0 ? 0 : ny >= ch ? ch - 1 : ny;
  int64_t nx = (x & 1) ? cx + 1 : cx - 1;
  nx = nx < 0 ? 0 : nx >= cw ? cw - 1 : nx;
  const int32_t here = 3 * c[cy * ld + cx] + c[ny * ld + cx];
  const int32_t there = 3 * c[cy * ld + nx] + c[ny * ld + nx];
  return (3 * here + there + ((x & 1) ? 7 : 8)) >> 4;
}

}  // namespace jpeg
}  // namespace lc
