// Fused JPEG simulator on the CPU: for each image, colour conversion,
// (downsampling) and the forward DCT run once; then, for every requested
// quality, quantize + dequantize + IDCT + (upsampling) + colour conversion.
// One OpenMP task per image, with per-thread scratch planes.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "../jpeg_math.h"
#include "../kernels.h"
#include "simd.h"

// Hand-vectorised AVX2 versions of the block steps, chosen at run time (the
// build targets generic x86-64): eight int32 lanes run libjpeg's islow
// butterflies on eight rows or columns at once. Integer arithmetic, the same
// operations as jpeg_math.h, so the same bits.
#ifdef LC_X86_AVX2
#define LC_AVX2 LC_TARGET_AVX2
#endif

namespace lc {
namespace {

using jpeg::Recip;

struct Geometry {
  int64_t H, W;
  bool sub;           // 4:2:0
  int64_t yh, yw;     // luma plane, padded to whole blocks
  int64_t cw, ch;     // chroma samples that exist (downsampled size)
  int64_t cph, cpw;   // chroma plane, padded to whole blocks
  Geometry(int64_t H_, int64_t W_, bool sub_) : H(H_), W(W_), sub(sub_) {
    yh = (H + 7) / 8 * 8;
    yw = (W + 7) / 8 * 8;
    cw = sub ? (W + 1) / 2 : W;
    ch = sub ? (H + 1) / 2 : H;
    cph = (ch + 7) / 8 * 8;
    cpw = (cw + 7) / 8 * 8;
  }
};

// Per-thread buffers: sample planes (Y, Cb, Cr; full-res chroma for 4:2:0),
// forward-DCT coefficients block by block, decoded planes.
struct Scratch {
  std::vector<uint8_t> y, cb, cr, cbf, crf;
  std::vector<int32_t> coef;  // (Y blocks + 2 * chroma blocks) x 64
  std::vector<uint8_t> dy, dcb, dcr;
  explicit Scratch(const Geometry& g) {
    y.resize(g.yh * g.yw);
    cb.resize(g.cph * g.cpw);
    cr.resize(g.cph * g.cpw);
    if (g.sub) {
      cbf.resize(g.H * g.W);
      crf.resize(g.H * g.W);
    }
    coef.resize((g.yh * g.yw + 2 * g.cph * g.cpw));
    dy.resize(y.size());
    dcb.resize(cb.size());
    dcr.resize(cr.size());
  }
};

inline int64_t clampi(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

// RGB -> Y, Cb, Cr planes with libjpeg's edge replication to whole blocks
// (4:4:4) or whole MCUs with 2x2 downsampling (4:2:0, see jcsample.c and the
// bottom-edge padding of jcprepct.c: odd rows are replicated before
// downsampling, missing chroma rows after it).
#ifdef LC_X86_AVX2
LC_AVX2 inline void transpose8(__m256i v[8]) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_castsi256_ps(v[i]);
  transpose8x8(r);
  for (int i = 0; i < 8; ++i) v[i] = _mm256_castps_si256(r[i]);
}

#define LC_ADD _mm256_add_epi32
#define LC_SUB _mm256_sub_epi32
LC_AVX2 inline __m256i mulc(__m256i a, int32_t c) { return _mm256_mullo_epi32(a, _mm256_set1_epi32(c)); }
LC_AVX2 inline __m256i descale_v(__m256i x, int n) {
  return _mm256_srai_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(1 << (n - 1))), n);
}

