"""The codec registry: ONE table from a container mode to the codec class that reads it.

    codec = open_codec("conv5")                   # a shipped model or run folder -> its codec
    codec = make_video_codec(codec, gop=25)       # the video mode of that codec
    codec = codec_for_file(meta)                  # the codec a file needs (its model from the
                                                  # header's arch; refused if weights differ)

A file's header names its mode (intra, latent-delta, entropy-delta, palette) and the
architecture and weight hash it was written with; `check_model_for_file` is the one place
that decides whether a model and a file belong together and says which model the file
needs when they do not.
"""
from dataclasses import dataclass

from learned_codec.container.format import ContainerError
from learned_codec.errors import UserError
from learned_codec.models.identity import (
    ENTROPY_ARCHS,
    model_identity,
    shipped_model_for,
)

PALETTE_ARCH = "palette"
GENERIC_PALETTE_ARCH = "palette-generic"


@dataclass(frozen=True)
class Mode:
    """A container mode: which model families write it and how its file is read."""

    name: str
    archs: str            # "palette", "entropy" (entropy-coded archs) or "latent" (the others)
    video: bool           # whether the codec is the video wrapper of an image codec


MODES = {m.name: m for m in (
    Mode("intra", "any-learned", video=False),        # LearnedCodec: one section per frame
    Mode("latent-delta", "latent", video=True),       # LearnedVideoCodec (codecs/video.py)
    Mode("entropy-delta", "entropy", video=True),     # EntropyVideoCodec (codecs/video.py)
    Mode("palette", "palette", video=False),          # PaletteCodec reads its image and video files
)}


def _family(arch):
    if arch in (PALETTE_ARCH, GENERIC_PALETTE_ARCH):
        return "palette"
    return "entropy" if arch in ENTROPY_ARCHS else "latent"


def _mode_takes(mode, arch):
    family = _family(arch)
    return mode.archs == family or (mode.archs == "any-learned" and family != "palette")


def check_model_for_file(meta, model, where="file"):
    """The one check that a model (run folder or shipped name) can decode a file of `meta`:
    the file's mode must be one the model's family writes, its architecture the model's and
    its weight hash the model's weights'. Otherwise a UserError naming the model the file
    needs (a shipped one when one matches, else its architecture and weights)."""
    mode = MODES.get(meta.mode)
    if mode is None:
        raise ContainerError(f"{where}: unknown coding mode {meta.mode!r}; known: {', '.join(MODES)}")
    if not _mode_takes(mode, meta.arch):
        raise ContainerError(f"{where}: mode {meta.mode!r} cannot come from a {meta.arch!r} model")
    arch, sha = model_identity(model)
    if (arch, sha) == (meta.arch, meta.weights_sha256):
        return
    needed = shipped_model_for(meta.arch, meta.weights_sha256)
    hint = f"pass --model {needed}" if needed else \
        f"it needs the {meta.arch} model with weights {meta.weights_sha256[:12]}… (a run folder)"
    what = f"a {arch} model" if arch != meta.arch else f"{meta.arch} weights {sha[:12]}…"
    raise UserError(f"{where} was encoded with a {meta.arch} model (weights {meta.weights_sha256[:12]}…), "
                    f"but {model} is {what}: {hint}")


def default_model_for_file(meta, where="file"):
    """The shipped model that decodes a file, or a UserError saying what the file needs."""
    needed = shipped_model_for(meta.arch, meta.weights_sha256)
    if needed is None:
        raise UserError(f"{where} was encoded with a {meta.arch} model (weights "
                        f"{meta.weights_sha256[:12]}…) that is not shipped: pass --model RUN_DIR")
    return needed


