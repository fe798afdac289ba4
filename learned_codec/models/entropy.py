"""Entropy-coded autoencoders: `factorized` (Ballé 2017/2018 learned factorized prior)
and `hyperprior` (Ballé 2018 scale hyperprior), built from CompressAI's layers,
entropy models and rANS coder, trained for rate + lambda * distortion.

Transforms (CompressAI's `bmshj2018-*` models, with small defaults that train on a CPU):
    g_a: 4 x [Conv5x5 s2 (-> GDN)]        3 -> N -> N -> N -> M    (y: M x H/16 x W/16)
    g_s: mirror with ConvT5x5 s2 and inverse GDN                  (x_hat)
    hyperprior only:
    h_a: Conv3x3 s1, ReLU, Conv5x5 s2, ReLU, Conv5x5 s2           |y| -> z: N x H/64 x W/64
    h_s: ConvT5x5 s2, ReLU, ConvT5x5 s2, ReLU, Conv3x3 s1, ReLU   z_hat -> scales of y
Defaults N = 64, M = 96: the size the SPEC measured on 2 CPU cores (~500 k parameters for
the hyperprior); CompressAI's quality-1 models use N = 128, M = 192.

Padding: the input is replicate-padded on the bottom/right to a multiple of 16 only
(200x160 -> 208x160, y = M x 13 x 10), not to the 64 the hyperprior's two extra
stride-2 levels would ask for (256x192: 28 % more latent positions, i.e. bytes). The
hyper-analysis simply sees 13 x 10 -> 7 x 5 -> 4 x 3 (its convs pad), the
hyper-synthesis gives 16 x 12, and that output is cropped to y's 13 x 10.

Interface (see registry.py): encode(x) -> y (unquantized latent), decode(y_hat) ->
x_hat, forward(x) -> {"x_hat", "code", "likelihoods"} (training: additive uniform noise;
eval: y rounded, x_hat clamped to [0, 1]); compress(x) -> {"strings": [...], "shape"};
decompress(strings, shape) -> x_hat (padded size; the caller crops).

CDF tables: CompressAI keeps the entropy coder's integer CDF tables in buffers
(`_quantized_cdf`, `_offset`, `_cdf_length`, `scale_table`) filled by `update()`. The
training loop calls update(force=True) before it saves weights, so the tables are part
of the saved weights (and of their SHA-256); compress/decompress use the stored tables
and never recompute them (a recomputation on another device could differ).
`load_state_dict` resizes those buffers to the loaded sizes (their size depends on the
trained distributions).

Determinism of the hyperprior's CDF choice (the indexes): the decoder must pick, for
every element of y, the same of the 64 Gaussian tables as the encoder. CompressAI derives
it from float h_s(z_hat) compared with the table's scales, and a float convolution gives
last-bit differences across devices and thread counts (another summation order): a scale
near a table boundary then flips its index and the rest of the frame decodes to garbage.
Here compress/decompress derive the indexes with `IntegerHyperSynthesis` instead: h_s
evaluated on the CPU in integer fixed point (weights and activations with 16 fractional
bits), every product and sum an exact int64 operation, then compared with the table's
scales converted to the same fixed point. Integer arithmetic is associative, so the
result does not depend on the thread count, the BLAS, or the device the encoder ran on;
its inputs are z_hat = rANS symbols + stored medians (one correctly rounded float add)
and the stored weights. Training keeps the float h_s (gradients); the fixed-point version
differs from it by ~1e-4 relative, far below the table's 13 % steps, so it costs
(almost) no rate. (Ballé et al. 2019, "Integer networks for data compression", make the
same point.) The decoded image itself comes from the float g_s: on CPUs it is the same
image at any thread count (ThreadInvariantGDN; tested with 1 vs 2 threads); a GPU
decoder may differ from a CPU one by a rounding of a pixel, never by a desynchronised
bitstream.
"""
import torch
import torch.nn as nn
from compressai.entropy_models import (
    EntropyBottleneck,
    EntropyModel,
    GaussianConditional,
)
from compressai.layers import GDN
from compressai.models.base import get_scale_table
from compressai.models.utils import conv, deconv

from learned_codec import ops
from learned_codec.models.conv import (
    REFERENCE_FRAME_SIZE,
    check_images,
    pad_to_multiple,
)
from learned_codec.models.fixed_point import (
    IntegerHyperSynthesis,
    indexes_from_fixed_point,
)
from learned_codec.models.registry import register

DEFAULT_LMBDA = 0.025  # CompressAI's quality-5 MSE lambda
CDF_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")