// One fdct_islow pass on eight independent lanes: p[i] is input i of the
// 8-point transform, replaced by output i.
template <int kPass>
LC_AVX2 inline void fdct_pass(__m256i p[8]) {
  using namespace jpeg;
  const int sh = kPass == 0 ? kConstBits - kPass1Bits : kConstBits + kPass1Bits;
  const __m256i tmp0 = LC_ADD(p[0], p[7]), tmp7 = LC_SUB(p[0], p[7]);
  const __m256i tmp1 = LC_ADD(p[1], p[6]), tmp6 = LC_SUB(p[1], p[6]);
  const __m256i tmp2 = LC_ADD(p[2], p[5]), tmp5 = LC_SUB(p[2], p[5]);
  const __m256i tmp3 = LC_ADD(p[3], p[4]), tmp4 = LC_SUB(p[3], p[4]);
  const __m256i tmp10 = LC_ADD(tmp0, tmp3), tmp13 = LC_SUB(tmp0, tmp3);
  const __m256i tmp11 = LC_ADD(tmp1, tmp2), tmp12 = LC_SUB(tmp1, tmp2);
  if (kPass == 0) {
    p[0] = _mm256_slli_epi32(LC_ADD(tmp10, tmp11), kPass1Bits);
    p[4] = _mm256_slli_epi32(LC_SUB(tmp10, tmp11), kPass1Bits);
  } else {
    p[0] = descale_v(LC_ADD(tmp10, tmp11), kPass1Bits);
    p[4] = descale_v(LC_SUB(tmp10, tmp11), kPass1Bits);
  }
  __m256i z1 = mulc(LC_ADD(tmp12, tmp13), F0_541196100);
  p[2] = descale_v(LC_ADD(z1, mulc(tmp13, F0_765366865)), sh);
  p[6] = descale_v(LC_SUB(z1, mulc(tmp12, F1_847759065)), sh);
  z1 = LC_ADD(tmp4, tmp7);
  __m256i z2 = LC_ADD(tmp5, tmp6), z3 = LC_ADD(tmp4, tmp6), z4 = LC_ADD(tmp5, tmp7);
  const __m256i z5 = mulc(LC_ADD(z3, z4), F1_175875602);
  const __m256i t4 = mulc(tmp4, F0_298631336), t5 = mulc(tmp5, F2_053119869);
  const __m256i t6 = mulc(tmp6, F3_072711026), t7 = mulc(tmp7, F1_501321110);
  z1 = mulc(z1, -F0_899976223);
  z2 = mulc(z2, -F2_562915447);
  z3 = LC_ADD(mulc(z3, -F1_961570560), z5);
  z4 = LC_ADD(mulc(z4, -F0_390180644), z5);
  p[7] = descale_v(LC_ADD(LC_ADD(t4, z1), z3), sh);
  p[5] = descale_v(LC_ADD(LC_ADD(t5, z2), z4), sh);
  p[3] = descale_v(LC_ADD(LC_ADD(t6, z2), z3), sh);
  p[1] = descale_v(LC_ADD(LC_ADD(t7, z1), z4), sh);
}

// One idct_islow pass on eight lanes; o[r] gets output r (not yet descaled).
LC_AVX2 inline void idct_pass(const __m256i in[8], __m256i o[8]) {
  using namespace jpeg;
  __m256i z2 = in[2], z3 = in[6];
  __m256i z1 = mulc(LC_ADD(z2, z3), F0_541196100);
  __m256i tmp2 = LC_SUB(z1, mulc(z3, F1_847759065));
  __m256i tmp3 = LC_ADD(z1, mulc(z2, F0_765366865));
  __m256i tmp0 = _mm256_slli_epi32(LC_ADD(in[0], in[4]), kConstBits);
  __m256i tmp1 = _mm256_slli_epi32(LC_SUB(in[0], in[4]), kConstBits);
  const __m256i tmp10 = LC_ADD(tmp0, tmp3), tmp13 = LC_SUB(tmp0, tmp3);
  const __m256i tmp11 = LC_ADD(tmp1, tmp2), tmp12 = LC_SUB(tmp1, tmp2);
  tmp0 = in[7];
  tmp1 = in[5];
  tmp2 = in[3];
  tmp3 = in[1];
  z1 = LC_ADD(tmp0, tmp3);
  z2 = LC_ADD(tmp1, tmp2);
  z3 = LC_ADD(tmp0, tmp2);
  __m256i z4 = LC_ADD(tmp1, tmp3);
  const __m256i z5 = mulc(LC_ADD(z3, z4), F1_175875602);
  tmp0 = mulc(tmp0, F0_298631336);
  tmp1 = mulc(tmp1, F2_053119869);
  tmp2 = mulc(tmp2, F3_072711026);
  tmp3 = mulc(tmp3, F1_501321110);
  z1 = mulc(z1, -F0_899976223);
  z2 = mulc(z2, -F2_562915447);
  z3 = LC_ADD(mulc(z3, -F1_961570560), z5);
  z4 = LC_ADD(mulc(z4, -F0_390180644), z5);
  tmp0 = LC_ADD(tmp0, LC_ADD(z1, z3));
  tmp1 = LC_ADD(tmp1, LC_ADD(z2, z4));
  tmp2 = LC_ADD(tmp2, LC_ADD(z2, z3));
  tmp3 = LC_ADD(tmp3, LC_ADD(z1, z4));
  o[0] = LC_ADD(tmp10, tmp3);
  o[7] = LC_SUB(tmp10, tmp3);
  o[1] = LC_ADD(tmp11, tmp2);
  o[6] = LC_SUB(tmp11, tmp2);
  o[2] = LC_ADD(tmp12, tmp1);
  o[5] = LC_SUB(tmp12, tmp1);
  o[3] = LC_ADD(tmp13, tmp0);
  o[4] = LC_SUB(tmp13, tmp0);
}

