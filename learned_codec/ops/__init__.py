"""Checked Python API over the native kernels of learned_codec._C, one file per op.

Every op runs on the device of its input tensor (CPU, or CUDA when the extension
was built with CUDA), checks dtype, rank, shape and device first and raises
TypeError / ValueError with a clear message, then hands contiguous buffers to the
kernel (csrc/cpu/<op>.cpp, csrc/cuda/<op>.cu). Plain PyTorch / float64 references of
every op live in reference.py (tests and benchmarks compare against them).

Layouts: block-DCT coefficients keep the image layout (N x C x H x W, each 8x8 block
replaced by its coefficients, row-major frequency order inside the block);
quantization tables are 8 x 8 (or C x 8 x 8, one per channel).

    dct.py            block_dct, block_idct, pad_to_multiple
    jpeg.py           jpeg_quant_table, quantize, dequantize, dct_quantize, jpeg_simulate
    latent_quant.py   latent_quantize, latent_dequantize
    kmeans.py         kmeans_fit, kmeans_assign
    rans.py           rans_decode (CompressAI strings, bounds-checked)
    context_coder.py  context_encode, context_decode, ContextModelTables (palette model)
    screen_coder.py   screen_encode, screen_decode, ScreenCoderState (generic palette model)
    resample_invert.py resample_invert (exact inversion of a vertical resize of palette screens)
    resample_rows.py  resample_rows (Pillow's vertical fixed-point resampling pass, bit for bit)
"""
from learned_codec.ops._checks import cuda_available
from learned_codec.ops.context_coder import (
    CONTEXT_COMPONENTS,
    CONTEXT_MAX_COMPONENTS,
    CONTEXT_MAX_REFS,
    CONTEXT_MAX_SYMBOLS,
    ContextModelTables,
    context_decode,
    context_encode,
)
from learned_codec.ops.dct import block_dct, block_idct, pad_to_multiple
from learned_codec.ops.jpeg import (
    JPEG_CHROMA_BASE,
    JPEG_LUMA_BASE,
    dct_quantize,
    dequantize,
    jpeg_quant_table,
    jpeg_simulate,
    quantize,
)
from learned_codec.ops.kmeans import kmeans_assign, kmeans_fit
from learned_codec.ops.latent_quant import latent_dequantize, latent_quantize
from learned_codec.ops.rans import RansDecodeError, rans_decode
from learned_codec.ops.resample_invert import RESAMPLE_MAX_COLOURS, resample_invert
from learned_codec.ops.resample_rows import resample_rows
from learned_codec.ops.screen_coder import ScreenCoderState, screen_decode, screen_encode

__all__ = [
    "block_dct", "block_idct", "cuda_available", "pad_to_multiple",
    "jpeg_quant_table", "quantize", "dequantize", "dct_quantize", "jpeg_simulate",
    "latent_quantize", "latent_dequantize", "kmeans_fit", "kmeans_assign",
    "rans_decode", "RansDecodeError", "context_encode", "context_decode", "ContextModelTables",
    "CONTEXT_COMPONENTS", "CONTEXT_MAX_SYMBOLS", "CONTEXT_MAX_COMPONENTS", "CONTEXT_MAX_REFS",
    "JPEG_LUMA_BASE", "JPEG_CHROMA_BASE", "screen_encode", "screen_decode", "ScreenCoderState",
    "resample_invert", "RESAMPLE_MAX_COLOURS", "resample_rows",
]