def codec_for_file(meta, model=None, device="cpu", where="file", max_memory=None):
    """The codec that decodes a file of `meta`: the header validated (codecs/schema.py: every
    field, and the memory its decode needs against `max_memory`, default 2 GiB) before any
    model is loaded, its model (default: the shipped one that wrote it) checked against the
    header, then the reader of the file's mode (with the same budget)."""
    from learned_codec.codecs.schema import check_budget, max_memory as budget

    limit = budget(max_memory)
    check_budget(meta, limit, where)
    model = model or default_model_for_file(meta, where)
    check_model_for_file(meta, model, where)
    codec = _codec_for_mode(meta, model, device, where)
    codec.max_memory = limit
    return codec


def _codec_for_mode(meta, model, device, where):
    mode = MODES[meta.mode]
    if mode.name == "palette" and meta.arch == GENERIC_PALETTE_ARCH:
        from learned_codec.palette.generic_codec import GenericPaletteCodec

        return GenericPaletteCodec.load(model)
    if mode.name == "palette":
        from learned_codec.palette.codec import PaletteCodec

        return PaletteCodec.load(model)
    from learned_codec.codecs.learned import LearnedCodec
    from learned_codec.codecs.video import EntropyVideoCodec, LearnedVideoCodec

    method = meta.quantizer.get("method")
    if (method == "entropy") != (_family(meta.arch) == "entropy"):
        raise ContainerError(f"{where}: quantizer {method!r} does not fit a {meta.arch} model")
    try:
        codec = LearnedCodec.load(model, quant=method, device=device)
    except (ValueError, TypeError) as e:
        raise ContainerError(f"{where}: invalid quantizer in the header ({e})") from None
    if not mode.video:
        return codec
    return (EntropyVideoCodec if mode.name == "entropy-delta" else LearnedVideoCodec)(codec)


def open_codec(run_dir_or_name, quant=None, device="cpu", **quant_params):
    """The codec of a run folder or shipped model: a PaletteCodec for the palette model
    (it has no latent quantizer: quant must be None or "context"), else a LearnedCodec."""
    arch, _ = model_identity(run_dir_or_name)
    if arch in (PALETTE_ARCH, GENERIC_PALETTE_ARCH):
        if quant not in (None, "context") or quant_params:
            raise UserError(f"{run_dir_or_name} is a palette model: it codes losslessly with its "
                            f"context model and takes no quantizer ({quant!r} given)")
        if arch == GENERIC_PALETTE_ARCH:
            from learned_codec.palette.generic_codec import GenericPaletteCodec

            return GenericPaletteCodec.load(run_dir_or_name)
        from learned_codec.palette.codec import PaletteCodec

        return PaletteCodec.load(run_dir_or_name)
    from learned_codec.codecs.learned import LearnedCodec

    try:
        return LearnedCodec.load(run_dir_or_name, quant=quant, device=device, **quant_params)
    except (ValueError, TypeError) as e:
        raise UserError(f"{run_dir_or_name}: {e}") from None


def make_video_codec(image_codec, gop):
    """The video mode of a codec: latent-delta for uint8-symbol quantizers, entropy-delta for
    the entropy-coded models; the palette codec has its own (with_gop)."""
    if hasattr(image_codec, "with_gop"):
        return image_codec.with_gop(gop)
    from learned_codec.codecs.video import EntropyVideoCodec, LearnedVideoCodec

    try:
        if image_codec.quant == "entropy":
            return EntropyVideoCodec(image_codec, gop)
        return LearnedVideoCodec(image_codec, gop)
    except ValueError as e:
        raise UserError(str(e)) from None


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



def load_codecs(specs, device="cpu"):
    """Learned codecs for the evaluation harness, one per spec (see parse_codec_spec)."""
    codecs = []
    for spec in specs:
        source, quant, params = parse_codec_spec(spec)
        gop = params.pop("gop", None)
        try:
            codec = open_codec(source, quant=quant, device=device, **params)
            codecs.append(codec if gop is None else make_video_codec(codec, gop=gop))
        except UserError as e:
            raise UserError(f"{spec}: {e}") from None
    return codecs