class ThreadInvariantGDN(GDN):
    """CompressAI's GDN; outside training its 1x1 normalisation conv avoids oneDNN.

    Measured (torch 2.15, CPU): oneDNN's 1x1 conv gives other last bits with another
    thread count, enough to move a decoded pixel by 1 now and then; ATen's own conv
    kernel gives the same bits for 1 and 2 threads, as do the 5x5 (transposed) convs
    under oneDNN. So the same file decodes to the same pixels at any thread count.
    Same parameters and state_dict keys as GDN."""

    def forward(self, x):
        if self.training or not torch._C._get_mkldnn_enabled():
            return super().forward(x)
        torch._C._set_mkldnn_enabled(False)  # (the public flags() also warns about TF32)
        try:
            return super().forward(x)
        finally:
            torch._C._set_mkldnn_enabled(True)


def analysis(N, M):
    return nn.Sequential(conv(3, N), ThreadInvariantGDN(N), conv(N, N), ThreadInvariantGDN(N),
                         conv(N, N), ThreadInvariantGDN(N), conv(N, M))


def synthesis(N, M):
    return nn.Sequential(deconv(M, N), ThreadInvariantGDN(N, inverse=True), deconv(N, N),
                         ThreadInvariantGDN(N, inverse=True), deconv(N, N),
                         ThreadInvariantGDN(N, inverse=True), deconv(N, 3))


class CheckedRansCoder:
    """CompressAI's rANS encoder with a bounds-checked decoder (ops.rans_decode).

    compressai.ans.RansDecoder trusts its input: a file with valid CRCs but a crafted
    rANS string makes it read past the string's end or loop on an escape length
    taken from the data. ops.rans_decode decodes every string CompressAI's encoder
    makes to the same values (tested) and refuses the others with RansDecodeError
    (a ValueError, which the codec reports as a bad file)."""

    name = "ans"

    def __init__(self):
        from compressai import ans

        self._encoder = ans.RansEncoder()

    def encode_with_indexes(self, *args, **kwargs):
        return self._encoder.encode_with_indexes(*args, **kwargs)

    def decode_with_indexes(self, string, indexes, cdfs, cdf_lengths, offsets):
        return ops.rans_decode(string, indexes, cdfs, cdf_lengths, offsets).tolist()


def checked(entropy_model):
    """entropy_model (an EntropyBottleneck or GaussianConditional) decoding with CheckedRansCoder."""
    entropy_model.entropy_coder = CheckedRansCoder()
    return entropy_model


