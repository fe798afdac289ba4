// The pybind11 module learned_codec._C: thin registration only.
// Every function takes data pointers (as integers) and sizes; the checked,
// documented API is learned_codec/ops.py, which is the only caller.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "kernels.h"

namespace py = pybind11;

namespace {

template <typename T>
T* ptr(std::uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

void block_dct(std::uintptr_t x, std::uintptr_t y, int64_t planes, int64_t H,
               int64_t W, bool inverse, bool cuda, std::uintptr_t stream) {
  py::gil_scoped_release release;
  if (cuda) {
#ifdef LC_WITH_CUDA
    lc::block_dct_cuda(ptr<const float>(x), ptr<float>(y), planes, H, W, inverse,
                       reinterpret_cast<void*>(stream));
    return;
#else
    throw std::runtime_error("learned_codec._C was built without CUDA");
#endif
  }
  lc::block_dct_cpu(ptr<const float>(x), ptr<float>(y), planes, H, W, inverse);
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "learned-codec native kernels (raw-pointer entry points; use learned_codec.ops)";
#ifdef LC_WITH_CUDA
  m.attr("cuda_built") = true;
#else
  m.attr("cuda_built") = false;
#endif
  m.def("block_dct", &block_dct, py::arg("x"), py::arg("y"), py::arg("planes"),
        py::arg("H"), py::arg("W"), py::arg("inverse"), py::arg("cuda"),
        py::arg("stream"));
}
