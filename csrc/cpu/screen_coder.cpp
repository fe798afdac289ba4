// Adaptive context-mixing coding of palette screens (the generic `screen` model).
//
// A screen is an h x w image of palette indices (< ncol <= 255) in the frame's own
// palette, so nothing here depends on which colours a game uses. Each pixel is
// coded as a few binary decisions: "is it the same as candidate j?", the
// candidates being the distinct values of its causal neighbours (video: first the
// co-located pixel of the previous screen and of a background kept from the
// stream itself; image mode: the pixel one period to the left, see row_period), in
// a fixed order; a pixel equal to none of them (an escape) is coded as its index, bit
// by bit. Each decision's probability mixes five adaptive models (logistic mixing, as
// in the PAQ family of compressors):
//   t1  structure: the candidate's rank, which neighbours it equals, which
//       neighbours equal each other, which changed since the previous screen
//       (colour-blind: it carries across games). It starts from the fitted part of
//       the generic model and adapts within the frame or GOP; the entries a frame
//       touches live in a small overlay, so a frame never copies the whole table;
//   t2  colours: the candidate's value with W and N (learned within the frame/GOP);
//   t3  rows: the candidate's rank and neighbours with the row (screens have bands);
//   t4  patterns: a hash of the whole causal neighbourhood, which learns a sprite or a
//       brick the first time it is drawn and predicts its later copies;
//   t5  place: the candidate's rank and equalities with x mod 8 and the length of the
//       run it would continue (playfield pixels are 4 wide: edges fall on a grid).
// Whole rows are flags first: same as the reference row, or (image mode) a copy of
// an earlier distinct row (RowDictionary).
// Everything is integer (counters, stretch/squash tables, mixer), so every machine
// decodes the same screen. The binary arithmetic coder is a carry-less range coder
// (32-bit range, 12-bit probabilities); its always-zero first byte and trailing zero
// bytes are not stored (the decoder reads zeros past the end). A damaged stream
// decodes to some screen (the container's CRC finds the damage); it never reads out
// of bounds, never loops, and an index >= ncol is an error.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../kernels.h"

namespace lc {
namespace {

constexpr int kOut = 255;           // neighbour value outside the image (indices are < 255)
constexpr int kBits1 = kScreenTable1Bits;  // structural: rank 3 + equals 8 + pattern 6 + changed 3 bits
// Sizes (log2) of the hashed tables t2..t5 and of the t1 overlay (3/4 of it usable),
// by mode: a GOP (video) learns across its screens and keeps big tables; an image-mode
// screen is coded alone (its tables are reset for every screen, ~10-20k decisions), so
// small ones lose almost nothing (measured: < 0.5 % on held-out stills) and stay in
// the cache: resetting the big ones was ~17 % of an image-mode decode.
struct TableBits {
  int t2, t3, t4, t5, overlay;
};
constexpr TableBits kVideoBits{16, 16, 17, 16, 16};
constexpr TableBits kImageBits{15, 15, 16, 15, 15};
constexpr int kRowBits = 12;       // row / segment flags: (kind, y or neighbours' flags)
constexpr int kEscBits = 16;        // escape tree: node (8 bits) x W (8 bits)
constexpr int kTables = 5;
constexpr int kInputs = kScreenMixInputs;  // t1..t5 and a bias
static_assert(kInputs == kTables + 1, "one mixer input per table and a bias");
constexpr int kMaxCands = 11;
constexpr int kMatchBits = 16;
constexpr int kSegment = 16;      // video: pixels per "same as the previous screen" segment

// squash(d) = 4096 / (1 + e^(-d/256)) at d = -2048, -1920, ..., 2048; interpolated between.
constexpr int kSquash[33] = {1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
                             2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090,
                             4092, 4094, 4095};

inline int squash(int d) {
  if (d > 2047) d = 2047;
  if (d < -2047) d = -2047;
  const int w = d & 127, i = (d >> 7) + 16;
  return (kSquash[i] * (128 - w) + kSquash[i + 1] * w + 64) >> 7;
}

struct Tables {
  int16_t stretch[4096];
  int32_t rate[1024];  // 2^14 / (n + 1.5): a counter seen n times moves by 1 / (n + 1.5)
  Tables() {
    int pi = 0;
    for (int x = -2047; x <= 2047; ++x) {
      const int v = squash(x);
      for (int p = pi; p <= v; ++p) stretch[p] = static_cast<int16_t>(x);
      pi = v + 1;
    }
    for (int p = pi; p < 4096; ++p) stretch[p] = 2047;
    for (int n = 0; n < 1024; ++n) rate[n] = 32768 / (2 * n + 3);
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}

// A counter: probability of a 1 in the top 22 bits, times seen in the low 10.
inline int p12(uint32_t c) { return static_cast<int>(c >> 20); }
inline void update(uint32_t& c, int bit, int limit) {
  const int n = static_cast<int>(c & 1023);
  int64_t p = c >> 10;
  p += ((static_cast<int64_t>(bit) << 22) - p) * tables().rate[n] >> 14;
  p = std::min<int64_t>(std::max<int64_t>(p, 0), (1 << 22) - 1);
  c = static_cast<uint32_t>(p << 10) | static_cast<uint32_t>(std::min(n + 1, limit));
}

inline uint32_t mixhash(uint32_t a, uint32_t b) {
  uint32_t h = (a + 0x9E3779B9u) * 0x85EBCA6Bu;
  h ^= (h >> 15) ^ (b * 0xC2B2AE35u);
  return h * 0x27D4EB2Fu ^ (h >> 13);
}

class Encoder {
 public:
  explicit Encoder(std::vector<uint8_t>* out) : out_(out) {}
  int code(int bit, int p1) {
    const uint32_t bound = (range_ >> 12) * static_cast<uint32_t>(p1);
    if (bit) {
      range_ = bound;
    } else {
      low_ += bound;
      range_ -= bound;
    }
    while (range_ < (1u << 24)) {
      range_ <<= 8;
      shift_low();
    }
    return bit;
  }
  void finish() {
    for (int i = 0; i < 5; ++i) shift_low();
    // The first byte is always 0 (low starts at 0 and never carries into it), and
    // the decoder reads zeros past the end: neither needs storing.
    out_->erase(out_->begin());
    while (!out_->empty() && out_->back() == 0) out_->pop_back();
  }

