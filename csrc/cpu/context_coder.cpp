// Context-model rANS coding of palette-index images (the `palette` codec).
//
// Each pixel's symbol (a palette index < nsym <= 32) is coded with a frequency
// row chosen by its context: the already-coded neighbours (W, N, NW, NE, WW, NN)
// and co-located pixels of reference planes (a learned background, the previous
// decoded frame). The model is a list of back-off levels, most specific first;
// each level names the components that make its key (key = digits in base 32)
// and holds the sorted keys it has a row for. A pixel uses the first level whose
// key is present; the last level has no components and one row, so every pixel
// finds one. Everything is integer: encoder and decoder pick the same rows on any
// machine and thread count.
//
// rANS: 32-bit state, byte-wise renormalisation, 16-bit frequencies (every row
// sums to 2^16 and every frequency is >= 1, so any symbol is codable). The
// encoder runs back to front; the decoder checks every byte read against the
// end of the data, and at the end that the state is back to its start value and
// no byte is left over, so a damaged stream is an error, never an over-read.
#include <cstring>
#include <vector>

#include "../kernels.h"

namespace lc {
namespace {

constexpr uint32_t kScaleBits = 16;
constexpr uint32_t kTotal = 1u << kScaleBits;
constexpr uint32_t kRansL = 1u << 23;
constexpr int32_t kBase = 32;     // key digit base; symbols and reference values are < 32
constexpr int32_t kOutside = 31;  // neighbour value outside the image

struct Model {
  const int32_t* level_comps;  // n_levels x max_comps, -1 = unused
  int32_t n_levels;
  int32_t max_comps;
  const int64_t* keys;         // sorted per level
  const int64_t* level_start;  // n_levels + 1 offsets into keys / rows
  const uint16_t* freqs;       // rows x nsym
  int32_t nsym;
};

// Component values of pixel (y, x): 0 W, 1 N, 2 NW, 3 NE, 4 WW, 5 NN, 6 + r ref plane r.
inline int32_t component(int32_t c, const uint8_t* img, const uint8_t* refs, int64_t h, int64_t w,
                         int64_t y, int64_t x) {
  switch (c) {
    case 0: return x > 0 ? img[y * w + x - 1] : kOutside;
    case 1: return y > 0 ? img[(y - 1) * w + x] : kOutside;
    case 2: return (y > 0 && x > 0) ? img[(y - 1) * w + x - 1] : kOutside;
    case 3: return (y > 0 && x + 1 < w) ? img[(y - 1) * w + x + 1] : kOutside;
    case 4: return x > 1 ? img[y * w + x - 2] : kOutside;
    case 5: return y > 1 ? img[(y - 2) * w + x] : kOutside;
    default: return refs[(c - 6) * h * w + y * w + x];
  }
}

// The frequency row of pixel (y, x); -1 if no level has its key (a bad model).
int64_t context_row(const Model& m, const uint8_t* img, const uint8_t* refs, int64_t h, int64_t w,
                    int64_t y, int64_t x) {
  int32_t vals[16];
  for (int32_t c = 0; c < 16; ++c) vals[c] = -1;
  for (int32_t l = 0; l < m.n_levels; ++l) {
    int64_t key = 0;
    for (int32_t j = 0; j < m.max_comps; ++j) {
      const int32_t c = m.level_comps[l * m.max_comps + j];
      if (c < 0) break;
      if (vals[c] < 0) vals[c] = component(c, img, refs, h, w, y, x);
      key = key * kBase + vals[c];
    }
    // Binary search of the level's sorted keys.
    int64_t lo = m.level_start[l], hi = m.level_start[l + 1];
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (m.keys[mid] < key) lo = mid + 1; else hi = mid;
    }
    if (lo < m.level_start[l + 1] && m.keys[lo] == key) return lo;
  }
  return -1;
}

int64_t check_model(const Model& m, int32_t nrefs, const uint8_t* refs, int64_t npix) {
  if (m.nsym < 1 || m.nsym > kOutside || m.n_levels < 1 || m.max_comps < 0 || m.max_comps > 8 ||
      nrefs < 0 || nrefs > 8)
    return kContextBadModel;
  for (int32_t l = 0; l < m.n_levels; ++l) {
    for (int32_t j = 0; j < m.max_comps; ++j) {
      const int32_t c = m.level_comps[l * m.max_comps + j];
      if (c >= 6 + nrefs || c < -1) return kContextBadModel;
    }
    if (m.level_start[l + 1] < m.level_start[l]) return kContextBadModel;
    for (int64_t i = m.level_start[l] + 1; i < m.level_start[l + 1]; ++i)
      if (m.keys[i] <= m.keys[i - 1]) return kContextBadModel;
  }
  if (m.level_start[0] != 0) return kContextBadModel;
  // The last level must be the catch-all: no components, exactly one row.
  if (m.max_comps > 0 && m.level_comps[(m.n_levels - 1) * m.max_comps] != -1) return kContextBadModel;
  if (m.level_start[m.n_levels] - m.level_start[m.n_levels - 1] != 1) return kContextBadModel;
  const int64_t rows = m.level_start[m.n_levels];
  for (int64_t r = 0; r < rows; ++r) {
    uint32_t sum = 0;
    for (int32_t s = 0; s < m.nsym; ++s) {
      if (m.freqs[r * m.nsym + s] == 0) return kContextBadModel;
      sum += m.freqs[r * m.nsym + s];
    }
    if (sum != kTotal) return kContextBadModel;
  }
  for (int64_t i = 0; i < nrefs * npix; ++i)
    if (refs[i] >= kOutside) return kContextBadSymbol;
  return 0;
}

inline uint32_t cum_freq(const uint16_t* row, int32_t s) {
  uint32_t c = 0;
  for (int32_t i = 0; i < s; ++i) c += row[i];
  return c;
}

}  // namespace