// forward_plane: rows of the block loaded as vectors (lanes = columns),
// transposed for the row pass, transposed back for the column pass.
LC_AVX2 void forward_plane_avx2(const uint8_t* p, int64_t h, int64_t w, int32_t* coef) {
  const __m256i c128 = _mm256_set1_epi32(128);
  for (int64_t by = 0; by < h; by += 8)
    for (int64_t bx = 0; bx < w; bx += 8, coef += 64) {
      __m256i v[8];
      for (int r = 0; r < 8; ++r)
        v[r] = _mm256_sub_epi32(
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + (by + r) * w + bx))),
            c128);
      transpose8(v);  // v[c] = column c (lanes = rows)
      fdct_pass<0>(v);  // v[k] = row coefficient k of each row
      transpose8(v);  // v[r] = row r
      fdct_pass<1>(v);  // v[u] = coefficient row u
      for (int u = 0; u < 8; ++u) _mm256_storeu_si256(reinterpret_cast<__m256i*>(coef + 8 * u), v[u]);
    }
}

// inverse_plane: quantize (libjpeg-turbo reciprocals: the product of a
// 16-bit value and a 16-bit reciprocal fits 32 unsigned bits), dequantize,
// column pass on the coefficient rows, transpose, row pass, transpose back,
// range limit, 8 bytes per output row.
LC_AVX2 void inverse_plane_avx2(const int32_t* coef, int64_t h, int64_t w, const Recip* rq,
                                const uint16_t* qt, uint8_t* out) {
  __m256i recip[8], corr[8], shift[8], qv[8];
  for (int u = 0; u < 8; ++u) {
    alignas(32) int32_t a[8], b[8], c[8], d[8];
    for (int v = 0; v < 8; ++v) {
      a[v] = static_cast<int32_t>(rq[u * 8 + v].recip);
      b[v] = static_cast<int32_t>(rq[u * 8 + v].corr);
      c[v] = static_cast<int32_t>(rq[u * 8 + v].shift);
      d[v] = qt[u * 8 + v];
    }
    recip[u] = _mm256_load_si256(reinterpret_cast<const __m256i*>(a));
    corr[u] = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
    shift[u] = _mm256_load_si256(reinterpret_cast<const __m256i*>(c));
    qv[u] = _mm256_load_si256(reinterpret_cast<const __m256i*>(d));
  }
  const __m256i m16 = _mm256_set1_epi32(0xFFFF), m1023 = _mm256_set1_epi32(1023);
  const __m256i k128 = _mm256_set1_epi32(128), k512 = _mm256_set1_epi32(512);
  const __m256i k896 = _mm256_set1_epi32(896), k255 = _mm256_set1_epi32(255);
  for (int64_t by = 0; by < h; by += 8)
    for (int64_t bx = 0; bx < w; bx += 8, coef += 64) {
      __m256i v[8], o[8];
      for (int u = 0; u < 8; ++u) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(coef + 8 * u));
        const __m256i a = _mm256_and_si256(_mm256_add_epi32(_mm256_abs_epi32(x), corr[u]), m16);
        const __m256i q = _mm256_srlv_epi32(_mm256_mullo_epi32(a, recip[u]), shift[u]);
        v[u] = _mm256_mullo_epi32(_mm256_sign_epi32(q, x), qv[u]);  // sign(x) * q * Q
      }
      idct_pass(v, o);  // columns: o[r] = row r of the workspace
      for (int r = 0; r < 8; ++r) o[r] = descale_v(o[r], jpeg::kConstBits - jpeg::kPass1Bits);
      transpose8(o);  // o[k] = workspace column k (lanes = rows)
      idct_pass(o, v);  // v[c] = output column c
      transpose8(v);  // v[r] = output row r
      for (int r = 0; r < 8; ++r) {
        const __m256i x = _mm256_and_si256(
            descale_v(v[r], jpeg::kConstBits + jpeg::kPass1Bits + 3), m1023);
        // idct_range_limit: x < 128 -> x + 128; < 512 -> 255; < 896 -> 0; else x - 896
        __m256i y = _mm256_sub_epi32(x, k896);
        y = _mm256_andnot_si256(_mm256_cmpgt_epi32(k896, x), y);
        y = _mm256_blendv_epi8(y, k255, _mm256_cmpgt_epi32(k512, x));
        y = _mm256_blendv_epi8(y, _mm256_add_epi32(x, k128), _mm256_cmpgt_epi32(k128, x));
        const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + (by + r) * w + bx), _mm_packus_epi16(w16, w16));
      }
    }
}
#undef LC_ADD
#undef LC_SUB
#endif