 private:
  void shift_low() {
    if (static_cast<uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
      const uint8_t carry = static_cast<uint8_t>(low_ >> 32);
      uint8_t byte = cache_;
      do {
        out_->push_back(static_cast<uint8_t>(byte + carry));
        byte = 0xFF;
      } while (--pending_ != 0);
      cache_ = static_cast<uint8_t>(low_ >> 24);
    }
    ++pending_;
    low_ = (low_ & 0x00FFFFFFu) << 8;
  }
  std::vector<uint8_t>* out_;
  uint64_t low_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  uint8_t cache_ = 0;
  uint64_t pending_ = 1;
};

class Decoder {
 public:
  Decoder(const uint8_t* data, int64_t n) : data_(data), n_(n) {
    for (int i = 0; i < 4; ++i) code_ = (code_ << 8) | next();
  }
  int code(int /*bit*/, int p1) {
    const uint32_t bound = (range_ >> 12) * static_cast<uint32_t>(p1);
    int bit;
    if (code_ < bound) {
      range_ = bound;
      bit = 1;
    } else {
      code_ -= bound;
      range_ -= bound;
      bit = 0;
    }
    while (range_ < (1u << 24)) {
      range_ <<= 8;
      code_ = (code_ << 8) | next();
    }
    return bit;
  }

