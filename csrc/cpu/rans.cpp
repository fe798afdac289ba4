// Bounds-checked decoder for the rANS strings of CompressAI's entropy coder
// (compressai.ans: 64-bit rANS state, 32-bit words, 16-bit CDF precision, 4-bit
// bypass chunks for values outside a CDF's range). It decodes exactly what
// CompressAI's RansDecoder::decode_with_indexes decodes from a valid string; on a
// damaged or crafted one it stops with an error code instead of reading past the
// string's end or looping on a bypass length chosen by the data. See kernels.h.
#include <cstring>

#include "../kernels.h"

namespace lc {
namespace {

constexpr int kPrecision = 16;          // CDF precision (bits)
constexpr uint32_t kBypassBits = 4;     // bypass chunk size
constexpr uint32_t kMaxBypassVal = 15;  // (1 << kBypassBits) - 1
constexpr uint64_t kRansL = 1ull << 31; // lower bound of the normalised state
// A raw bypass value is an int32 (< 2^32): 8 chunks of 4 bits at most, and the
// encoder writes the chunk count in one 4-bit chunk when it is < 15.
constexpr int32_t kMaxBypassChunks = 8;

struct WordReader {
  const uint8_t* data;
  int64_t words;
  int64_t pos = 0;
  bool read(uint32_t* w) {
    if (pos >= words) return false;
    std::memcpy(w, data + 4 * pos, 4);  // little-endian hosts, as compressai.ans
    ++pos;
    return true;
  }
};

// One renormalisation: at most one word per call, as Rans64DecAdvance/GetBits.
inline bool renorm(uint64_t* x, WordReader* in) {
  if (*x < kRansL) {
    uint32_t w;
    if (!in->read(&w)) return false;
    *x = (*x << 32) | w;
  }
  return true;
}

inline bool get_bits(uint64_t* x, WordReader* in, uint32_t* val) {
  *val = static_cast<uint32_t>(*x & ((1u << kBypassBits) - 1));
  *x >>= kBypassBits;
  return renorm(x, in);
}

}  // namespace

int64_t rans_decode_cpu(const uint8_t* data, int64_t nbytes, const int32_t* indexes, int64_t n,
                        const int32_t* cdfs, int64_t n_cdfs, int64_t cdf_stride,
                        const int32_t* cdf_lengths, const int32_t* offsets, int32_t* out) {
  if (nbytes < 8 || nbytes % 4 != 0) return kRansBadLength;
  // The tables come with the weights; check them once so that the symbol search
  // below always ends inside a row and every frequency is > 0.
  for (int64_t c = 0; c < n_cdfs; ++c) {
    const int32_t len = cdf_lengths[c];
    const int32_t* cdf = cdfs + c * cdf_stride;
    if (len < 2 || len > cdf_stride || cdf[0] != 0 || cdf[len - 1] != (1 << kPrecision))
      return kRansBadTable;
    for (int32_t j = 0; j + 1 < len; ++j)
      if (cdf[j + 1] <= cdf[j]) return kRansBadTable;
  }
  WordReader in{data, nbytes / 4};
  uint32_t lo, hi;
  in.read(&lo);
  in.read(&hi);
  uint64_t x = static_cast<uint64_t>(lo) | (static_cast<uint64_t>(hi) << 32);
  const uint64_t mask = (1ull << kPrecision) - 1;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = indexes[i];
    if (c < 0 || c >= n_cdfs) return kRansBadIndex;
    const int32_t* cdf = cdfs + static_cast<int64_t>(c) * cdf_stride;
    const int32_t max_value = cdf_lengths[c] - 2;
    const uint32_t cum = static_cast<uint32_t>(x & mask);
    int32_t s = 0;  // the last s with cdf[s] <= cum (cdf[0] = 0 <= cum < cdf[len-1])
    while (static_cast<uint32_t>(cdf[s + 1]) <= cum) ++s;
    const uint64_t start = static_cast<uint64_t>(cdf[s]);
    const uint64_t freq = static_cast<uint64_t>(cdf[s + 1] - cdf[s]);
    x = freq * (x >> kPrecision) + (x & mask) - start;
    if (!renorm(&x, &in)) return kRansOverrun;
    int64_t value = s;
    if (s == max_value) {  // escape: the value follows in 4-bit chunks
      uint32_t val;
      if (!get_bits(&x, &in, &val)) return kRansOverrun;
      int32_t chunks = static_cast<int32_t>(val);
      while (val == kMaxBypassVal) {
        if (chunks > kMaxBypassChunks) return kRansBadBypass;
        if (!get_bits(&x, &in, &val)) return kRansOverrun;
        chunks += static_cast<int32_t>(val);
      }
      if (chunks > kMaxBypassChunks) return kRansBadBypass;
      uint32_t raw = 0;
      for (int32_t j = 0; j < chunks; ++j) {
        if (!get_bits(&x, &in, &val)) return kRansOverrun;
        raw |= val << (kBypassBits * j);
      }
      // As CompressAI: the raw value is an int32 (arithmetic shift), odd = negative.
      const int32_t raw_signed = static_cast<int32_t>(raw);
      value = raw_signed >> 1;
      value = (raw_signed & 1) ? -value - 1 : value + max_value;
    }
    value += offsets[c];
    if (value < INT32_MIN || value > INT32_MAX) return kRansBadBypass;
    out[i] = static_cast<int32_t>(value);
  }
  // The encoder writes exactly the words the decoder reads: leftover words mean
  // the string was not made for these indexes (or was damaged).
  return in.pos == in.words ? 0 : kRansTrailing;
}

}  // namespace lc