// Pixels [c0, W) of image row r -> Y, Cb, Cr samples.
LC_CLONES void colour_row(const uint8_t* img, const Geometry& g, Scratch& s, int64_t r, int64_t c0) {
  uint8_t* cbd = g.sub ? s.cbf.data() : s.cb.data();
  uint8_t* crd = g.sub ? s.crf.data() : s.cr.data();
  const int64_t cld = g.sub ? g.W : g.cpw;
  const uint8_t* px = img + r * g.W * 3;
  for (int64_t c = c0; c < g.W; ++c) {
    int32_t Y, Cb, Cr;
    jpeg::rgb_to_ycc(px[3 * c], px[3 * c + 1], px[3 * c + 2], Y, Cb, Cr);
    s.y[r * g.yw + c] = static_cast<uint8_t>(Y);
    cbd[r * cld + c] = static_cast<uint8_t>(Cb);
    crd[r * cld + c] = static_cast<uint8_t>(Cr);
  }
}

#ifdef LC_X86_AVX2
bool have_avx2() {
  static const bool v = __builtin_cpu_supports("avx2");
  return v;
}

// Byte shuffles between 8 interleaved RGB pixels (24 bytes: a 16-byte and an
// 8-byte part) and planar R, G, B: kDe* gather one channel from each part,
// kIl* build each part of the interleaved output from [R0..R7 G0..G7] and
// [B0..B7].
struct RgbMasks {
  alignas(16) int8_t deA[3][16], deB[3][16], ilRG[2][16], ilB[2][16];
  RgbMasks() {
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 16; ++p) {
        const int src = 3 * p + ch;
        deA[ch][p] = (p < 8 && src < 16) ? static_cast<int8_t>(src) : -128;
        deB[ch][p] = (p < 8 && src >= 16) ? static_cast<int8_t>(src - 16) : -128;
      }
    for (int part = 0; part < 2; ++part)
      for (int m = 0; m < 16; ++m) {
        const int o = 16 * part + m, px = o / 3, ch = o % 3;
        const bool ok = o < 24;
        ilRG[part][m] = ok && ch == 0 ? static_cast<int8_t>(px) : ok && ch == 1 ? static_cast<int8_t>(8 + px) : -128;
        ilB[part][m] = ok && ch == 2 ? static_cast<int8_t>(px) : -128;
      }
  }
};
const RgbMasks& rgb_masks() {
  static const RgbMasks m;
  return m;
}

