"""quant "entropy": a latent codec over an entropy-coded model (factorized, hyperprior).

As CompressAI's latent_codecs: a small class that turns a batch of images into one rANS
payload per frame (compress) and back (decompress); the container binds the model's weights
(and so its CDF tables) by their SHA-256."""
import torch

from learned_codec.container.format import ContainerError
from learned_codec.container.varint import read_uvarint, write_uvarint
from learned_codec.errors import UserError

MIN_RANS_STRING = 8       # a rANS stream starts with its 64-bit state: shorter is corrupt


def _split_hyperprior_payload(p):
    """uvarint(len z) + z string + y string -> (y string, z string), every length checked."""
    n, i = read_uvarint(p, 0, "entropy payload")
    z, y = p[i:i + n], p[i + n:]
    if len(z) != n or len(z) < MIN_RANS_STRING or len(y) < MIN_RANS_STRING:
        raise ContainerError("entropy payload: truncated rANS strings")
    return bytes(y), bytes(z)


class EntropyCoding:
    """quant "entropy": the latent coded by the model's entropy model (rANS strings).

    One container section per frame: factorized: its y string; hyperprior:
    uvarint(len z string) + z string + y string (a length prefix costs 1-2 bytes, a
    second section 8). The CDF tables are the ones stored with the weights (bound by
    their SHA-256), never recomputed here; models/entropy.py explains why the
    hyperprior's table choice decodes the same on any device and thread count."""

    method = "entropy"

    def __init__(self, model):
        if not getattr(model, "entropy_coded", False):
            raise ValueError("quantizer 'entropy' needs an entropy-coded model (factorized, hyperprior)")
        if not model.has_cdf_tables():
            raise ValueError("the model's weights hold no CDF tables (saved before model.update())")
        self.model = model
        self.hyperprior = hasattr(model, "hyper_shape")

    def params(self):
        return {}

    def encode(self, x):
        """float N x 3 x H x W -> one payload (bytes) per frame."""
        return self.encode_with_symbols(x)[0]

    def encode_with_symbols(self, x):
        """-> (one payload per frame, int32 N x M x h x w symbols those payloads code)."""
        try:
            out = self.model.compress(x)
        except ValueError as e:  # latents beyond the rANS coder's range (broken weights)
            raise UserError(f"cannot entropy-code these frames: {e}") from None
        strings = out["strings"]
        if not self.hyperprior:
            return list(strings[0]), out["symbols"]
        return [write_uvarint(len(z)) + z + y for y, z in zip(*strings)], out["symbols"]

    def decode_symbols(self, payloads, code_shape):
        """Payloads -> the int32 N x M x h x w symbols they code."""
        y_shape = tuple(code_shape[1:])
        try:
            if not self.hyperprior:
                if any(len(p) < MIN_RANS_STRING for p in payloads):
                    raise ContainerError("entropy payload: truncated rANS string")
                return self.model.decompress_symbols([[bytes(p) for p in payloads]], y_shape)
            y, z = zip(*(_split_hyperprior_payload(p) for p in payloads))
            return self.model.decompress_symbols([list(y), list(z)], self.model.hyper_shape(y_shape), y_shape)
        except (RuntimeError, ValueError) as e:
            raise ContainerError(f"entropy payload does not decode: {str(e).splitlines()[0]}") from None

    @torch.no_grad()
    def synthesize(self, symbols):
        """int32 symbols -> float x_hat N x 3 x H' x W' (the padded size) in [0, 1]."""
        return self.model.synthesize(self.model.symbols_to_latent(symbols)).clamp_(0, 1)

    def decode(self, payloads, code_shape):
        """-> float x_hat N x 3 x H' x W' (the padded size) in [0, 1]."""
        return self.synthesize(self.decode_symbols(payloads, code_shape))