 private:
  uint32_t next() { return pos_ < n_ ? data_[pos_++] : 0u; }
  const uint8_t* data_;
  int64_t n_, pos_ = 0;
  uint32_t range_ = 0xFFFFFFFFu, code_ = 0;
};

struct Model {
  const int32_t* init_mix;
  std::vector<uint32_t> fit1;  // fitting only: the structural table being learned, in full
  const uint32_t* init1;       // the model's structural table (read only)
  bool fitting;
  const TableBits bits;  // (before the tables: their sizes)
  bool fresh = true;     // made and not used yet: the first reset has nothing to do
  std::vector<uint32_t> over_key, over_val;  // open-addressing overlay of adapted t1 entries
  int64_t over_used = 0;
  uint32_t scratch = 0;        // a t1 entry when the overlay is full: read, updates dropped
  std::vector<uint32_t> t2, t3, t4, t5, esc, rows;
  std::vector<int32_t> mix;
  Model(const uint32_t* init1_, const int32_t* init_mix_, bool fitting_, bool video)
      : init_mix(init_mix_), fit1(fitting_ ? init1_ : nullptr, fitting_ ? init1_ + (size_t{1} << kBits1) : nullptr),
        init1(init1_), fitting(fitting_), bits(video ? kVideoBits : kImageBits),
        over_key(size_t{1} << bits.overlay, 0xFFFFFFFFu), over_val(size_t{1} << bits.overlay, 0),
        t2(size_t{1} << bits.t2, 1u << 31), t3(size_t{1} << bits.t3, 1u << 31), t4(size_t{1} << bits.t4, 1u << 31),
        t5(size_t{1} << bits.t5, 1u << 31), esc(size_t{1} << kEscBits, 1u << 31), rows(size_t{1} << kRowBits, 1u << 31),
        mix(init_mix_, init_mix_ + kScreenMixSets * kInputs) {}
  uint32_t* t1(uint32_t ctx) {  // the adaptable t1 entry of a context
    if (fitting) return &fit1[ctx];
    const uint32_t mask = (1u << bits.overlay) - 1;
    for (uint32_t slot = (ctx * 2654435761u) >> (32 - bits.overlay);; slot = (slot + 1) & mask) {
      if (over_key[slot] == ctx) return &over_val[slot];
      if (over_key[slot] == 0xFFFFFFFFu) {
        if (4 * (over_used + 1) > 3 * static_cast<int64_t>(over_key.size())) {
          scratch = init1[ctx];
          return &scratch;
        }
        ++over_used;
        over_key[slot] = ctx;
        over_val[slot] = init1[ctx];
        return &over_val[slot];
      }
    }
  }
  void reset_fitted() {  // back to the starting (fitted) mixer: each image-mode frame
    std::copy(init_mix, init_mix + mix.size(), mix.begin());
  }
  void reset_frame_tables() {  // what a frame (image mode) or a GOP learns from scratch
    if (fresh) {  // just made: nothing to reset
      fresh = false;
      return;
    }
    std::fill(rows.begin(), rows.end(), 1u << 31);
    if (!fitting && over_used != 0) {
      std::fill(over_key.begin(), over_key.end(), 0xFFFFFFFFu);
      over_used = 0;
    }
    std::fill(t2.begin(), t2.end(), 1u << 31);
    std::fill(t3.begin(), t3.end(), 1u << 31);
    std::fill(t4.begin(), t4.end(), 1u << 31);
    std::fill(t5.begin(), t5.end(), 1u << 31);
    std::fill(esc.begin(), esc.end(), 1u << 31);
  }
};

// Mixer learning rates: image mode adapts faster (a frame is all it has to learn from;
// measured: 6 -> 16 saved 2-5 % on held-out stills), video mode as fitted before.
constexpr int kMixRateImage = 16, kMixRateVideo = 6;

// One binary decision: predict, code (encoder: `bit`; decoder: returns it), learn.
template <class Coder>
inline int decide(Coder& coder, Model& m, int bit, const uint32_t ctx[kTables], int set, bool video) {
  const Tables& T = tables();
  uint32_t* c[kTables] = {m.t1(ctx[0]), &m.t2[ctx[1]], &m.t3[ctx[2]], &m.t4[ctx[3]], &m.t5[ctx[4]]};
  int st[kInputs];
  for (int i = 0; i < kTables; ++i) st[i] = T.stretch[p12(*c[i])];
  st[kTables] = 256;
  int32_t* w = &m.mix[set * kInputs];
  int64_t dot = 0;
  for (int i = 0; i < kInputs; ++i) dot += static_cast<int64_t>(w[i]) * st[i];
  const int p = std::min(4095, std::max(1, squash(static_cast<int>(dot >> 16))));
  bit = coder.code(bit, p);
  const int err = ((bit << 12) - p) * (video ? kMixRateVideo : kMixRateImage);
  for (int i = 0; i < kInputs; ++i) w[i] += (st[i] * err + 0x8000) >> 16;
  update(*c[0], bit, 1023);
  update(*c[1], bit, 60);
  update(*c[2], bit, 250);
  update(*c[3], bit, 60);
  update(*c[4], bit, 250);
  return bit;
}

// A flag coded with one adaptive counter (row, segment and row-copy flags).
template <class Coder>
inline int flag(Coder& coder, Model& m, int bit, uint32_t ctx) {
  uint32_t& c = m.rows[ctx & ((1u << kRowBits) - 1)];
  bit = coder.code(bit, std::min(4095, std::max(1, p12(c))));
  update(c, bit, 255);
  return bit;
}

// Row-flag contexts (m.rows), by kind. Video: kVideoRow | flag before << 10 | y, and
// kSegmentCtx | neighbours' segment flags.
constexpr uint32_t kImageRow = 0;       // | the two row flags before
constexpr uint32_t kCopyFlag = 96;      // | the two row flags before
constexpr uint32_t kCopyUnary = 128;    // + j: "is it the j-th most recent row?" (j < kCopyUnaryLen)
constexpr uint32_t kCopyTree = 256;     // + binary-tree node: the rest of the index
constexpr int kCopyUnaryLen = 4;
constexpr uint32_t kSegmentCtx = 4u << 8;
constexpr uint32_t kVideoRow = 1u << 11;

inline uint32_t run_bucket(int r) { return r < 2 ? r : r < 4 ? 2 : r < 8 ? 3 : r < 16 ? 4 : 5; }

// The row's horizontal period, from the row above: the offset at which its pixels
// other than the row's most common value (the background) most often repeat. It
// finds the spacing of repeated sprites, bricks and dots (invaders: 16 pixels), whose
// later copies the candidate X = row[x - period] then predicts. A row above with no
// such pixels, or too many (> kPeriodPixels: a busy row, where the pairs cost too
// much), keeps the period found before.
constexpr int kPeriodPixels = 64;
inline int row_period(const uint8_t* up, int64_t w, int32_t ncol, int before) {
  int counts[256] = {0};
  for (int64_t x = 0; x < w; ++x) ++counts[up[x]];
  int bgv = 0;
  for (int v = 1; v < ncol; ++v)
    if (counts[v] > counts[bgv]) bgv = v;
  int pos[kPeriodPixels], k = 0;
  for (int64_t x = 0; x < w; ++x) {
    if (up[x] == bgv) continue;
    if (k == kPeriodPixels) return before;
    pos[k++] = static_cast<int>(x);
  }
  if (k < 2) return before;
  const int maxd = static_cast<int>(std::min<int64_t>(w / 2, 255));
  int hist[256] = {0};
  for (int i = 0; i < k; ++i)
    for (int j = i + 1; j < k && pos[j] - pos[i] <= maxd; ++j)
      if (up[pos[i]] == up[pos[j]]) ++hist[pos[j] - pos[i]];
  int best = 0;
  for (int d = 2; d <= maxd; ++d)
    if (hist[d] > hist[best]) best = d;
  return hist[best] >= 2 ? best : before;
}

// Image mode's row dictionary: the distinct rows coded so far (rows of one colour
// left out: the pixel coder makes those cheap), most recently used first. A row that
// is an exact copy of one of them is one flag and its place in the list.
class RowDictionary {
 public:
  RowDictionary(const uint8_t* img, int64_t w) : img_(img), w_(w) {}
  int size() const { return static_cast<int>(rows_.size()); }
  const uint8_t* row(int j) const { return img_ + rows_[j] * w_; }
  int find(const uint8_t* r) const {  // place of an equal row, or -1
    const uint32_t h = hash(r);
    for (int j = 0; j < size(); ++j)
      if (hashes_[j] == h && std::memcmp(row(j), r, w_) == 0) return j;
    return -1;
  }
  void use(int j) {  // row j was copied: it moves to the front
    std::rotate(rows_.begin(), rows_.begin() + j, rows_.begin() + j + 1);
    std::rotate(hashes_.begin(), hashes_.begin() + j, hashes_.begin() + j + 1);
  }
  void add(int64_t y) {  // row y is coded: to the front (once)
    const uint8_t* r = img_ + y * w_;
    bool uniform = true;
    for (int64_t x = 1; x < w_ && uniform; ++x) uniform = r[x] == r[0];
    if (uniform) return;
    const int j = find(r);
    if (j >= 0) {
      use(j);
      return;
    }
    rows_.insert(rows_.begin(), y);
    hashes_.insert(hashes_.begin(), hash(r));
  }