LC_AVX2 inline __m256i ld8(const uint8_t* p) {  // 8 bytes -> 8 int32
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
LC_AVX2 inline __m128i pack16(__m256i v) {  // 8 int32 -> 8 uint16, saturated
  return _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}
LC_AVX2 inline __m128i pack8(__m256i v) {  // 8 int32 in [0, 255] -> 8 bytes
  const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_packus_epi16(w, w);
}

// colour_row for 8 pixels at a time (jpeg::rgb_to_ycc on int32 lanes).
LC_AVX2 void colour_row_avx2(const uint8_t* img, const Geometry& g, Scratch& s, int64_t r) {
  using jpeg::fix;
  uint8_t* cbd = g.sub ? s.cbf.data() : s.cb.data();
  uint8_t* crd = g.sub ? s.crf.data() : s.cr.data();
  const int64_t cld = g.sub ? g.W : g.cpw;
  const uint8_t* px = img + r * g.W * 3;
  const RgbMasks& M = rgb_masks();
  const __m128i* deA = reinterpret_cast<const __m128i*>(M.deA);
  const __m128i* deB = reinterpret_cast<const __m128i*>(M.deB);
  const __m256i half = _mm256_set1_epi32(jpeg::kHalf);
  const __m256i off = _mm256_set1_epi32((128 << jpeg::kScale) + jpeg::kHalf - 1);
  int64_t c = 0;
  for (; c + 8 <= g.W; c += 8) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(px + 3 * c));
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(px + 3 * c + 16));
    __m256i ch[3];
    for (int k = 0; k < 3; ++k)
      ch[k] = _mm256_cvtepu8_epi32(_mm_or_si128(_mm_shuffle_epi8(a, _mm_load_si128(deA + k)),
                                                _mm_shuffle_epi8(b, _mm_load_si128(deB + k))));
    const __m256i R = ch[0], G = ch[1], B = ch[2];
    const __m256i Y = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_add_epi32(mulc(R, fix(0.29900)), mulc(G, fix(0.58700))),
                         _mm256_add_epi32(mulc(B, fix(0.11400)), half)), jpeg::kScale);
    const __m256i Cb = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_add_epi32(mulc(R, -fix(0.16874)), mulc(G, -fix(0.33126))),
                         _mm256_add_epi32(mulc(B, fix(0.50000)), off)), jpeg::kScale);
    const __m256i Cr = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_add_epi32(mulc(R, fix(0.50000)), mulc(G, -fix(0.41869))),
                         _mm256_add_epi32(mulc(B, -fix(0.08131)), off)), jpeg::kScale);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(s.y.data() + r * g.yw + c), pack8(Y));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(cbd + r * cld + c), pack8(Cb));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(crd + r * cld + c), pack8(Cr));
  }
  colour_row(img, g, s, r, c);
}

// to_rgb (4:4:4) for 8 pixels at a time (jpeg::ycc_to_rgb on int32 lanes;
// clamp255 is the saturation of the two unsigned packs, values being within
// [-300, 600]).
LC_AVX2 void to_rgb_row_avx2(const Geometry& g, const Scratch& s, uint8_t* out, int64_t r, int64_t& c) {
  using jpeg::fix;
  const RgbMasks& M = rgb_masks();
  const __m128i* ilRG = reinterpret_cast<const __m128i*>(M.ilRG);
  const __m128i* ilB = reinterpret_cast<const __m128i*>(M.ilB);
  const __m256i half = _mm256_set1_epi32(jpeg::kHalf), k128 = _mm256_set1_epi32(128);
  uint8_t* o = out + r * g.W * 3;
  for (c = 0; c + 8 <= g.W; c += 8) {
    const __m256i y = ld8(s.dy.data() + r * g.yw + c);
    const __m256i xb = _mm256_sub_epi32(ld8(s.dcb.data() + r * g.cpw + c), k128);
    const __m256i xr = _mm256_sub_epi32(ld8(s.dcr.data() + r * g.cpw + c), k128);
    const __m256i R = _mm256_add_epi32(
        y, _mm256_srai_epi32(_mm256_add_epi32(mulc(xr, fix(1.40200)), half), jpeg::kScale));
    const __m256i G = _mm256_add_epi32(
        y, _mm256_srai_epi32(_mm256_sub_epi32(_mm256_add_epi32(mulc(xb, -fix(0.34414)), half),
                                              mulc(xr, fix(0.71414))), jpeg::kScale));
    const __m256i B = _mm256_add_epi32(
        y, _mm256_srai_epi32(_mm256_add_epi32(mulc(xb, fix(1.77200)), half), jpeg::kScale));
    const __m128i rg = _mm_packus_epi16(pack16(R), pack16(G));
    const __m128i bb = _mm_packus_epi16(pack16(B), pack16(B));
    const __m128i p0 = _mm_or_si128(_mm_shuffle_epi8(rg, _mm_load_si128(ilRG)), _mm_shuffle_epi8(bb, _mm_load_si128(ilB)));
    const __m128i p1 = _mm_or_si128(_mm_shuffle_epi8(rg, _mm_load_si128(ilRG + 1)),
                                    _mm_shuffle_epi8(bb, _mm_load_si128(ilB + 1)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 3 * c), p0);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 3 * c + 16), p1);
  }
}
#endif

