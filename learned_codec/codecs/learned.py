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

from learned_codec.codecs.base import Codec, check_frames
from learned_codec.codecs.schema import check_budget
from learned_codec.container.format import (
    ContainerError,
    Meta,
    check_binding,
    pack,
    unpack,
)
from learned_codec.models import frames_to_tensor
from learned_codec.models.inference import inference_copy
from learned_codec.quant.entropy import EntropyCoding
from learned_codec.quant.latent import make_quantizer
from learned_codec.quant.training import trained_code_range

BATCH = 16
# Decoding synthesizes one frame at a time, on one CPU thread: a float convolution's last
# bit depends on the batch it runs in and on how its threads split the work (oneDNN picks
# kernels by shape and thread count), and a decoded uint8 pixel may then differ by 1. One
# frame per call on one thread makes a frame's pixels the same whatever file, batch,
# random-access cut-out (codecs/reader.py) or thread count it is decoded with; it costs
# CPU decode speed (the synthesis no longer uses the second core).
DECODE_BATCH = 1


class _one_cpu_thread:
    def __init__(self, device):
        self.cpu = torch.device(device).type == "cpu"

    def __enter__(self):
        if self.cpu:
            self.threads = torch.get_num_threads()
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        if self.cpu:
            torch.set_num_threads(self.threads)


MAX_PIXELS = 4096 * 4096  # per frame; a header may not ask for more


def trained_quant(config):
    """The latent quantization a run was trained with (its default at test time)."""
    return config.get("quant") or config.get("train", {}).get("quant") or "none"


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
        # The range the decoder was trained on; every test-time quantizer sees the code in it.
        self.code_range = trained_code_range(trained_quant(config))
        self.device = torch.device(device)
        self.fps = float(fps)
        self._code_shapes = {}
        self.name = f"{self.arch}-{quant}"
        self.setting = config.get("label", "")
        self.test_psnr = None   # set by load() from the run's test_metrics.json
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
        from learned_codec.models.checkpoint import load_model

        model, config = load_model(run_dir_or_name, device=device)
        codec = cls(model, config, quant=quant or trained_quant(config), quant_params=quant_params,
                    device=device)
        codec.setting = " ".join([str(run_dir_or_name)] + [f"{k}={v}" for k, v in sorted(quant_params.items())])
        # What the model reaches on its own test split (codecs/domain.py), when recorded.
        from learned_codec.codecs.domain import test_split_psnr
        from learned_codec.models.identity import resolve_run

        codec.test_psnr = test_split_psnr(resolve_run(run_dir_or_name))
        return codec

    def _make_quantizer(self, method, params):
        if method == "entropy":
            return EntropyCoding(self.model)
        return make_quantizer(method, **params)

    # ---- model side -------------------------------------------------------------

    @torch.no_grad()
    def encode_codes(self, frames):
        """uint8 N x H x W x 3 -> float32 codes N x *code_shape (CPU), in the trained range."""
        codes = []
        for i in range(0, len(frames), BATCH):
            x = torch.from_numpy(frames[i:i + BATCH]).to(self.device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            z = self.runtime.encode(x).float().cpu()
            codes.append(z.clamp(*self.code_range) if self.code_range else z)
            self.report_progress(len(x))
        return torch.cat(codes)

    @torch.no_grad()
    def decode_codes(self, codes, height, width):
        """float32 codes -> uint8 N x height x width x 3 frames."""
        out = []
        for i in range(0, len(codes), DECODE_BATCH):
            with _one_cpu_thread(self.device):
                x_hat = self.runtime.decode(codes[i:i + DECODE_BATCH].to(self.device))
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
        for i in range(0, len(symbols), DECODE_BATCH):
            with _one_cpu_thread(self.device):
                x_hat = self.quantizer.synthesize(symbols[i:i + DECODE_BATCH].to(self.device))[..., :height, :width]
            out.append(x_hat.mul(255).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu())
            self.report_progress(len(x_hat))
        return torch.cat(out).numpy()

    def entropy_decode(self, sections, code_shape, height, width):
        symbols = [self.quantizer.decode_symbols(sections[i:i + BATCH], code_shape)
                   for i in range(0, len(sections), BATCH)]
        return self.frames_from_symbols(torch.cat(symbols), height, width)

    def decode(self, data):
        meta, sections = unpack(data)
        if meta.mode != "intra":
            raise ContainerError(f"not an intra file (mode {meta.mode!r}): open it with codec_for_file")
        check_budget(meta, self.max_memory)  # the header's schema and the memory it asks for
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
