"""A training run's last state, for resume: optimizer tensors, RNG states, position.

    RUN_DIR/last.json                    {"checkpoint": "checkpoints/step-00000123", ...}
    RUN_DIR/checkpoints/step-NNNNNNNN/   the last training state, complete:
        model.safetensors                weights
        trainer.safetensors              optimizer tensors + RNG states
        state.json                       epoch, step, optimizer hyper-parameters, best metric

The step folder is written completely before last.json points at it, so a kill at any
moment leaves the previous state intact (models/checkpoint.py: the rest of a run folder)."""
import re
import shutil
import sys
from pathlib import Path

import torch

from learned_codec.errors import UserError
from learned_codec.fileio import atomic_write_json
from learned_codec.models.checkpoint import load_tensors, read_json, save_tensors

LAST_POINTER = "last.json"
CHECKPOINTS_DIR = "checkpoints"


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
    pointer = read_json(run_dir / LAST_POINTER)
    name = pointer.get("checkpoint") if isinstance(pointer, dict) else None
    if not isinstance(name, str) or not name.startswith(f"{CHECKPOINTS_DIR}/step-") or ".." in name:
        raise UserError(f"{run_dir / LAST_POINTER} does not name a checkpoint folder")
    folder = run_dir / name
    state = read_json(folder / "state.json")
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


# What a run folder holds (models/checkpoint.py, training/validation.py): anything else in it
# means the folder is not (only) a training run's, and it is never restarted over.
RUN_FILES = ("config.json", "model.safetensors", "metrics.jsonl", "test_metrics.json", CHECKPOINTS_DIR)
_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")  # fileio.atomic_open's mkstemp names


def remove_stale_tmp(run_dir):
    """Remove the temporary files (.NAME.XXXXXXXX.tmp) a killed run left in its folder and its
    checkpoint folders; -> the number removed. (Two runs in one folder at once are not supported.)"""
    run_dir = Path(run_dir)
    removed = 0
    folders = [run_dir] + ([p for p in (run_dir / CHECKPOINTS_DIR).iterdir() if p.is_dir()]
                           if (run_dir / CHECKPOINTS_DIR).is_dir() else [])
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if _TMP.match(p.name) and p.is_file():
                p.unlink(missing_ok=True)
                removed += 1
    return removed


def stopped_before_first_checkpoint(run_dir):
    """True when `run_dir` exists, has no last.json and holds nothing but a run's own files
    (config, best weights, metrics, checkpoint folders): a run killed before its first
    checkpoint was complete, with no state to resume."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or has_last(run_dir):
        return False
    return all(p.name in RUN_FILES or _TMP.match(p.name) for p in run_dir.iterdir())


def restart(run_dir):
    """Clear a run folder stopped before its first checkpoint (stopped_before_first_checkpoint)
    so that the run starts again from scratch, saying so on stderr."""
    run_dir = Path(run_dir)
    print(f"{run_dir}: the run there stopped before its first checkpoint ({LAST_POINTER} missing), "
          f"so it has no state to resume: starting it again from scratch", file=sys.stderr)
    for name in RUN_FILES:
        p = run_dir / name
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink(missing_ok=True)