LC_CLONES void convert(const uint8_t* img, const Geometry& g, Scratch& s) {
#ifdef LC_X86_AVX2
  const bool avx2 = have_avx2();
#endif
  for (int64_t r = 0; r < g.H; ++r) {
#ifdef LC_X86_AVX2
    if (avx2) {
      colour_row_avx2(img, g, s, r);
      continue;
    }
#endif
    colour_row(img, g, s, r, 0);
  }
  // Replicate the right column, then the bottom row, of each padded plane.
  auto pad = [](uint8_t* p, int64_t ld, int64_t h, int64_t w, int64_t ph, int64_t pw) {
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = w; c < pw; ++c) p[r * ld + c] = p[r * ld + w - 1];
    for (int64_t r = h; r < ph; ++r) std::copy(p + (h - 1) * ld, p + (h - 1) * ld + pw, p + r * ld);
  };
  pad(s.y.data(), g.yw, g.H, g.W, g.yh, g.yw);
  if (!g.sub) {
    pad(s.cb.data(), g.cpw, g.H, g.W, g.cph, g.cpw);
    pad(s.cr.data(), g.cpw, g.H, g.W, g.cph, g.cpw);
    return;
  }
  for (int k = 0; k < 2; ++k) {
    const uint8_t* f = k == 0 ? s.cbf.data() : s.crf.data();
    uint8_t* o = k == 0 ? s.cb.data() : s.cr.data();
    for (int64_t cy = 0; cy < g.ch; ++cy) {
      const uint8_t* r0 = f + (2 * cy) * g.W;
      const uint8_t* r1 = f + clampi(2 * cy + 1, g.H - 1) * g.W;
      for (int64_t cx = 0; cx < g.cpw; ++cx) {  // right edge replicated in full res
        const int64_t x0 = clampi(2 * cx, g.W - 1), x1 = clampi(2 * cx + 1, g.W - 1);
        const int32_t bias = (cx & 1) ? 2 : 1;
        o[cy * g.cpw + cx] = static_cast<uint8_t>((r0[x0] + r0[x1] + r1[x0] + r1[x1] + bias) >> 2);
      }
    }
    for (int64_t r = g.ch; r < g.cph; ++r)
      std::copy(o + (g.ch - 1) * g.cpw, o + g.ch * g.cpw, o + r * g.cpw);
  }
}

// Forward islow DCT of every block of a plane into consecutive 64-blocks.
LC_CLONES void forward_plane(const uint8_t* p, int64_t h, int64_t w, int32_t* coef) {
  for (int64_t by = 0; by < h; by += 8)
    for (int64_t bx = 0; bx < w; bx += 8, coef += 64) {
      for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) coef[r * 8 + c] = int32_t(p[(by + r) * w + bx + c]) - 128;
      jpeg::fdct_islow(coef);
    }
}