int64_t context_encode_cpu(const uint8_t* img, int64_t h, int64_t w, const uint8_t* refs, int32_t nrefs,
                           const int32_t* level_comps, int32_t n_levels, int32_t max_comps,
                           const int64_t* keys, const int64_t* level_start, const uint16_t* freqs,
                           int32_t nsym, uint8_t* out, int64_t out_cap) {
  const Model m{level_comps, n_levels, max_comps, keys, level_start, freqs, nsym};
  const int64_t npix = h * w;
  if (int64_t err = check_model(m, nrefs, refs, npix)) return err;
  for (int64_t i = 0; i < npix; ++i)
    if (img[i] >= nsym) return kContextBadSymbol;
  // Worst case: 16 bits per symbol plus the 4-byte final state.
  if (out_cap < 2 * npix + 4) return kContextOverrun;
  std::vector<int64_t> rows(npix);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t r = context_row(m, img, refs, h, w, y, x);
      if (r < 0) return kContextBadModel;
      rows[y * w + x] = r;
    }
  uint8_t* ptr = out + out_cap;  // written back to front
  uint32_t state = kRansL;
  for (int64_t i = npix - 1; i >= 0; --i) {
    const uint16_t* row = freqs + rows[i] * nsym;
    const uint32_t f = row[img[i]], start = cum_freq(row, img[i]);
    const uint32_t x_max = ((kRansL >> kScaleBits) << 8) * f;
    while (state >= x_max) {
      *--ptr = static_cast<uint8_t>(state & 0xff);
      state >>= 8;
    }
    state = ((state / f) << kScaleBits) + (state % f) + start;
  }
  ptr -= 4;  // the final state, little-endian
  for (int k = 0; k < 4; ++k) ptr[k] = static_cast<uint8_t>(state >> (8 * k));
  const int64_t n = out + out_cap - ptr;
  std::memmove(out, ptr, n);
  return n;
}

int64_t context_decode_cpu(const uint8_t* data, int64_t nbytes, int64_t h, int64_t w, const uint8_t* refs,
                           int32_t nrefs, const int32_t* level_comps, int32_t n_levels, int32_t max_comps,
                           const int64_t* keys, const int64_t* level_start, const uint16_t* freqs,
                           int32_t nsym, uint8_t* out) {
  const Model m{level_comps, n_levels, max_comps, keys, level_start, freqs, nsym};
  const int64_t npix = h * w;
  if (int64_t err = check_model(m, nrefs, refs, npix)) return err;
  if (nbytes < 4) return kContextOverrun;
  int64_t pos = 0;
  uint32_t state = 0;
  for (int k = 0; k < 4; ++k) state |= static_cast<uint32_t>(data[pos++]) << (8 * k);  // little-endian
  const uint32_t mask = kTotal - 1;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t r = context_row(m, out, refs, h, w, y, x);
      if (r < 0) return kContextBadModel;
      const uint16_t* row = freqs + r * nsym;
      const uint32_t slot = state & mask;
      int32_t s = 0;
      uint32_t start = 0;
      while (start + row[s] <= slot) start += row[s++];  // ends: the row sums to 2^16 > slot
      out[y * w + x] = static_cast<uint8_t>(s);
      state = row[s] * (state >> kScaleBits) + slot - start;
      while (state < kRansL) {
        if (pos >= nbytes) return kContextOverrun;
        state = (state << 8) | data[pos++];
      }
    }
  if (state != kRansL) return kContextCorrupt;
  if (pos != nbytes) return kContextTrailing;
  return 0;
}

}  // namespace lc
