"""Which model a run folder or shipped name holds, read without torch.

A model's identity is its architecture (config.json) and the SHA-256 of its weights
(in the metadata of model.safetensors, bound by every .lcf file it writes). Both are
read from the files' headers only, so that the CLI can pair a file with a model, or
refuse the pair, before it imports torch or builds anything.
"""
import json
import struct
from pathlib import Path

from learned_codec.errors import UserError

# Where shipped weights live: resolve_run("conv5") finds learned_codec/weights/conv5/.
SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
CONFIG_NAME = "config.json"
BEST_NAME = "model.safetensors"
# Entropy-coded architectures (models/entropy.py; tests check this against the registry).
ENTROPY_ARCHS = ("factorized", "hyperprior")
MAX_SAFETENSORS_HEADER = 100 << 20


def shipped_names():
    return sorted(p.name for p in SHIPPED_WEIGHTS_DIR.glob("*") if (p / BEST_NAME).is_file())


def resolve_run(run_dir_or_name):
    """A run folder, or the folder of a shipped model by name; UserError if neither."""
    path = Path(run_dir_or_name)
    if path.is_dir():
        return path
    shipped = SHIPPED_WEIGHTS_DIR / str(run_dir_or_name)
    if str(run_dir_or_name) and "/" not in str(run_dir_or_name) and shipped.is_dir():
        return shipped
    raise UserError(f"no model at {run_dir_or_name}: not a run folder, nor a shipped model "
                    f"(shipped: {', '.join(shipped_names()) or 'none'})")


def safetensors_metadata(path):
    """The __metadata__ of a .safetensors file, from its header alone (UserError if unreadable)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if not 2 <= n <= MAX_SAFETENSORS_HEADER:
                raise ValueError(f"header length {n}")
            header = json.loads(f.read(n))
        meta = header.get("__metadata__") or {}
        if not isinstance(meta, dict):
            raise ValueError("metadata is not an object")
        return meta
    except FileNotFoundError:
        raise UserError(f"missing checkpoint file {path}") from None
    except (OSError, ValueError, struct.error, AttributeError) as e:
        raise UserError(f"{path} is not a readable safetensors file ({e})") from None


def model_identity(run_dir_or_name):
    """(arch, weights_sha256) of a run folder or shipped model, from its headers only."""
    run_dir = resolve_run(run_dir_or_name)
    meta = safetensors_metadata(run_dir / BEST_NAME)
    arch = None
    if (run_dir / CONFIG_NAME).is_file():
        try:
            arch = json.loads((run_dir / CONFIG_NAME).read_text())["model"]["arch"]
        except (ValueError, KeyError, TypeError, OSError) as e:
            raise UserError(f"{run_dir / CONFIG_NAME} names no model arch ({e})") from None
    elif "model_config" in meta:
        try:
            arch = json.loads(meta["model_config"])["arch"]
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(f"{run_dir / BEST_NAME}: bad model_config ({e})") from None
    if not isinstance(arch, str):
        raise UserError(f"missing {run_dir / CONFIG_NAME}")
    return arch, str(meta.get("weights_sha256", ""))


def shipped_model_for(arch, weights_sha256):
    """The name of the shipped model with this architecture and weights, or None."""
    for name in shipped_names():
        try:
            if model_identity(name) == (arch, weights_sha256):
                return name
        except UserError:
            continue
    return None