// Quantize with libjpeg-turbo's reciprocals, dequantize, inverse DCT.
LC_CLONES void inverse_plane(const int32_t* coef, int64_t h, int64_t w, const Recip* rq,
                             const uint16_t* qt, uint8_t* out) {
  for (int64_t by = 0; by < h; by += 8)
    for (int64_t bx = 0; bx < w; bx += 8, coef += 64) {
      int32_t deq[64];
      for (int i = 0; i < 64; ++i) deq[i] = jpeg::quantize_recip(coef[i], rq[i]) * int32_t(qt[i]);
      jpeg::idct_islow(deq, out + by * w + bx, w);
    }
}


LC_CLONES void to_rgb(const Geometry& g, const Scratch& s, uint8_t* out) {
#ifdef LC_X86_AVX2
  const bool avx2 = !g.sub && have_avx2();
#endif
  for (int64_t r = 0; r < g.H; ++r) {
    uint8_t* o = out + r * g.W * 3;
    int64_t c0 = 0;
#ifdef LC_X86_AVX2
    if (avx2) to_rgb_row_avx2(g, s, out, r, c0);
#endif
    for (int64_t c = c0; c < g.W; ++c) {
      int32_t cb, cr;
      if (g.sub) {
        cb = jpeg::fancy_upsample(s.dcb.data(), g.cpw, g.cw, g.ch, r, c);
        cr = jpeg::fancy_upsample(s.dcr.data(), g.cpw, g.cw, g.ch, r, c);
      } else {
        cb = s.dcb[r * g.cpw + c];
        cr = s.dcr[r * g.cpw + c];
      }
      jpeg::ycc_to_rgb(s.dy[r * g.yw + c], cb, cr, o + 3 * c);
    }
  }
}

}  // namespace

void jpeg_simulate_cpu(const uint8_t* images, uint8_t* out, int64_t N, int64_t H, int64_t W,
                       const uint16_t* tables, int64_t nq, bool subsample420) {
  if (N < 0 || H < 1 || W < 1 || nq < 1)
    throw std::invalid_argument("jpeg_simulate: N >= 0, H, W >= 1 and at least one quality required");
  for (int64_t i = 0; i < nq * 128; ++i)
    if (tables[i] < 1 || tables[i] > 255)
      throw std::invalid_argument("jpeg_simulate: quantization table entries must be in [1, 255]");
  const Geometry g(H, W, subsample420);
  // Reciprocals of the divisors 8 * Q (islow output is scaled by 8).
  std::vector<Recip> recips(nq * 128);
  for (int64_t i = 0; i < nq * 128; ++i) recips[i] = jpeg::make_recip(8u * tables[i]);
  const int64_t ny = g.yh * g.yw, nc = g.cph * g.cpw, frame = H * W * 3;
  void (*fwd)(const uint8_t*, int64_t, int64_t, int32_t*) = forward_plane;
  void (*inv)(const int32_t*, int64_t, int64_t, const Recip*, const uint16_t*, uint8_t*) = inverse_plane;
#ifdef LC_X86_AVX2
  if (have_avx2()) {
    fwd = forward_plane_avx2;
    inv = inverse_plane_avx2;
  }
#endif
#pragma omp parallel
  {
    Scratch s(g);
#pragma omp for schedule(dynamic)
    for (int64_t n = 0; n < N; ++n) {
      convert(images + n * frame, g, s);
      fwd(s.y.data(), g.yh, g.yw, s.coef.data());
      fwd(s.cb.data(), g.cph, g.cpw, s.coef.data() + ny);
      fwd(s.cr.data(), g.cph, g.cpw, s.coef.data() + ny + nc);
      for (int64_t q = 0; q < nq; ++q) {
        const Recip* rl = recips.data() + q * 128;
        const uint16_t* tl = tables + q * 128;
        inv(s.coef.data(), g.yh, g.yw, rl, tl, s.dy.data());
        inv(s.coef.data() + ny, g.cph, g.cpw, rl + 64, tl + 64, s.dcb.data());
        inv(s.coef.data() + ny + nc, g.cph, g.cpw, rl + 64, tl + 64, s.dcr.data());
        to_rgb(g, s, out + (q * N + n) * frame);
      }
    }
  }
}

}  // namespace lc
