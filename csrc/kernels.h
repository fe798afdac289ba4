// Raw-pointer kernel entry points shared by the pybind11 module (bindings.cpp),
// the plain C++ library built by CMakeLists.txt and the native tests (ctest).
//
// Why raw pointers and not at::Tensor: including torch/extension.h costs minutes
// of compile time per translation unit on small machines, and these kernels need
// nothing from ATen. The Python wrappers in learned_codec/ops.py check dtype,
// shape, device and contiguity, allocate the outputs with torch and pass
// data pointers here; the entry points below re-check what they can (sizes).
//
// Every *_cuda entry point has the contract of its *_cpu twin on device memory,
// queued on `stream` (a cudaStream_t).
#pragma once
#include <cstdint>

namespace lc {

// ---- block DCT -----------------------------------------------------------
// x and y hold `planes` contiguous planes of H x W float32 values (H, W
// multiples of 8). Each 8x8 block is replaced by its orthonormal 2-D DCT-II
// (inverse=false) or by the inverse transform, DCT-III (inverse=true).
// x and y may alias.
void block_dct_cpu(const float* x, float* y, int64_t planes, int64_t H,
                   int64_t W, bool inverse);

// The 8x8 orthonormal DCT-II basis: C[k][n] = a(k) cos((2n+1) k pi / 16).
void dct8_matrix(float C[64]);

// ---- JPEG quantization ---------------------------------------------------
// X: `planes` planes of H x W DCT coefficients (H, W multiples of 8), laid out
// like block_dct's output. tables: `ntables` 8x8 float tables; plane p uses
// table p % ntables (so N x C planes with C tables get one table per channel).
// quantize: q = round_half_away_from_zero(X / table), saturated to int16.
// dequantize: X = q * table.
void quantize_cpu(const float* X, int16_t* q, const float* tables,
                  int64_t ntables, int64_t planes, int64_t H, int64_t W);
void dequantize_cpu(const int16_t* q, float* X, const float* tables,
                    int64_t ntables, int64_t planes, int64_t H, int64_t W);
// Fused block DCT-II + quantize: q = quantize(block_dct(x), tables).
void dct_quantize_cpu(const float* x, int16_t* q, const float* tables,
                      int64_t ntables, int64_t planes, int64_t H, int64_t W);

// ---- JPEG simulator ------------------------------------------------------
// images: N x H x W x 3 uint8 RGB (any H, W >= 1). tables: nq x 2 x 64 uint16
// quantization tables in natural (row-major) order, [luma, chroma] per
// quality. out: nq x N x H x W x 3 uint8, the image libjpeg would decode from
// a baseline JPEG made at each quality, with its integer arithmetic: JFIF
// colour conversion, edge replication to whole blocks/MCUs, (4:2:0: 2x2 box
// downsampling with libjpeg's alternating rounding bias), islow integer DCT,
// round-half-away quantization, islow integer IDCT, (4:2:0: "fancy"
// triangular upsampling), YCbCr -> RGB.
void jpeg_simulate_cpu(const uint8_t* images, uint8_t* out, int64_t N,
                       int64_t H, int64_t W, const uint16_t* tables, int64_t nq,
                       bool subsample420);

// ---- latent quantizers ---------------------------------------------------
// z: outer x groups x inner float32, contiguous. Group g has its own scale
// and zero point: codes = clamp(rint(z / scale[g]) + zero_point[g], 0, 255)
// (rint = round half to even). The naive method is scale = 1/255, zp = 0,
// computed as rint(z * 255) (multiply, not divide, to match z * 255 exactly):
// pass naive = true and scale/zp are ignored.
void latent_quantize_cpu(const float* z, uint8_t* codes, const float* scale,
                         const float* zero_point, int64_t outer, int64_t groups,
                         int64_t inner, bool naive);
// z = (codes - zero_point[g]) * scale[g]; naive: codes / 255.
void latent_dequantize_cpu(const uint8_t* codes, float* z, const float* scale,
                           const float* zero_point, int64_t outer,
                           int64_t groups, int64_t inner, bool naive);

// ---- k-means -------------------------------------------------------------
// x: n x d float32, centroids: k x d float32 (1 <= k <= 256).
// Label of a point = index of the nearest centroid in squared Euclidean
// distance, lowest index on ties. Returns nothing; labels: n uint8.
void kmeans_assign_cpu(const float* x, const float* centroids, uint8_t* labels,
                       int64_t n, int64_t d, int64_t k);
// Lloyd's algorithm with k-means++ seeding (one candidate per step, drawn with
// the splitmix64 generator seeded by `seed`), `iters` iterations at most
// (stops early once no label changes). Empty clusters keep their previous
// centroid. Deterministic for a given seed, whatever the thread count: sums
// are accumulated per fixed chunk of points in double and reduced in order.
// centroids (output): k x d. Returns the number of iterations run.
int64_t kmeans_fit_cpu(const float* x, float* centroids, int64_t n, int64_t d,
                       int64_t k, int64_t iters, uint64_t seed);

// splitmix64: the generator behind k-means++ seeding, shared with the PyTorch
// reference (ops_reference.py) so that both draw the same numbers.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
// Uniform double in [0, 1) from the top 53 bits.
inline double uniform01(uint64_t& state) {
  return static_cast<double>(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

#ifdef LC_WITH_CUDA
void block_dct_cuda(const float* x, float* y, int64_t planes, int64_t H,
                    int64_t W, bool inverse, void* stream);
void quantize_cuda(const float* X, int16_t* q, const float* tables,
                   int64_t ntables, int64_t planes, int64_t H, int64_t W,
                   void* stream);
void dequantize_cuda(const int16_t* q, float* X, const float* tables,
                     int64_t ntables, int64_t planes, int64_t H, int64_t W,
                     void* stream);
void dct_quantize_cuda(const float* x, int16_t* q, const float* tables,
                       int64_t ntables, int64_t planes, int64_t H, int64_t W,
                       void* stream);
// tables: host memory here (nq x 2 x 64 uint16); images, out: device memory.
void jpeg_simulate_cuda(const uint8_t* images, uint8_t* out, int64_t N,
                        int64_t H, int64_t W, const uint16_t* tables,
                        int64_t nq, bool subsample420, void* stream);
// scale, zero_point: device memory (groups floats each).
void latent_quantize_cuda(const float* z, uint8_t* codes, const float* scale,
                          const float* zero_point, int64_t outer,
                          int64_t groups, int64_t inner, bool naive,
                          void* stream);
void latent_dequantize_cuda(const uint8_t* codes, float* z, const float* scale,
                            const float* zero_point, int64_t outer,
                            int64_t groups, int64_t inner, bool naive,
                            void* stream);
void kmeans_assign_cuda(const float* x, const float* centroids, uint8_t* labels,
                        int64_t n, int64_t d, int64_t k, void* stream);
// Same algorithm as the CPU version; cluster sums use 64-bit fixed-point
// atomics (integer addition is associative), so results are deterministic.
// Synchronises `stream` (seeding draws on the host).
int64_t kmeans_fit_cuda(const float* x, float* centroids, int64_t n, int64_t d,
                        int64_t k, int64_t iters, uint64_t seed, void* stream);
#endif

// ---- rANS decoding (CPU only: one sequential state per string) --------------
// Decodes n symbols from one rANS string of CompressAI's entropy coder
// (compressai.ans: 64-bit state, 32-bit little-endian words, 16-bit CDFs, 4-bit
// bypass chunks) exactly as its RansDecoder::decode_with_indexes does for a valid
// string, with every read bounds-checked. cdfs: n_cdfs rows of cdf_stride int32
// (row c valid up to cdf_lengths[c]); symbol i uses row indexes[i]; out[i] =
// decoded value + offsets[row]. Returns 0, or one of the negative codes below.
enum RansStatus : int64_t {
  kRansBadLength = -1,   // string shorter than 8 bytes or not whole 32-bit words
  kRansBadTable = -2,    // a CDF row is not 0 .. 65536 strictly increasing
  kRansBadIndex = -3,    // an index outside 0 .. n_cdfs-1
  kRansOverrun = -4,     // the data ends before the symbols do
  kRansBadBypass = -5,   // an escape value longer than an int32
  kRansTrailing = -6,    // words left over after the last symbol
};
int64_t rans_decode_cpu(const uint8_t* data, int64_t nbytes, const int32_t* indexes, int64_t n,
                        const int32_t* cdfs, int64_t n_cdfs, int64_t cdf_stride,
                        const int32_t* cdf_lengths, const int32_t* offsets, int32_t* out);

// ---- context-model rANS coding of palette-index images (CPU only) -----------
// img / out: h x w symbols < nsym (<= 31); refs: nrefs x h x w reference planes
// (values < 31). The model (see csrc/cpu/context_coder.cpp): level_comps is
// n_levels x max_comps component ids (0 W, 1 N, 2 NW, 3 NE, 4 WW, 5 NN, 6 + r =
// reference plane r; -1 pads), keys the sorted keys of each level
// (level_start[l] .. level_start[l + 1]), freqs one row of nsym 16-bit
// frequencies (sum 2^16, each >= 1) per key; the last level is the catch-all
// (no components, one row). encode returns the byte count written to
// out[0 .. out_cap) (out_cap >= 2 h w + 4), decode 0; or a negative code.
enum ContextStatus : int64_t {
  kContextBadModel = -11,   // tables malformed (unsorted keys, bad row, no catch-all)
  kContextBadSymbol = -12,  // a symbol or reference value out of range
  kContextOverrun = -13,    // data ends before the pixels do (or output too small)
  kContextCorrupt = -14,    // the final rANS state is wrong: damaged data
  kContextTrailing = -15,   // bytes left over after the last pixel
};
int64_t context_encode_cpu(const uint8_t* img, int64_t h, int64_t w, const uint8_t* refs, int32_t nrefs,
                           const int32_t* level_comps, int32_t n_levels, int32_t max_comps,
                           const int64_t* keys, const int64_t* level_start, const uint16_t* freqs,
                           int32_t nsym, uint8_t* out, int64_t out_cap);
int64_t context_decode_cpu(const uint8_t* data, int64_t nbytes, int64_t h, int64_t w, const uint8_t* refs,
                           int32_t nrefs, const int32_t* level_comps, int32_t n_levels, int32_t max_comps,
                           const int64_t* keys, const int64_t* level_start, const uint16_t* freqs,
                           int32_t nsym, uint8_t* out);

// ---- adaptive context-mixing coding of palette screens (CPU only) ------------
// screens / out: n x h x w indices < ncol (<= 255), coded in order: image mode
// (video false) every screen alone, video mode each screen after the first from
// the previous one (one adaptive state across the n screens). init1: the starting
// structural table (2^kScreenTable1Bits counters), init_mix: the starting mixer
// weights (kScreenMixSets x kScreenMixInputs); fit1 / fit_mix (nullable) receive
// their final state (fitting: image-mode screens then carry it from one to the
// next). encode writes the n streams back to back into
// out[0 .. out_cap), their lengths into sizes, and returns the total; decode
// takes the same; both return a negative ScreenStatus on failure.
constexpr int kScreenTable1Bits = 20;
constexpr int kScreenMixSets = 32;
constexpr int kScreenMixInputs = 6;
enum ScreenStatus : int64_t {
  kScreenBadArgs = -21,   // sizes, ncol or a stream length out of range
  kScreenBadIndex = -22,  // an index >= ncol (input, or decoded from damaged data)
  kScreenOverrun = -23,   // out_cap too small
};
int64_t screen_encode_cpu(const uint8_t* screens, int64_t n, int64_t h, int64_t w, int32_t ncol, bool video,
                          const uint32_t* init1, const int32_t* init_mix, uint8_t* out, int64_t out_cap,
                          int64_t* sizes, uint32_t* fit1, int32_t* fit_mix);
int64_t screen_decode_cpu(const uint8_t* data, const int64_t* sizes, int64_t n, int64_t h, int64_t w,
                          int32_t ncol, bool video, const uint32_t* init1, const int32_t* init_mix, uint8_t* out);

// ---- exact inversion of a vertical fixed-point resampling (CPU only) ---------
// frames: n x h_out x w x 3 uint8, the resampling of n h_in x w palette screens by
// weights (dense h_out x h_in integers, `precision` fractional bits: output =
// clip((2^(precision-1) + sum weights * input) >> precision, 0, 255), as Pillow's
// vertical pass). palette: npal candidate colours (RGB). For each frame finds a
// screen in the candidate colours or the frame's flat-run colours whose resampling
// is the frame exactly (csrc/cpu/resample_invert.cpp), writing its rgb24 values
// (R << 16 | G << 8 | B) to out (n x h_in x w int32, zeros where it fails) and
// ok[i] = 1; a column that needs more than `budget` colour trials fails the frame.
// estimate (nullable): float64 h_in x h_out, a linear estimate of a screen column from
// a frame column (the weights' pseudo-inverse) that orders the colours tried.
// known / known_mask (nullable): n x h_in x w rgb24 screen columns and n x w flags; a
// flagged column is taken from known as it is (a column solved before whose resampling
// the caller knows to be this frame column) and its colours join the ones shown.
// Returns the number of frames inverted, or kResampleBadArgs (also for weights whose
// int32 sums could overflow, as resample_rows refuses them).
constexpr int32_t kResampleMaxColours = 255;
enum ResampleStatus : int64_t {
  kResampleBadArgs = -31,  // sizes, precision, budget, palette size, or weights (an empty row, too large)
};
int64_t resample_invert_cpu(const uint8_t* frames, int64_t n, int64_t h_out, int64_t w, const int64_t* weights,
                            int64_t h_in, int32_t precision, const uint8_t* palette, int32_t npal,
                            const double* estimate, int64_t budget, const int32_t* known,
                            const uint8_t* known_mask, int32_t* out, uint8_t* ok);

// ---- vertical fixed-point resampling (CPU only) ---------------------------------
// in: n x h_in rows of `row` uint8 elements (an image's w*c); weights: dense h_out x
// h_in integers with `precision` fractional bits, each row's nonzero taps contiguous;
// out[i][o] = clip((2^(precision-1) + sum_k weights[o][k] * in[i][k]) >> precision, 0,
// 255), exactly Pillow's vertical pass (int32 sums, as Pillow's). Returns n, or
// kResampleBadArgs (sizes, precision, or weights whose sums could overflow int32).
int64_t resample_rows_cpu(const uint8_t* in, int64_t n, int64_t h_in, int64_t row, const int64_t* weights,
                          int64_t h_out, int32_t precision, uint8_t* out);

}  // namespace lc
