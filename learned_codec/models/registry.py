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
    "palette": "learned_codec.palette.model",
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
    return {**default_config(spec.name), **config}


def build_model(config):
    """nn.Module for a model config (or run config); bad options -> UserError."""
    config = model_config(config)
    spec = get_arch(config["arch"])
    options = {k: v for k, v in config.items() if k != "arch"}
    try:
        model = spec.builder(**options)
    except (TypeError, ValueError) as e:
        raise UserError(f"cannot build {spec.name} from {options}: {e}") from None
    model.config = config
    return model


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
