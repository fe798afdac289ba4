"""Run folders: config, weights (best and last), optimizer and RNG state for resume.

    RUN_DIR/config.json                  run config: {"model": {...}, "train": {...}, "quant": ...}
    RUN_DIR/model.safetensors            best weights (highest validation PSNR): what
                                         `load_model` and the codecs use
    RUN_DIR/last.json                    {"checkpoint": "checkpoints/step-00000123", ...}
    RUN_DIR/checkpoints/step-NNNNNNNN/   the last training state, complete:
        model.safetensors                weights
        trainer.safetensors              optimizer tensors + RNG states
        state.json                       epoch, step, optimizer hyper-parameters, best metric

Never pickles: tensors go to safetensors, everything else to JSON. Every file is
written atomically (temp + rename); the last state is a whole new folder that
last.json points to only once it is complete, so a kill at any moment leaves
the previous state intact. Each .safetensors file carries, in its metadata, the
SHA-256 of its tensors (`weights_sha256`), checked on load: a truncated or
bit-flipped file is a UserError, not a silently different model. The codec
container binds the weights' hash.
"""
import hashlib
import json
import shutil
from pathlib import Path

import torch

from .errors import UserError
from .fileio import atomic_write_bytes, atomic_write_json

CONFIG_NAME = "config.json"
BEST_NAME = "model.safetensors"
LAST_POINTER = "last.json"
CHECKPOINTS_DIR = "checkpoints"
# Where shipped weights live: load_model("conv5") finds learned_codec/weights/conv5/.
SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def weights_sha256(tensors):
    """SHA-256 over (name, dtype, shape, bytes) of each tensor in name order.

    Independent of file layout and metadata, so the same weights always hash the same."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}\0{str(t.dtype)}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _plain(tensors):
    """CPU, contiguous, unshared copies (safetensors refuses shared storage)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}


def save_tensors(path, tensors, metadata=None):
    from safetensors.torch import save

    tensors = _plain(tensors)
    meta = {k: str(v) for k, v in (metadata or {}).items()}
    meta["weights_sha256"] = weights_sha256(tensors)
    atomic_write_bytes(path, save(tensors, metadata=meta))
    return meta["weights_sha256"]