 private:
  uint32_t hash(const uint8_t* r) const {
    uint32_t h = 2166136261u;
    for (int64_t x = 0; x < w_; ++x) h = (h ^ r[x]) * 16777619u;
    return h;
  }
  const uint8_t* img_;
  int64_t w_;
  std::vector<int64_t> rows_;
  std::vector<uint32_t> hashes_;
};

// Codes a row that copies a dictionary row: "is it a copy?" and, if so, which
// (unary over the first kCopyUnaryLen places, then a binary tree). Returns 1 when
// the row was a copy (decoder: filled in), 0 when not, kScreenBadIndex on a place
// past the list (damaged data).
template <class Coder>
int64_t code_row_copy(Coder& coder, Model& m, RowDictionary& dict, uint8_t* row, int64_t w, int hist) {
  constexpr bool kDecoding = std::is_same<Coder, Decoder>::value;
  const int n = dict.size();
  if (n == 0) return 0;
  const int found = kDecoding ? -1 : dict.find(row);
  if (!flag(coder, m, found >= 0, kCopyFlag | (hist & 3))) return 0;
  int j = 0;
  for (; j < kCopyUnaryLen && j < n - 1; ++j)
    if (flag(coder, m, found == j, kCopyUnary + j)) break;
  if (j == n - 1 || j == kCopyUnaryLen) {  // not among the first places
    if (n - 1 > kCopyUnaryLen) {
      const int rest = n - kCopyUnaryLen;  // places kCopyUnaryLen .. n - 1
      int nbits = 0;
      while ((1 << nbits) < rest) ++nbits;
      int node = 1;
      for (int b = nbits - 1; b >= 0; --b)
        node = node << 1 | flag(coder, m, kDecoding ? 0 : ((found - kCopyUnaryLen) >> b) & 1,
                                kCopyTree + static_cast<uint32_t>(node & 255));
      j = kCopyUnaryLen + node - (1 << nbits);
      if (j >= n) return kScreenBadIndex;
    }
  }
  if (kDecoding) std::memcpy(row, dict.row(j), w);
  dict.use(j);
  return 1;
}

// Codes (or, with Decoder, decodes into img) one screen. prev/bg: the previous screen
// and the stream's background (video), or null. Returns 0 or kScreenBadIndex.
// A row equal to its reference (image: the row above; video: the previous screen's
// row) is one flag; in image mode so is a row equal to an earlier one (the row
// dictionary: flag + place), in video mode each kSegment-pixel segment equal to the
// previous screen. Only the other pixels are coded one by one.
template <class Coder>
int64_t code_screen(Coder& coder, Model& m, uint8_t* img, const uint8_t* prev, const uint8_t* bg, int64_t h,
                    int64_t w, int32_t ncol) {
  constexpr bool kDecoding = std::is_same<Coder, Decoder>::value;
  int nbits = 0;
  while ((1 << nbits) < ncol) ++nbits;
  const bool video = prev != nullptr;
  const int64_t half = w / 2;  // Atari playfields repeat or mirror their left half
  int last_row_flag = 0, row_flags = 0;
  std::vector<uint8_t> seg_above((w + kSegment - 1) / kSegment + 1, 0), seg_now(seg_above.size(), 0);
  RowDictionary dict(img, w);
  // Match model: the last earlier pixel whose causal neighbourhood was the same as
  // this one's; while its successors keep predicting right, the match runs on (a
  // repeated sprite, brick or maze segment, at any offset).
  std::vector<int32_t> last_seen(size_t{1} << kMatchBits, -1);
  int64_t match = -1;
  int match_len = 0;
  // Period model (image mode): X = row[x - period]; x_run counts its hits in a row on
  // pixels where it says something (X is not both W and N).
  int period = 0, x_run = 0;
  for (int64_t y = 0; y < h; ++y) {
    uint8_t* row = img + y * w;
    const uint8_t* up = y > 0 ? row - w : nullptr;
    const uint8_t* up2 = y > 1 ? row - 2 * w : nullptr;
    const uint8_t* ref_row = video ? prev + y * w : up;
    if (!video && up) {
      // The period of a row equal to the one above it is the one found for that row.
      if (!last_row_flag) period = row_period(up, w, ncol, period);
      dict.add(y - 1);
    }
    if (ref_row) {
      const int same = kDecoding ? 0 : std::memcmp(row, ref_row, w) == 0;
      const uint32_t ctx = video ? (kVideoRow | last_row_flag << 10 | static_cast<uint32_t>(std::min<int64_t>(y, 1023)))
                                 : (kImageRow | static_cast<uint32_t>(row_flags & 3));
      last_row_flag = flag(coder, m, same, ctx);
      row_flags = (row_flags << 1 | last_row_flag) & 255;
      if (last_row_flag) {
        if (kDecoding) std::memcpy(row, ref_row, w);
        std::fill(seg_above.begin(), seg_above.end(), 1);
        continue;
      }
      if (!video) {
        const int64_t copied = code_row_copy(coder, m, dict, row, w, row_flags);
        if (copied < 0) return copied;
        if (copied) continue;
      }
    }
    int w_run = 0;  // pixels in a row of W's value, up to W
    for (int64_t x = 0; x < w; ++x) {
      const int64_t i = y * w + x;
      if (video && x % kSegment == 0) {
        const int64_t s = x / kSegment, len = std::min<int64_t>(kSegment, w - x);
        const int same = kDecoding ? 0 : std::memcmp(row + x, prev + i, len) == 0;
        const uint32_t ctx = kSegmentCtx | seg_above[s] << 2 | (s > 0 ? seg_now[s - 1] : 1) << 1 | seg_above[s + 1];
        seg_now[s] = static_cast<uint8_t>(flag(coder, m, same, ctx));
        if (seg_now[s]) {
          if (kDecoding) std::memcpy(row + x, prev + i, len);
          x += len - 1;
          w_run = 0;
          continue;
        }
      }
      w_run = x == 0 ? 0 : (x > 1 && row[x - 1] == row[x - 2]) ? w_run + 1 : 1;
      const int W = x > 0 ? row[x - 1] : kOut, WW = x > 1 ? row[x - 2] : kOut;
      const int N = up ? up[x] : kOut, NN = up2 ? up2[x] : kOut;
      const int NW = (up && x > 0) ? up[x - 1] : kOut, NE = (up && x + 1 < w) ? up[x + 1] : kOut;
      const int NNE = (up2 && x + 1 < w) ? up2[x + 1] : kOut;
      const int R = x >= half ? row[x - half] : kOut, M = x >= half ? row[w - 1 - x] : kOut;
      const int X = (!video && period > 0 && x >= period) ? row[x - period] : kOut;
      const int P = video ? prev[i] : kOut, B = video ? bg[i] : kOut;
      const int PW = (video && x > 0) ? prev[i - 1] : kOut, PN = (video && y > 0) ? prev[i - w] : kOut;
      const int PE = (video && x + 1 < w) ? prev[i + 1] : kOut;
      const uint32_t key = mixhash(W | NW << 8 | N << 16 | NE << 24, WW | NN << 8 | NNE << 16) >> (32 - kMatchBits);
      if (match >= 0 && match_len > 0) {
        ++match;
      } else {
        match = last_seen[key];
        match_len = 0;
      }
      last_seen[key] = static_cast<int32_t>(i);
      const int MV = match >= 0 ? img[match] : kOut;
      const uint32_t len_bucket = match < 0 ? 0 : match_len == 0 ? 1 : match_len < 8 ? 2 : match_len < 32 ? 3 : 4;
      const uint32_t pattern = (W == N) | (N == NW) << 1 | (N == NE) << 2 | (W == NW) << 3 |
                               (W == WW) << 4 | (N == NN) << 5;
      // X goes first when it has been right lately, or when the period held for the
      // neighbourhood above (the second copy of a sprite, before x_run builds up).
      const bool period_above = X != kOut && up && x >= period + 1 && x + 1 < w && N == up[x - period] &&
                                NW == up[x - 1 - period] && NE == up[x + 1 - period] && W == row[x - 1 - period];
      const bool x_first = X != kOut && (x_run >= 2 || period_above);
      const uint32_t changed = video ? ((W == PW) | (N == PN) << 1 | (P == B) << 2)
                                     : (std::min<uint32_t>(len_bucket, 3) | static_cast<uint32_t>(x_first) << 2);
      const int order_video[kMaxCands] = {P, W, N, B, MV, NE, NW, M, R, WW, NN};
      const int order_image[kMaxCands] = {W, N, MV, X, NE, NW, M, R, WW, NN, NNE};
      const int order_x_first[kMaxCands] = {X, W, N, MV, NE, NW, M, R, WW, NN, NNE};
      const int* order = video ? order_video : x_first ? order_x_first : order_image;
      int cands[kMaxCands], ncands = 0;
      uint64_t seen[4] = {0, 0, 0, 0};  // values already among the candidates (bit per value)
      for (int k = 0; k < kMaxCands; ++k) {
        const int v = order[k];
        const uint64_t bit = uint64_t{1} << (v & 63);
        if (v == kOut || (seen[v >> 6] & bit)) continue;
        seen[v >> 6] |= bit;
        cands[ncands++] = v;
      }
      const uint32_t hood = mixhash(mixhash(W | N << 8 | NW << 16 | NE << 24, WW | NN << 8 | NNE << 16 | R << 24),
                                    video ? (P | B << 8 | PE << 16 | 1u << 24) : static_cast<uint32_t>(M));
      const int actual = kDecoding ? -1 : row[x];
      const uint32_t where = static_cast<uint32_t>(x & 7) << 16 | run_bucket(w_run) << 19;
      int value = -1;
      for (int j = 0; j < ncands && value < 0; ++j) {
        const int v = cands[j];
        const uint32_t rank = static_cast<uint32_t>(std::min(j, 7));
        // Image mode has no P or B: their bits say whether v is the match's or the period's value.
        const uint32_t eq = (v == W) | (v == N) << 1 | (v == NE) << 2 | (v == NW) << 3 |
                            (video ? (v == P) << 4 | (v == B) << 5 : (v == MV) << 4 | (v == X) << 5) |
                            (v == R) << 6 | (v == M) << 7;
        uint32_t ctx[kTables];
        ctx[0] = ((rank << 8 | eq) << 6 | pattern) << 3 | changed;
        ctx[1] = mixhash(rank | v << 8, W | N << 8 | (video ? P : 0) << 16) >> (32 - m.bits.t2);
        ctx[2] = mixhash(static_cast<uint32_t>(y) << 8 | rank | static_cast<uint32_t>(x & 3) << 20,
                         eq | pattern << 8 | changed << 14) >> (32 - m.bits.t3);
        ctx[3] = mixhash(hood, rank | (v == MV) << 4 | std::min<uint32_t>(len_bucket, 3) << 5 |
                                   (v == X) << 7 | static_cast<uint32_t>(x_first) << 8) >> (32 - m.bits.t4);
        ctx[4] = mixhash(rank | eq << 3 | where, pattern) >> (32 - m.bits.t5);
        const int set = static_cast<int>(rank) << 2 | (W == N) << 1 | (video ? (P == W) : (v == M || v == R));
        if (decide(coder, m, actual == v, ctx, set, video)) value = v;
      }
      if (value < 0) {  // escape: the index, most significant bit first
        int node = 1;
        for (int b = nbits - 1; b >= 0; --b) {
          uint32_t& c = m.esc[(static_cast<uint32_t>(node) << 8 | static_cast<uint32_t>(W)) & ((1u << kEscBits) - 1)];
          const int p = std::min(4095, std::max(1, p12(c)));
          const int bit = coder.code(kDecoding ? 0 : (actual >> b) & 1, p);
          update(c, bit, 30);
          node = node << 1 | bit;
        }
        value = node - (1 << nbits);
        if (value >= ncol) return kScreenBadIndex;
      }
      if (kDecoding) row[x] = static_cast<uint8_t>(value);
      if (match >= 0) match_len = value == MV ? std::min(match_len + 1, 65535) : 0;
      if (X != kOut && !(X == W && X == N)) x_run = value == X ? std::min(x_run + 1, 1000) : 0;
    }
    if (video) std::swap(seg_above, seg_now);
  }
  return 0;
}

// The stream's background (video): a pixel's value once it has stayed the same for
// kSettle screens; sprites pass over it and it is what they uncover.
constexpr int kSettle = 3;
void update_background(const uint8_t* cur, const uint8_t* prev, uint8_t* bg, uint8_t* run, int64_t npix) {
  for (int64_t i = 0; i < npix; ++i) {
    run[i] = cur[i] == prev[i] ? static_cast<uint8_t>(std::min(255, run[i] + 1)) : 0;
    if (run[i] >= kSettle) bg[i] = cur[i];
  }
}

// carry (fitting): image-mode frames keep the structural state of the one before.
template <class Run>
int64_t run_sequence(int64_t n, int64_t h, int64_t w, bool video, bool carry, uint8_t* screens, Model& m,
                     Run&& code_one) {
  const int64_t npix = h * w;
  std::vector<uint8_t> bg, run;
  for (int64_t t = 0; t < n; ++t) {
    uint8_t* cur = screens + t * npix;
    const bool predicted = video && t > 0;
    if (!video) {
      if (!carry) m.reset_fitted();
      m.reset_frame_tables();
    }
    if (int64_t err = code_one(t, cur, predicted ? cur - npix : nullptr, predicted ? bg.data() : nullptr)) return err;
    if (video) {
      if (t == 0) {
        bg.assign(cur, cur + npix);
        run.assign(npix, 0);
      } else {
        update_background(cur, cur - npix, bg.data(), run.data(), npix);
      }
    }
  }
  return 0;
}

int64_t check_args(int64_t n, int64_t h, int64_t w, int32_t ncol) {
  if (n < 0 || h < 1 || w < 1 || ncol < 1 || ncol > 255) return kScreenBadArgs;
  return 0;
}

}  // namespace

int64_t screen_encode_cpu(const uint8_t* screens, int64_t n, int64_t h, int64_t w, int32_t ncol, bool video,
                          const uint32_t* init1, const int32_t* init_mix, uint8_t* out, int64_t out_cap,
                          int64_t* sizes, uint32_t* fit1, int32_t* fit_mix) {
  if (int64_t err = check_args(n, h, w, ncol)) return err;
  const int64_t npix = h * w;
  for (int64_t i = 0; i < n * npix; ++i)
    if (screens[i] >= ncol) return kScreenBadIndex;
  Model m(init1, init_mix, fit1 != nullptr, video);
  std::vector<uint8_t> copy(screens, screens + n * npix), bytes;
  int64_t total = 0;
  const int64_t err = run_sequence(n, h, w, video, fit1 != nullptr, copy.data(), m,
                                   [&](int64_t t, uint8_t* cur, const uint8_t* prev, const uint8_t* bg) -> int64_t {
    bytes.clear();
    Encoder enc(&bytes);
    if (int64_t e = code_screen(enc, m, cur, prev, bg, h, w, ncol)) return e;
    enc.finish();
    sizes[t] = static_cast<int64_t>(bytes.size());
    if (total + sizes[t] <= out_cap) std::memcpy(out + total, bytes.data(), bytes.size());
    total += sizes[t];
    return 0;
  });
  if (err) return err;
  if (fit1) std::memcpy(fit1, m.fit1.data(), m.fit1.size() * sizeof(uint32_t));
  if (fit_mix) std::memcpy(fit_mix, m.mix.data(), m.mix.size() * sizeof(int32_t));
  return total <= out_cap ? total : kScreenOverrun;
}

int64_t screen_decode_cpu(const uint8_t* data, const int64_t* sizes, int64_t n, int64_t h, int64_t w,
                          int32_t ncol, bool video, const uint32_t* init1, const int32_t* init_mix, uint8_t* out) {
  if (int64_t err = check_args(n, h, w, ncol)) return err;
  Model m(init1, init_mix, false, video);
  int64_t offset = 0;
  return run_sequence(n, h, w, video, false, out, m,
                      [&](int64_t t, uint8_t* cur, const uint8_t* prev, const uint8_t* bg) -> int64_t {
    if (sizes[t] < 0) return kScreenBadArgs;
    Decoder dec(data + offset, sizes[t]);
    offset += sizes[t];
    return code_screen(dec, m, cur, prev, bg, h, w, ncol);
  });
}

}  // namespace lc
