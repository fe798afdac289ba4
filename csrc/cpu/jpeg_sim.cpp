// Fused JPEG simulator on the CPU: for each image, colour conversion,
// (downsampling) and the forward DCT run once; then, for every requested
// quality, quantize + dequantize + IDCT + (upsampling) + colour conversion.
// One OpenMP task per image, with per-thread scratch planes.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "../jpeg_math.h"
#include "../kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LC_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define LC_CLONES
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
LC_CLONES void convert(const uint8_t* img, const Geometry& g, Scratch& s) {
  uint8_t* cbd = g.sub ? s.cbf.data() : s.cb.data();
  uint8_t* crd = g.sub ? s.crf.data() : s.cr.data();
  const int64_t cld = g.sub ? g.W : g.cpw;
  for (int64_t r = 0; r < g.H; ++r) {
    const uint8_t* px = img + r * g.W * 3;
    for (int64_t c = 0; c < g.W; ++c) {
      int32_t Y, Cb, Cr;
      jpeg::rgb_to_ycc(px[3 * c], px[3 * c + 1], px[3 * c + 2], Y, Cb, Cr);
      s.y[r * g.yw + c] = static_cast<uint8_t>(Y);
      cbd[r * cld + c] = static_cast<uint8_t>(Cb);
      crd[r * cld + c] = static_cast<uint8_t>(Cr);
    }
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
  for (int64_t r = 0; r < g.H; ++r) {
    uint8_t* o = out + r * g.W * 3;
    for (int64_t c = 0; c < g.W; ++c) {
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
#pragma omp parallel
  {
    Scratch s(g);
#pragma omp for schedule(dynamic)
    for (int64_t n = 0; n < N; ++n) {
      convert(images + n * frame, g, s);
      forward_plane(s.y.data(), g.yh, g.yw, s.coef.data());
      forward_plane(s.cb.data(), g.cph, g.cpw, s.coef.data() + ny);
      forward_plane(s.cr.data(), g.cph, g.cpw, s.coef.data() + ny + nc);
      for (int64_t q = 0; q < nq; ++q) {
        const Recip* rl = recips.data() + q * 128;
        const uint16_t* tl = tables + q * 128;
        inverse_plane(s.coef.data(), g.yh, g.yw, rl, tl, s.dy.data());
        inverse_plane(s.coef.data() + ny, g.cph, g.cpw, rl + 64, tl + 64, s.dcb.data());
        inverse_plane(s.coef.data() + ny + nc, g.cph, g.cpw, rl + 64, tl + 64, s.dcr.data());
        to_rgb(g, s, out + (q * N + n) * frame);
      }
    }
  }
}

}  // namespace lc