def load_tensors(path):
    """(tensors, metadata) from a .safetensors file; missing/corrupt -> UserError."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing checkpoint file {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for bad headers/lengths
        raise UserError(f"{path} is not a readable safetensors file ({type(e).__name__}: {e})") from None
    expected = metadata.get("weights_sha256")
    if expected is None:
        raise UserError(f"{path} has no weights_sha256 in its metadata; not a learned-codec checkpoint")
    if weights_sha256(tensors) != expected:
        raise UserError(f"{path} is corrupt: its tensors do not match their SHA-256")
    return tensors, metadata


def _read_json(path):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing {path}")
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None


# ---- run config -------------------------------------------------------------------

def save_config(run_dir, config):
    atomic_write_json(Path(run_dir) / CONFIG_NAME, config)


def load_config(run_dir):
    config = _read_json(Path(run_dir) / CONFIG_NAME)
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise UserError(f"{Path(run_dir) / CONFIG_NAME} has no 'model' section")
    return config


# ---- best weights -----------------------------------------------------------------

def save_best(run_dir, model_state, model_config, info):
    """RUN_DIR/model.safetensors with the model config and `info` (epoch, metrics) as metadata."""
    meta = {"model_config": json.dumps(model_config, sort_keys=True),
            "info": json.dumps(info, sort_keys=True)}
    return save_tensors(Path(run_dir) / BEST_NAME, model_state, meta)


# ---- last training state ----------------------------------------------------------

def _optimizer_to_files(optimizer_state):
    tensors, scalars = {}, {}
    for index, entry in optimizer_state["state"].items():
        for key, value in entry.items():
            name = f"optim.{index}.{key}"
            if torch.is_tensor(value):
                tensors[name] = value
            else:
                scalars[name] = value
    return tensors, {"param_groups": optimizer_state["param_groups"], "scalars": scalars}


def _optimizer_from_files(tensors, info):
    state = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in info["scalars"].items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": info["param_groups"]}


def rng_state():
    state = {"rng.cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            state[f"rng.cuda.{i}"] = s
    return state


def set_rng_state(tensors):
    if "rng.cpu" in tensors:
        torch.set_rng_state(tensors["rng.cpu"])
    cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


def save_last(run_dir, step, model_state, optimizer_state, state):
    """Write checkpoints/step-<step>/ completely, then point last.json at it, then
    remove older step folders. `state` is JSON-able (epoch, position, best, ...)."""
    run_dir = Path(run_dir)
    name = f"{CHECKPOINTS_DIR}/step-{step:08d}"
    folder = run_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    model_sha = save_tensors(folder / "model.safetensors", model_state)
    optim_tensors, optim_info = _optimizer_to_files(optimizer_state)
    trainer_sha = save_tensors(folder / "trainer.safetensors", {**optim_tensors, **rng_state()})
    atomic_write_json(folder / "state.json", {**state, "optimizer": optim_info,
                                              "model_sha256": model_sha, "trainer_sha256": trainer_sha})
    atomic_write_json(run_dir / LAST_POINTER, {"checkpoint": name, "step": step})
    for old in (run_dir / CHECKPOINTS_DIR).glob("step-*"):
        if old.name != folder.name:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def has_last(run_dir):
    return (Path(run_dir) / LAST_POINTER).is_file()


def load_last(run_dir):
    """{"model": state_dict, "optimizer": optimizer state_dict, "rng": tensors, "state": dict}."""
    run_dir = Path(run_dir)
    pointer = _read_json(run_dir / LAST_POINTER)
    name = pointer.get("checkpoint") if isinstance(pointer, dict) else None
    if not isinstance(name, str) or not name.startswith(f"{CHECKPOINTS_DIR}/step-") or ".." in name:
        raise UserError(f"{run_dir / LAST_POINTER} does not name a checkpoint folder")
    folder = run_dir / name
    state = _read_json(folder / "state.json")
    model_state, model_meta = load_tensors(folder / "model.safetensors")
    trainer, trainer_meta = load_tensors(folder / "trainer.safetensors")
    if (state.get("model_sha256") != model_meta["weights_sha256"]
            or state.get("trainer_sha256") != trainer_meta["weights_sha256"]):
        raise UserError(f"{folder}: state.json does not match its tensor files (mixed checkpoints)")
    try:
        optimizer = _optimizer_from_files(trainer, state.pop("optimizer"))
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise UserError(f"{folder}/state.json has no valid optimizer section: {e}") from None
    rng = {k: v for k, v in trainer.items() if k.startswith("rng.")}
    return {"model": model_state, "optimizer": optimizer, "rng": rng, "state": state,
            "folder": folder}


# ---- loading a trained model ------------------------------------------------------

def resolve_run(run_dir_or_name):
    path = Path(run_dir_or_name)
    if path.is_dir():
        return path
    shipped = SHIPPED_WEIGHTS_DIR / str(run_dir_or_name)
    if shipped.is_dir():
        return shipped
    raise UserError(
        f"no model at {run_dir_or_name}: not a run folder, nor a shipped model "
        f"(shipped: {', '.join(sorted(p.name for p in SHIPPED_WEIGHTS_DIR.glob('*') if p.is_dir())) or 'none'})"
    )


def load_model(run_dir_or_name, which="best", device="cpu"):
    """(model in eval mode, run config) from a run folder or shipped name.

    which="best": RUN_DIR/model.safetensors; which="last": the last training state.
    The SHA-256 of the loaded weights is in config["weights_sha256"] and
    model.weights_sha256 (the codec container binds it)."""
    from .models import build_model

    run_dir = resolve_run(run_dir_or_name)
    if which == "best":
        tensors, meta = load_tensors(run_dir / BEST_NAME)
        sha = meta["weights_sha256"]
    elif which == "last":
        last = load_last(run_dir)
        tensors, sha = last["model"], last["state"]["model_sha256"]
    else:
        raise ValueError(f"which must be 'best' or 'last', not {which!r}")
    if (run_dir / CONFIG_NAME).is_file():
        config = load_config(run_dir)
    elif which == "best" and "model_config" in meta:
        config = {"model": json.loads(meta["model_config"])}
    else:
        raise UserError(f"missing {run_dir / CONFIG_NAME}")
    stored, compression = tensors, meta.get("compression") if which == "best" else None
    if compression:  # pruned / fp16 / int8 weights (learned-codec compress-model)
        from .compression.storage import decode_state
        try:
            tensors, compression = decode_state(stored, compression)
        except ValueError as e:
            raise UserError(f"{run_dir / BEST_NAME}: bad compressed weights ({e})") from None
    model = build_model(config["model"])
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise UserError(f"weights in {run_dir} do not fit its config ({first})") from None
    if compression:
        from .compression.storage import finish_model
        model = finish_model(model, compression, stored)
        model.stored_bytes = (run_dir / BEST_NAME).stat().st_size
    model.weights_sha256 = sha
    return model.to(device).eval(), {**config, "weights_sha256": sha}