class EntropyCodedAutoencoder(nn.Module):
    """Shared parts: padding, cropping, CDF update/load, aux loss."""

    entropy_coded = True      # the training loop and LearnedCodec ask for this
    fixed_frame_size = False  # pads to a multiple of 16, crops back
    multiple = 16             # g_a's downsampling

    def __init__(self, N, M, lmbda, frame_size):
        super().__init__()
        if N < 1 or M < 1:
            raise ValueError("N and M must be >= 1")
        if not lmbda > 0:
            raise ValueError("lmbda must be > 0")
        self.N, self.M, self.lmbda = int(N), int(M), float(lmbda)
        self.frame_size = tuple(frame_size)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        # The entropy model is the quantizer; the slot exists for the registry's interface.
        self.code_quantizer = nn.Identity()

    # ---- registry interface ---------------------------------------------------------

    def code_shape(self, height, width):
        m = self.multiple
        return (self.M, -(-height // m), -(-width // m))

    def encode(self, x):
        check_images(x)
        return self.g_a(pad_to_multiple(x, self.multiple))

    def decode(self, code, size=None):
        """x_hat from a (quantized) latent; cropped to `size`, by default to frame_size
        when the code has its shape; clamped to [0, 1] outside training."""
        x_hat = self.synthesize(code)
        if size is None:
            fh, fw = self.frame_size
            if tuple(code.shape[-3:]) == self.code_shape(fh, fw):
                size = self.frame_size
        if size is not None:
            x_hat = x_hat[..., : size[0], : size[1]]
        return x_hat if self.training else x_hat.clamp(0, 1)

    def synthesize(self, y_hat):
        # One memory layout for every caller: frames permuted from N x H x W x 3 are
        # channels-last, so is y, and a conv gives other last bits in another layout;
        # the decoder's y_hat (from rANS symbols) is contiguous.
        return self.g_s(y_hat.contiguous())

    # ---- entropy models ---------------------------------------------------------------

    def aux_loss(self):
        """Quantile loss of the EntropyBottleneck (trains only its `quantiles`)."""
        return self.entropy_bottleneck.loss()

    def aux_parameters(self):
        return [self.entropy_bottleneck.quantiles]

    def update(self, force=True, update_quantiles=False):
        """Fill the CDF tables from the current parameters (before saving or coding)."""
        changed = self.entropy_bottleneck.update(force=force, update_quantiles=update_quantiles)
        gc = getattr(self, "gaussian_conditional", None)
        if gc is not None:
            changed |= gc.update_scale_table(get_scale_table(), force=force)
        return changed

    def has_cdf_tables(self):
        return all(m._quantized_cdf.numel() > 0 for m in self._entropy_models())

    def _entropy_models(self):
        return [m for m in self.modules() if isinstance(m, (EntropyBottleneck, GaussianConditional))]

    def load_state_dict(self, state_dict, strict=True, assign=False):
        # The CDF buffers' sizes depend on the trained distributions: resize ours to the
        # incoming ones first (empty ones too: a checkpoint saved before update()).
        for name, module in self.named_modules():
            if not isinstance(module, (EntropyBottleneck, GaussianConditional)):
                continue
            for buf in CDF_BUFFERS:
                key = f"{name}.{buf}"
                if key in state_dict and hasattr(module, buf) and isinstance(getattr(module, buf), torch.Tensor):
                    incoming = state_dict[key]
                    setattr(module, buf, torch.empty(incoming.shape, dtype=incoming.dtype,
                                                     device=getattr(module, buf).device))
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _medians(self, n, size):
        """The EntropyBottleneck's medians as N x C x 1 x 1 (as its compress builds them)."""
        eb = self.entropy_bottleneck
        medians = eb._extend_ndims(eb._get_medians().detach(), len(size))
        return medians.expand(n, *([-1] * (len(size) + 1)))

    def _require_tables(self):
        if not self.has_cdf_tables():
            raise RuntimeError("entropy model has no CDF tables: call update() first")


@register(
    "factorized",
    {"N": 64, "M": 96, "lmbda": DEFAULT_LMBDA, "frame_size": list(REFERENCE_FRAME_SIZE)},
    "Balle learned factorized prior (GDN conv codec, EntropyBottleneck, rANS), rate + lambda*MSE",
)
class FactorizedPrior(EntropyCodedAutoencoder):
    def __init__(self, N=64, M=96, lmbda=DEFAULT_LMBDA, frame_size=REFERENCE_FRAME_SIZE):
        super().__init__(N, M, lmbda, frame_size)
        self.entropy_bottleneck = checked(EntropyBottleneck(M))

    def forward(self, x):
        y = self.encode(x)
        y_hat, y_likelihoods = self.entropy_bottleneck(y)
        x_hat = self.decode(y_hat, size=x.shape[-2:])
        return {"x_hat": x_hat, "code": y, "likelihoods": {"y": y_likelihoods}}

    @torch.no_grad()
    def compress(self, x):
        """-> {"strings": [y strings], "shape", "symbols"}: symbols are the int32 values
        the strings code (round(y - medians)), for the video mode's prediction."""
        self._require_tables()
        y = self.encode(x)
        medians = self._medians(y.shape[0], y.shape[-2:])
        symbols = _codable(self.entropy_bottleneck.quantize(y, "symbols", medians))
        return {"strings": [self.entropy_bottleneck.compress(y)], "shape": tuple(y.shape[-2:]),
                "symbols": symbols}

    @torch.no_grad()
    def decompress_symbols(self, strings, shape):
        """int32 N x M x h x w symbols from the y strings (bounds-checked rANS)."""
        self._require_tables()
        eb = self.entropy_bottleneck
        indexes = eb._build_indexes((len(strings[0]), eb._quantized_cdf.size(0), *shape))
        return EntropyModel.decompress(eb, strings[0], indexes.to(eb._quantized_cdf.device), torch.int32)

    def symbols_to_latent(self, symbols):
        """y_hat = symbols + medians, CompressAI's dequantization (the same float ops)."""
        return self.entropy_bottleneck.dequantize(symbols, self._medians(symbols.shape[0], symbols.shape[-2:]))

    @torch.no_grad()
    def decompress(self, strings, shape):
        """x_hat at the padded size, in [0, 1] (the caller crops)."""
        y_hat = self.symbols_to_latent(self.decompress_symbols(strings, tuple(shape)))
        return self.synthesize(y_hat).clamp_(0, 1)


@register(
    "hyperprior",
    {"N": 64, "M": 96, "lmbda": DEFAULT_LMBDA, "frame_size": list(REFERENCE_FRAME_SIZE)},
    "Balle scale hyperprior (GDN conv codec, Gaussian conditional + hyper-latent, rANS), rate + lambda*MSE",
)
class ScaleHyperprior(EntropyCodedAutoencoder):
    def __init__(self, N=64, M=96, lmbda=DEFAULT_LMBDA, frame_size=REFERENCE_FRAME_SIZE):
        super().__init__(N, M, lmbda, frame_size)
        self.entropy_bottleneck = checked(EntropyBottleneck(N))
        self.gaussian_conditional = checked(GaussianConditional(None))
        self.h_a = nn.Sequential(conv(M, N, stride=1, kernel_size=3), nn.ReLU(inplace=True),
                                 conv(N, N), nn.ReLU(inplace=True), conv(N, N))
        self.h_s = nn.Sequential(deconv(N, N), nn.ReLU(inplace=True), deconv(N, N), nn.ReLU(inplace=True),
                                 conv(N, M, stride=1, kernel_size=3), nn.ReLU(inplace=True))

    @staticmethod
    def hyper_shape(y_shape):
        """Spatial size of z for a latent y of spatial size (h, w): two stride-2 convs."""
        h, w = y_shape
        for _ in range(2):
            h, w = -(-h // 2), -(-w // 2)
        return h, w

    def forward(self, x):
        y = self.encode(x)
        z = self.h_a(torch.abs(y))
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales = self.h_s(z_hat)[..., : y.shape[-2], : y.shape[-1]]  # crop 16x12 -> 13x10
        y_hat, y_likelihoods = self.gaussian_conditional(y, scales)
        x_hat = self.decode(y_hat, size=x.shape[-2:])
        return {"x_hat": x_hat, "code": y, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def scale_indexes(self, z_hat, y_shape):
        """Gaussian table index per element of y, computed reproducibly (see module doc)."""
        scales_fx = IntegerHyperSynthesis(self.h_s)(z_hat)[..., : y_shape[0], : y_shape[1]]
        return indexes_from_fixed_point(scales_fx, self.gaussian_conditional.scale_table)

    @torch.no_grad()
    def compress(self, x):
        self._require_tables()
        y = self.encode(x)
        symbols = _codable(self.gaussian_conditional.quantize(y, "symbols"))
        z = self.h_a(torch.abs(y))
        _codable(self.entropy_bottleneck.quantize(z, "symbols", self._medians(z.shape[0], z.shape[-2:])))
        z_strings = self.entropy_bottleneck.compress(z)
        # The decoder's z_hat, made the decoder's way (rANS symbols + medians).
        z_hat = self.entropy_bottleneck.decompress(z_strings, tuple(z.shape[-2:]))
        indexes = self.scale_indexes(z_hat, y.shape[-2:]).to(y.device)
        y_strings = self.gaussian_conditional.compress(y, indexes)
        # symbols: the int32 values the y strings code (round(y)), for the video mode
        return {"strings": [y_strings, z_strings], "shape": tuple(z.shape[-2:]),
                "y_shape": tuple(y.shape[-2:]), "symbols": symbols}

    @torch.no_grad()
    def decompress_symbols(self, strings, shape, y_shape=None):
        """int32 N x M x h x w symbols of y from [y_strings, z_strings] (see decompress)."""
        self._require_tables()
        y_strings, z_strings = strings
        if y_shape is None:
            y_shape = (4 * shape[0], 4 * shape[1])
        z_hat = self.entropy_bottleneck.decompress(z_strings, tuple(shape))
        indexes = self.scale_indexes(z_hat, tuple(y_shape)).to(z_hat.device)
        return self.gaussian_conditional.decompress(y_strings, indexes, torch.int32)

    def symbols_to_latent(self, symbols):
        """y_hat: the symbols as floats (the Gaussian conditional has no means here)."""
        return self.gaussian_conditional.dequantize(symbols, None, torch.float32)

    @torch.no_grad()
    def decompress(self, strings, shape, y_shape=None):
        """strings = [y_strings, z_strings]; shape = z's (h, w); y_shape = y's (h, w)
        (default: the largest y that gives this z, i.e. 4 * shape - the caller should
        pass the real one). Returns x_hat at the padded size, in [0, 1]."""
        y_hat = self.symbols_to_latent(self.decompress_symbols(strings, shape, y_shape))
        return self.synthesize(y_hat).clamp_(0, 1)


# CompressAI's rANS encoder never returns on an escape value >= 2^28 (it shifts a uint32
# by 32 bits); values that large only come from broken weights, so refuse them first.
MAX_SYMBOL = 1 << 26


def _codable(symbols):
    if symbols.numel() and int(symbols.abs().max()) >= MAX_SYMBOL:
        raise ValueError(f"latent values of {int(symbols.abs().max())} are beyond the rANS coder's "
                         f"range (|value| < {MAX_SYMBOL}); the weights look broken")
    return symbols


__all__ = ["FactorizedPrior", "ScaleHyperprior", "EntropyCodedAutoencoder", "IntegerHyperSynthesis",
           "indexes_from_fixed_point"]
