"""Learned codecs: a trained model + a latent quantizer + the .lcf container.

    codec = LearnedCodec.load("conv5", quant="naive")     # run folder or shipped name
    data = codec.encode(frames)      # uint8 N x H x W x 3 -> bytes of one .lcf file
    frames = codec.decode(data)      # -> uint8 N x H x W x 3

Every frame is coded on its own (one section per frame: an image codec), and
all frames of a call share one file, so its header (and a k-means codebook) is
paid once per file. The header binds the architecture and the SHA-256 of the
weights: decoding with another model is refused, never a wrong image.

quant="entropy" (entropy-coded models: factorized, hyperprior): the model's own
entropy model codes its latent with CompressAI's rANS coder (EntropyCoding below);
the header says {"method": "entropy"}.
"""
import torch

from .codec_api import Codec, check_frames
from .container import ContainerError, Meta, check_binding, pack, unpack
from .errors import UserError
from .models import frames_to_tensor
from .models.inference import inference_copy
from .quantizers import make_quantizer

BATCH = 16
MAX_PIXELS = 4096 * 4096  # per frame; a header may not ask for more
MIN_RANS_STRING = 8       # a rANS stream starts with its 64-bit state: shorter is corrupt


def _uvarint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def read_uvarint(p, i, what="payload"):
    """The uvarint at p[i:] -> (value < 2^35, index after it); ContainerError if cut or too long."""
    n, shift = 0, 0
    while True:
        if i >= len(p) or shift > 28:
            raise ContainerError(f"{what}: bad length prefix")
        n |= (p[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not p[i - 1] & 0x80:
            return n, i


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
        return [_uvarint(len(z)) + z + y for y, z in zip(*strings)], out["symbols"]

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


class LearnedCodec(Codec):
    kind = "video"  # one file for the whole sequence (header amortised)

    def __init__(self, model, config, quant="naive", quant_params=None, device="cpu", fps=15.0):
        self.model = model.to(device).eval()
        # What encode_codes/decode_codes run (BatchNorm folded, channels-last); the
        # entropy models' compress/decompress keep the original (they have no BatchNorm
        # and their rANS indexes must not depend on a layout change).
        self.runtime = inference_copy(self.model) if quant != "entropy" else self.model
        self.config = config
        self.arch = config["model"]["arch"]
        self.weights_sha256 = config["weights_sha256"]
        self.quant = quant
        self.quantizer = self._make_quantizer(quant, quant_params or {})
        self.device = torch.device(device)
        self.fps = float(fps)
        self._code_shapes = {}
        self.name = f"{self.arch}-{quant}"
        self.setting = config.get("label", "")
        # Compressed models (compress-model) know their bytes on disk; their state_dict
        # may hold packed int8 parameters that are not plain tensors.
        self.model_bytes = getattr(model, "stored_bytes", None) or sum(
            p.numel() * p.element_size() for p in model.state_dict().values())
        # Entries of one 200x160 frame's code: the reference report's "compression ratio".
        h, w = config["model"].get("frame_size", (200, 160))
        self.code_entries = 1
        for d in self.code_shape(h, w):
            self.code_entries *= int(d)

    @classmethod
    def load(cls, run_dir_or_name, quant=None, device="cpu", **quant_params):
        """A codec from a run folder or shipped model; quant defaults to the one it trained with."""
        from .checkpoint import load_model

        model, config = load_model(run_dir_or_name, device=device)
        trained_quant = config.get("quant") or config.get("train", {}).get("quant") or "none"
        codec = cls(model, config, quant=quant or trained_quant, quant_params=quant_params,
                    device=device)
        codec.setting = str(run_dir_or_name)
        return codec

    def _make_quantizer(self, method, params):
        if method == "entropy":
            return EntropyCoding(self.model)
        return make_quantizer(method, **params)

    # ---- model side -------------------------------------------------------------

    @torch.no_grad()
    def encode_codes(self, frames):
        """uint8 N x H x W x 3 -> float32 codes N x *code_shape (CPU)."""
        codes = []
        for i in range(0, len(frames), BATCH):
            x = torch.from_numpy(frames[i:i + BATCH]).to(self.device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            codes.append(self.runtime.encode(x).float().cpu())
            self.report_progress(len(x))
        return torch.cat(codes)

    @torch.no_grad()
    def decode_codes(self, codes, height, width):
        """float32 codes -> uint8 N x height x width x 3 frames."""
        out = []
        for i in range(0, len(codes), BATCH):
            x_hat = self.runtime.decode(codes[i:i + BATCH].to(self.device))
            x_hat = x_hat[..., :height, :width].clamp(0, 1)
            out.append(x_hat.mul(255).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu())
            self.report_progress(len(x_hat))
        return torch.cat(out).numpy()

    def code_shape(self, height, width):
        """Shape of one frame's code for H x W input.

        Asked of the model's own code_shape when it has one (fully convolutional
        models), else by running the encoder once on zeros, which fixed-size models
        only accept at their frame size (the size is checked before anything runs)."""
        if height * width > MAX_PIXELS:
            raise ContainerError(f"{height}x{width} frames exceed the {MAX_PIXELS} pixel limit")
        if hasattr(self.model, "code_shape"):
            return tuple(int(d) for d in self.model.code_shape(height, width))
        key = (height, width)
        if key not in self._code_shapes:
            with torch.no_grad():
                z = self.model.encode(torch.zeros(1, 3, height, width, device=self.device))
            self._code_shapes[key] = tuple(z.shape[1:])
        return self._code_shapes[key]

    # ---- codec interface -------------------------------------------------------

    def encode(self, frames):
        frames = check_frames(frames)
        n, h, w, _ = frames.shape
        if self.quant == "entropy":
            payloads, file_params = self.entropy_encode(frames)[0], {}
            code_shape = self.code_shape(h, w)
        else:
            codes = self.encode_codes(frames)
            payloads, file_params = self.quantizer.encode(codes)
            code_shape = codes.shape[1:]
        meta = Meta(arch=self.arch, weights_sha256=self.weights_sha256, height=h, width=w,
                    frames=n, fps=self.fps, mode="intra",
                    quantizer={"method": self.quant, **self.quantizer.params(), **file_params},
                    extra={"code_shape": list(code_shape)})
        return pack(meta, payloads)

    @torch.no_grad()
    def entropy_encode(self, frames):
        """uint8 frames -> (one rANS payload per frame, int32 N x *code_shape symbols)."""
        payloads, symbols = [], []
        for i in range(0, len(frames), BATCH):
            p, s = self.quantizer.encode_with_symbols(frames_to_tensor(frames[i:i + BATCH], self.device))
            payloads += p
            symbols.append(s.cpu())
            self.report_progress(len(s))
        return payloads, torch.cat(symbols)

    @torch.no_grad()
    def frames_from_symbols(self, symbols, height, width):
        """int32 N x *code_shape entropy-model symbols -> uint8 N x height x width x 3 frames."""
        out = []
        for i in range(0, len(symbols), BATCH):
            x_hat = self.quantizer.synthesize(symbols[i:i + BATCH].to(self.device))[..., :height, :width]
            out.append(x_hat.mul(255).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu())
            self.report_progress(len(x_hat))
        return torch.cat(out).numpy()

    def entropy_decode(self, sections, code_shape, height, width):
        symbols = [self.quantizer.decode_symbols(sections[i:i + BATCH], code_shape)
                   for i in range(0, len(sections), BATCH)]
        return self.frames_from_symbols(torch.cat(symbols), height, width)

    def decode(self, data):
        meta, sections = unpack(data)
        self.check_compatible(meta)
        if len(sections) != meta.frames:
            raise ContainerError(f"file declares {meta.frames} frames but holds {len(sections)}")
        expected = self.expected_code_shape(meta)
        if self.quant == "entropy":
            return self.entropy_decode(sections, expected, meta.height, meta.width)
        codes = self.quantizer.decode(sections, meta.quantizer, expected)
        return self.decode_codes(codes, meta.height, meta.width)

    def expected_code_shape(self, meta):
        """The model's code shape for the file's frame size; must equal the header's."""
        expected = self.code_shape(meta.height, meta.width)
        if tuple(meta.extra.get("code_shape", ())) != expected:
            raise ContainerError(f"code shape {meta.extra.get('code_shape')} does not match "
                                 f"the model's {list(expected)} for {meta.height}x{meta.width}")
        return expected

    def check_compatible(self, meta):
        check_binding(meta, self.arch, self.weights_sha256)
        method = meta.quantizer.get("method")
        if method != self.quant or method == "kmeans":
            # The file says how its code was quantized (k-means: k and vector size).
            params = {}
            if method == "kmeans":
                params = {k: meta.quantizer.get(k) for k in ("k", "dim", "iters", "seed")
                          if k in meta.quantizer}
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in params.values()):
                    raise ContainerError("file's k-means parameters are not integers")
            try:
                self.quantizer = self._make_quantizer(method, params)
            except (ValueError, TypeError) as e:
                raise ContainerError(f"file's quantizer is invalid: {e}") from None
            self.quant = method


def parse_codec_spec(spec):
    """'RUN_DIR_OR_NAME[:QUANT[:k=256,dim=1,gop=30]]' -> (source, quant or None, params).

    gop=N asks for the video mode (temporal prediction, a key frame every N)."""
    parts = str(spec).split(":")
    source, quant, params = parts[0], None, {}
    if len(parts) > 1 and parts[1]:
        quant = parts[1]
    if len(parts) > 2 and parts[2]:
        for item in parts[2].split(","):
            key, _, value = item.partition("=")
            try:
                params[key.strip()] = int(value)
            except ValueError:
                raise UserError(f"bad quantizer option {item!r} in {spec!r} (expected key=int)") from None
    if len(parts) > 3:
        raise UserError(f"bad codec spec {spec!r}: use RUN_DIR[:QUANT[:k=256,dim=1,gop=30]]")
    return source, quant, params


def model_arch(run_dir_or_name):
    """The architecture of a run folder or shipped model (from its config), before loading it."""
    from .checkpoint import load_config, resolve_run

    run_dir = resolve_run(run_dir_or_name)
    if (run_dir / "config.json").is_file():
        return load_config(run_dir)["model"].get("arch")
    return None


def open_codec(run_dir_or_name, quant=None, device="cpu", **quant_params):
    """The codec of a run folder or shipped model: a PaletteCodec for the palette model
    (it has no latent quantizer: quant must be None or "context"), else a LearnedCodec."""
    if model_arch(run_dir_or_name) == "palette":
        from .palette_codec import PaletteCodec

        if quant not in (None, "context") or quant_params:
            raise UserError(f"{run_dir_or_name} is a palette model: it codes losslessly with its "
                            f"context model and takes no quantizer ({quant!r} given)")
        return PaletteCodec.load(run_dir_or_name)
    return LearnedCodec.load(run_dir_or_name, quant=quant, device=device, **quant_params)


def load_codecs(specs, device="cpu"):
    """Learned codecs for the evaluation harness, one per spec (see parse_codec_spec)."""
    from .video import make_video_codec

    codecs = []
    for spec in specs:
        source, quant, params = parse_codec_spec(spec)
        gop = params.pop("gop", None)
        try:
            codec = open_codec(source, quant=quant, device=device, **params)
            codecs.append(codec if gop is None else make_video_codec(codec, gop=gop))
        except (ValueError, TypeError) as e:
            raise UserError(f"{spec}: {e}") from None
    return codecs


__all__ = ["LearnedCodec", "load_codecs", "open_codec", "parse_codec_spec"]
