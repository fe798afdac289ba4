// The pybind11 module learned_codec._C: thin registration only.
// Every function takes data pointers (as integers) and sizes; the checked,
// documented API is learned_codec/ops.py, which is the only caller.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>

#include "kernels.h"

namespace py = pybind11;

namespace {

template <typename T>
T* ptr(std::uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

inline void* sptr(std::uintptr_t s) { return reinterpret_cast<void*>(s); }

[[noreturn]] void no_cuda() {
  throw std::runtime_error("learned_codec._C was built without CUDA");
}

// Runs the CUDA or the CPU variant without the GIL. Without LC_WITH_CUDA the
// CUDA lambda is never compiled in (LC_CUDA expands to a throw).
#ifdef LC_WITH_CUDA
#define LC_DISPATCH(cuda_call, cpu_call) \
  do {                                   \
    py::gil_scoped_release release;      \
    if (cuda) { cuda_call; } else { cpu_call; } \
  } while (0)
#else
#define LC_DISPATCH(cuda_call, cpu_call) \
  do {                                   \
    if (cuda) no_cuda();                 \
    py::gil_scoped_release release;      \
    cpu_call;                            \
  } while (0)
#endif

void block_dct(std::uintptr_t x, std::uintptr_t y, int64_t planes, int64_t H, int64_t W,
               bool inverse, bool cuda, std::uintptr_t stream) {
  LC_DISPATCH(lc::block_dct_cuda(ptr<const float>(x), ptr<float>(y), planes, H, W, inverse, sptr(stream)),
              lc::block_dct_cpu(ptr<const float>(x), ptr<float>(y), planes, H, W, inverse));
}

void quantize(std::uintptr_t X, std::uintptr_t q, std::uintptr_t tables, int64_t ntables,
              int64_t planes, int64_t H, int64_t W, bool cuda, std::uintptr_t stream) {
  LC_DISPATCH(lc::quantize_cuda(ptr<const float>(X), ptr<int16_t>(q), ptr<const float>(tables), ntables,
                                planes, H, W, sptr(stream)),
              lc::quantize_cpu(ptr<const float>(X), ptr<int16_t>(q), ptr<const float>(tables), ntables,
                               planes, H, W));
}

void dequantize(std::uintptr_t q, std::uintptr_t X, std::uintptr_t tables, int64_t ntables,
                int64_t planes, int64_t H, int64_t W, bool cuda, std::uintptr_t stream) {
  LC_DISPATCH(lc::dequantize_cuda(ptr<const int16_t>(q), ptr<float>(X), ptr<const float>(tables), ntables,
                                  planes, H, W, sptr(stream)),
              lc::dequantize_cpu(ptr<const int16_t>(q), ptr<float>(X), ptr<const float>(tables), ntables,
                                 planes, H, W));
}

void dct_quantize(std::uintptr_t x, std::uintptr_t q, std::uintptr_t tables, int64_t ntables,
                  int64_t planes, int64_t H, int64_t W, bool cuda, std::uintptr_t stream) {
  LC_DISPATCH(lc::dct_quantize_cuda(ptr<const float>(x), ptr<int16_t>(q), ptr<const float>(tables),
                                    ntables, planes, H, W, sptr(stream)),
              lc::dct_quantize_cpu(ptr<const float>(x), ptr<int16_t>(q), ptr<const float>(tables),
                                   ntables, planes, H, W));
}

// tables: always a host pointer (nq x 2 x 64 uint16).
void jpeg_simulate(std::uintptr_t images, std::uintptr_t out, int64_t N, int64_t H, int64_t W,
                   std::uintptr_t tables, int64_t nq, bool subsample420, bool cuda,
                   std::uintptr_t stream) {
  LC_DISPATCH(lc::jpeg_simulate_cuda(ptr<const uint8_t>(images), ptr<uint8_t>(out), N, H, W,
                                     ptr<const uint16_t>(tables), nq, subsample420, sptr(stream)),
              lc::jpeg_simulate_cpu(ptr<const uint8_t>(images), ptr<uint8_t>(out), N, H, W,
                                    ptr<const uint16_t>(tables), nq, subsample420));
}

void latent_quantize(std::uintptr_t z, std::uintptr_t codes, std::uintptr_t scale,
                     std::uintptr_t zp, int64_t outer, int64_t groups, int64_t inner, bool naive,
                     bool cuda, std::uintptr_t stream) {
  LC_DISPATCH(lc::latent_quantize_cuda(ptr<const float>(z), ptr<uint8_t>(codes), ptr<const float>(scale),
                                       ptr<const float>(zp), outer, groups, inner, naive, sptr(stream)),
              lc::latent_quantize_cpu(ptr<const float>(z), ptr<uint8_t>(codes), ptr<const float>(scale),
                                      ptr<const float>(zp), outer, groups, inner, naive));
}

void latent_dequantize(std::uintptr_t codes, std::uintptr_t z, std::uintptr_t scale,
                       std::uintptr_t zp, int64_t outer, int64_t groups, int64_t inner, bool naive,
                       bool cuda, std::uintptr_t stream) {
  LC_DISPATCH(lc::latent_dequantize_cuda(ptr<const uint8_t>(codes), ptr<float>(z), ptr<const float>(scale),
                                         ptr<const float>(zp), outer, groups, inner, naive, sptr(stream)),
              lc::latent_dequantize_cpu(ptr<const uint8_t>(codes), ptr<float>(z), ptr<const float>(scale),
                                        ptr<const float>(zp), outer, groups, inner, naive));
}

void kmeans_assign(std::uintptr_t x, std::uintptr_t c, std::uintptr_t labels, int64_t n, int64_t d,
                   int64_t k, bool cuda, std::uintptr_t stream) {
  LC_DISPATCH(lc::kmeans_assign_cuda(ptr<const float>(x), ptr<const float>(c), ptr<uint8_t>(labels), n, d,
                                     k, sptr(stream)),
              lc::kmeans_assign_cpu(ptr<const float>(x), ptr<const float>(c), ptr<uint8_t>(labels), n, d,
                                    k));
}

int64_t kmeans_fit(std::uintptr_t x, std::uintptr_t c, int64_t n, int64_t d, int64_t k, int64_t iters,
                   uint64_t seed, bool cuda, std::uintptr_t stream) {
  int64_t it = 0;
  LC_DISPATCH(it = lc::kmeans_fit_cuda(ptr<const float>(x), ptr<float>(c), n, d, k, iters, seed,
                                       sptr(stream)),
              it = lc::kmeans_fit_cpu(ptr<const float>(x), ptr<float>(c), n, d, k, iters, seed));
  return it;
}

int64_t rans_decode(std::uintptr_t data, int64_t nbytes, std::uintptr_t indexes, int64_t n,
                    std::uintptr_t cdfs, int64_t n_cdfs, int64_t cdf_stride, std::uintptr_t cdf_lengths,
                    std::uintptr_t offsets, std::uintptr_t out) {
  py::gil_scoped_release release;
  return lc::rans_decode_cpu(ptr<const uint8_t>(data), nbytes, ptr<const int32_t>(indexes), n,
                             ptr<const int32_t>(cdfs), n_cdfs, cdf_stride, ptr<const int32_t>(cdf_lengths),
                             ptr<const int32_t>(offsets), ptr<int32_t>(out));
}

int64_t context_encode(std::uintptr_t img, int64_t h, int64_t w, std::uintptr_t refs, int32_t nrefs,
                       std::uintptr_t comps, int32_t n_levels, int32_t max_comps, std::uintptr_t keys,
                       std::uintptr_t level_start, std::uintptr_t freqs, int32_t nsym, std::uintptr_t out,
                       int64_t out_cap) {
  py::gil_scoped_release release;
  return lc::context_encode_cpu(ptr<const uint8_t>(img), h, w, ptr<const uint8_t>(refs), nrefs,
                                ptr<const int32_t>(comps), n_levels, max_comps, ptr<const int64_t>(keys),
                                ptr<const int64_t>(level_start), ptr<const uint16_t>(freqs), nsym,
                                ptr<uint8_t>(out), out_cap);
}

int64_t context_decode(std::uintptr_t data, int64_t nbytes, int64_t h, int64_t w, std::uintptr_t refs,
                       int32_t nrefs, std::uintptr_t comps, int32_t n_levels, int32_t max_comps,
                       std::uintptr_t keys, std::uintptr_t level_start, std::uintptr_t freqs, int32_t nsym,
                       std::uintptr_t out) {
  py::gil_scoped_release release;
  return lc::context_decode_cpu(ptr<const uint8_t>(data), nbytes, h, w, ptr<const uint8_t>(refs), nrefs,
                                ptr<const int32_t>(comps), n_levels, max_comps, ptr<const int64_t>(keys),
                                ptr<const int64_t>(level_start), ptr<const uint16_t>(freqs), nsym,
                                ptr<uint8_t>(out));
}

int64_t screen_encode(std::uintptr_t screens, int64_t n, int64_t h, int64_t w, int32_t ncol, bool video,
                      std::uintptr_t init1, std::uintptr_t init_mix, std::uintptr_t out, int64_t out_cap,
                      std::uintptr_t sizes, std::uintptr_t fit1, std::uintptr_t fit_mix) {
  py::gil_scoped_release release;
  return lc::screen_encode_cpu(ptr<const uint8_t>(screens), n, h, w, ncol, video, ptr<const uint32_t>(init1),
                               ptr<const int32_t>(init_mix), ptr<uint8_t>(out), out_cap, ptr<int64_t>(sizes),
                               ptr<uint32_t>(fit1), ptr<int32_t>(fit_mix));
}

int64_t screen_decode(std::uintptr_t data, std::uintptr_t sizes, int64_t n, int64_t h, int64_t w, int32_t ncol,
                      bool video, std::uintptr_t init1, std::uintptr_t init_mix, std::uintptr_t out) {
  py::gil_scoped_release release;
  return lc::screen_decode_cpu(ptr<const uint8_t>(data), ptr<const int64_t>(sizes), n, h, w, ncol, video,
                               ptr<const uint32_t>(init1), ptr<const int32_t>(init_mix), ptr<uint8_t>(out));
}

int64_t resample_invert(std::uintptr_t frames, int64_t n, int64_t h_out, int64_t w, std::uintptr_t weights,
                        int64_t h_in, int32_t precision, std::uintptr_t palette, int32_t npal,
                        std::uintptr_t estimate, int64_t budget, std::uintptr_t known, std::uintptr_t known_mask,
                        std::uintptr_t out, std::uintptr_t ok) {
  py::gil_scoped_release release;
  return lc::resample_invert_cpu(ptr<const uint8_t>(frames), n, h_out, w, ptr<const int64_t>(weights), h_in,
                                 precision, ptr<const uint8_t>(palette), npal, ptr<const double>(estimate), budget,
                                 ptr<const int32_t>(known), ptr<const uint8_t>(known_mask), ptr<int32_t>(out),
                                 ptr<uint8_t>(ok));
}

int64_t resample_rows(std::uintptr_t in, int64_t n, int64_t h_in, int64_t row, std::uintptr_t weights, int64_t h_out,
                      int32_t precision, std::uintptr_t out) {
  py::gil_scoped_release release;
  return lc::resample_rows_cpu(ptr<const uint8_t>(in), n, h_in, row, ptr<const int64_t>(weights), h_out, precision,
                               ptr<uint8_t>(out));
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "learned-codec native kernels (raw-pointer entry points; use learned_codec.ops)";
#ifdef LC_WITH_CUDA
  m.attr("cuda_built") = true;
#else
  m.attr("cuda_built") = false;
#endif
  m.def("block_dct", &block_dct, py::arg("x"), py::arg("y"), py::arg("planes"), py::arg("H"),
        py::arg("W"), py::arg("inverse"), py::arg("cuda"), py::arg("stream"));
  m.def("quantize", &quantize);
  m.def("dequantize", &dequantize);
  m.def("dct_quantize", &dct_quantize);
  m.def("jpeg_simulate", &jpeg_simulate);
  m.def("latent_quantize", &latent_quantize);
  m.def("latent_dequantize", &latent_dequantize);
  m.def("kmeans_assign", &kmeans_assign);
  m.def("kmeans_fit", &kmeans_fit);
  m.def("rans_decode", &rans_decode);
  m.def("context_encode", &context_encode);
  m.def("context_decode", &context_decode);
  m.def("screen_encode", &screen_encode);
  m.def("screen_decode", &screen_decode);
  m.def("resample_invert", &resample_invert);
  m.def("resample_rows", &resample_rows);
  m.attr("resample_max_colours") = lc::kResampleMaxColours;
  m.attr("screen_table1_size") = 1 << lc::kScreenTable1Bits;
  m.attr("screen_mix_shape") = py::make_tuple(lc::kScreenMixSets, lc::kScreenMixInputs);
}
