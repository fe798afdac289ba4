"""Architectures by name, built from a JSON-able config.

A model config is a flat dict: {"arch": NAME, option: value, ...}. Every option
has a default (see `default_config`), so {"arch": "conv5"} alone builds the
reference conv5. A run's config.json keeps the model config under "model", so
`build_model(json.load(open("config.json")))` rebuilds the model too.

Every registered model is a plain nn.Module with
    encode(x) -> code      x: float N x 3 x H x W in [0, 1]
    decode(code) -> x_hat  float N x 3 x H x W in [0, 1] (in eval mode)
    forward(x) -> dict     {"x_hat": ..., "code": ...} (+ model-specific terms),
                           CompressAI style, so that losses read what they need
and a `code_quantizer` submodule (identity by default) that training replaces
with a differentiable quantizer (learned_codec.quant.training) so that forward()
decodes the code it will be stored as.
"""
from dataclasses import dataclass, field

from learned_codec.errors import UserError


@dataclass
class Arch:
    name: str
    builder: type
    defaults: dict = field(default_factory=dict)
    description: str = ""


ARCHS = {}
# Where each architecture is defined: imported when the name is first asked for, so that
# naming an architecture (the CLI, a config check) loads only its family (CompressAI only
# for the entropy models), and so that the palette model lives with its codec.
FAMILIES = {
    "fc": "learned_codec.models.fc", "fc-deep": "learned_codec.models.fc",
    "conv4": "learned_codec.models.conv", "conv5": "learned_codec.models.conv",
    "vae": "learned_codec.models.vae",
    "factorized": "learned_codec.models.entropy", "hyperprior": "learned_codec.models.entropy",
    "palette": "learned_codec.palette.model", "palette-generic": "learned_codec.palette.generic",
}


def register(name, defaults, description):
    """Class decorator: make a model class buildable as `name` with `defaults`."""

    def wrap(cls):
        if name in ARCHS:
            raise ValueError(f"architecture {name!r} registered twice")
        ARCHS[name] = Arch(name, cls, dict(defaults), description)
        return cls

    return wrap


def arch_names():
    return sorted(FAMILIES)


def get_arch(name):
    if name not in FAMILIES:
        raise UserError(f"unknown architecture {name!r}; choose one of {', '.join(arch_names())}")
    if name not in ARCHS:
        import importlib

        importlib.import_module(FAMILIES[name])
    return ARCHS[name]


def default_config(arch):
    """The full model config of `arch` with every option at its reference default."""
    return {"arch": arch, **get_arch(arch).defaults}


def model_config(config):
    """Accept a model config or a run config (with the model under "model")."""
    if not isinstance(config, dict):
        raise UserError(f"a model config must be a JSON object, not {type(config).__name__}")
    if "model" in config and isinstance(config["model"], dict):
        config = config["model"]
    if "arch" not in config:
        raise UserError("model config has no 'arch'")
    spec = get_arch(config["arch"])
    unknown = sorted(set(config) - set(spec.defaults) - {"arch"})
    if unknown:
        raise UserError(
            f"unknown option(s) {', '.join(unknown)} for arch {spec.name}; "
            f"known: {', '.join(sorted(spec.defaults))}"
        )
    config = {**default_config(spec.name), **config}
    check_ranges(config)
    return config


MAX_SIDE = 1 << 14
MAX_PIXELS = 4096 * 4096
MAX_PARAMETERS = 2 * 10 ** 9      # 8 GB of float32 weights (the reference fc-deep has 0.83 G)
# option -> (what it is, check): every option of every architecture, checked before building.
_INT_RANGES = {"code_channels": (1, 4096), "code_size": (1, 1 << 20), "N": (1, 1024), "M": (1, 1024),
               "colours": (1, 256), "backgrounds": (1, 32)}


_DENSE = ("fc", "fc-deep", "vae")  # dense layers: size grows with code_size x pixels (counted first)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _int_pair(v, lo, hi):
    return isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(d) and lo <= d <= hi for d in v)


def check_ranges(config):
    """Every size option an int within bounds (UserError naming the option and its range),
    so that a config never asks for a negative or absurd allocation."""
    arch = config.get("arch")

    def bad(key, allowed):
        raise UserError(f"model option {key}={config[key]!r:.60} for arch {arch} is invalid: {allowed}")

    for key, (lo, hi) in _INT_RANGES.items():
        if key in config and not (_is_int(config[key]) and lo <= config[key] <= hi):
            bad(key, f"an int in [{lo}, {hi}]")
    for key in ("frame_size", "screen_size"):
        if key in config:
            v = config[key]
            if not _int_pair(v, 1, MAX_SIDE) or v[0] * v[1] > MAX_PIXELS:
                bad(key, f"[height, width], ints in [1, {MAX_SIDE}], at most {MAX_PIXELS} pixels")
    if "grid" in config and not _int_pair(config["grid"], 1, 256):
        bad("grid", "[rows, columns], ints in [1, 256]")
    if "hidden" in config:
        v = config["hidden"]
        if not isinstance(v, (list, tuple)) or not 1 <= len(v) <= 16 or \
                not all(_is_int(d) and 1 <= d <= 1 << 16 for d in v):
            bad("hidden", f"a list of 1 to 16 ints in [1, {1 << 16}]")
    if "lmbda" in config:
        v = config["lmbda"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1e6:
            bad("lmbda", "a number in (0, 1e6)")
    if "blocks" in config and config["blocks"] not in ("per-position", "shared"):
        bad("blocks", "per-position or shared")


def build_model(config):
    """nn.Module for a model config (or run config); bad options -> UserError. Sizes are
    range-checked (check_ranges); for the dense architectures (fc, fc-deep, vae) the parameter
    count is taken on the meta device (no memory) before the real model is built: more than
    MAX_PARAMETERS is refused (the convolutional ones are bounded by their option ranges)."""
    config = model_config(config)
    spec = get_arch(config["arch"])
    options = {k: v for k, v in config.items() if k != "arch"}
    import torch

    if spec.name in _DENSE and torch.get_default_device().type != "meta":
        params = sum(p.numel() for p in _build(spec, options, device="meta").parameters())
        if params > MAX_PARAMETERS:
            raise UserError(f"{spec.name} with {options} would have {params} parameters "
                            f"({params * 4 / 2**30:.1f} GiB of float32), more than {MAX_PARAMETERS}")
    model = _build(spec, options)
    model.config = config
    return model


def _build(spec, options, device=None):
    import contextlib

    import torch

    try:
        with torch.device(device) if device else contextlib.nullcontext():
            return spec.builder(**options)
    except (TypeError, ValueError, RuntimeError) as e:
        raise UserError(f"cannot build {spec.name} from {options}: {e}") from None


def count_parameters(config_or_model):
    """Number of parameters; for a config the model is built on the meta device,
    so that even the 830 M-parameter per-position fc-deep costs no memory."""
    import torch

    if isinstance(config_or_model, torch.nn.Module):
        model = config_or_model
    else:
        with torch.device("meta"):
            model = build_model(config_or_model)
    return sum(p.numel() for p in model.parameters())
