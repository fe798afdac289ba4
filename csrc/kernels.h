// Raw-pointer kernel entry points shared by the pybind11 module (bindings.cpp),
// the plain C++ library built by CMakeLists.txt and the native tests (ctest).
//
// Why raw pointers and not at::Tensor: including torch/extension.h costs minutes
// of compile time per translation unit on small machines, and these kernels need
// nothing from ATen. The Python wrappers in learned_codec/ops.py check dtype,
// shape, device and contiguity, allocate the outputs with torch and pass
// data pointers here; the entry points below re-check what they can (sizes).
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

#ifdef LC_WITH_CUDA
// Same contract on device memory, queued on `stream` (a cudaStream_t).
void block_dct_cuda(const float* x, float* y, int64_t planes, int64_t H,
                    int64_t W, bool inverse, void* stream);
#endif

}  // namespace lc
