"""Fitting `palette-generic` (palette/generic.py): `learned-codec train --arch palette-generic
--data DIR1,DIR2,...` on frame data sets of several games (`learned-codec data atari`).

No gradients: the coder is adaptive, and what is fitted is where it starts. Each
game's training frames are coded in image mode (every frame from the state the
frames before it left: its structural counters and mixer weights), and runs of
GOP consecutive frames of its training videos in video mode, game after game; the
final states are the model's. The known colours are every colour the games' screens
use, with the console palette surveyed over every ROM shipped with ale-py. Raw screens (DIR/raw/) are used
when a data set has them, else its frames as they are.
"""
import time
from pathlib import Path

import numpy as np

from learned_codec.errors import UserError
from learned_codec.fileio import atomic_write_json, check_writable_dir
from learned_codec.models import build_model, default_config
from learned_codec.models import checkpoint as ckpt
from learned_codec.ops.screen_coder import screen_encode
from learned_codec.palette.generic_codec import indices, rgb24, unit_palette

FIT_GOP = 50            # consecutive frames per video-mode run
IMAGES_PER_GAME = 200   # evenly spaced training frames per game (image mode)
RUNS_PER_GAME = 4       # video-mode runs per game


def _game_frames(root):
    from data_tools.frames import evenly_spaced, load_manifest, load_split, load_video

    manifest = load_manifest(root)
    base = Path(root) / "raw" if (Path(root) / "raw" / "images").is_dir() else Path(root)
    images = load_split(base, "train", mmap=True)
    images = np.asarray(images[evenly_spaced(len(images), IMAGES_PER_GAME)])
    runs = []
    for k in manifest.get("splits", {}).get("train", [])[:RUNS_PER_GAME]:
        video = load_video(base, k)
        runs.append(np.asarray(video[:FIT_GOP]))
    return manifest.get("game", Path(root).name), images, runs


def _screens(frames, known):
    codes = rgb24(frames)
    pal = unit_palette(codes, known)
    if pal is None:
        return None, 0
    return indices(codes, pal[0]), len(pal[0])


def fit(opts):
    t0 = time.time()
    dirs = [d for d in str(opts.get("data") or "").split(",") if d]
    if not dirs:
        raise UserError("--arch palette-generic needs --data DIR1,DIR2,... (data sets of several games, "
                        "made with `learned-codec data atari --game NAME`)")
    out = Path(opts.get("out") or "runs/palette-generic")
    if (out / ckpt.BEST_NAME).exists() and not opts.get("resume"):
        raise UserError(f"{out} already holds a run: choose another --out")
    check_writable_dir(out)
    games = [_game_frames(d) for d in dirs]
    from data_tools.atari import console_palette

    # The known colours: the console palette as the ALE draws it (surveyed over every
    # shipped ROM) and any colour the fitting frames use besides.
    surveyed = rgb24(console_palette(progress=not opts.get("quiet")))
    colours = np.unique(np.concatenate([surveyed] + [np.unique(rgb24(f)) for _, imgs, runs in games
                                                     for f in [imgs, *runs]]))
    if len(colours) > 256:
        raise UserError(f"the data sets use {len(colours)} colours; the known-colour table holds 256 "
                        "(are they emulator screens?)")
    cfg = default_config("palette-generic")
    model = build_model(cfg)
    model.set_known_colours(np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], 1))
    image_state = model.state("image")
    video_state = model.state("video")
    coded = {"image_frames": 0, "video_frames": 0}
    for _, images, runs in games:
        for frame in images:
            screens, ncol = _screens(frame[None], colours)
            if screens is not None:
                _, image_state = screen_encode(screens, ncol, state=image_state, fit=True)
                coded["image_frames"] += 1
        for run in runs:
            screens, ncol = _screens(run, colours)
            if screens is not None:
                _, video_state = screen_encode(screens, ncol, video=True, state=video_state, fit=True)
                coded["video_frames"] += len(run)
    model.set_state("image", image_state)
    model.set_state("video", video_state)
    info = {"games": [g for g, _, _ in games], "known_colours": int(len(colours)), **coded,
            "seconds": round(time.time() - t0, 1)}
    config = {"model": cfg, "quant": "context",
              "train": {"arch": "palette-generic", "fit": "adaptive coder state", "gop": FIT_GOP,
                        "images_per_game": IMAGES_PER_GAME, "runs_per_game": RUNS_PER_GAME},
              "data": {"dirs": dirs, "games": info["games"]}}
    out.mkdir(parents=True, exist_ok=True)
    ckpt.save_config(out, config)
    ckpt.save_best(out, model.state_dict(), cfg, info)
    atomic_write_json(out / "fit_metrics.json", info)
    return {"run_dir": str(out), **info, "model_bytes": (out / ckpt.BEST_NAME).stat().st_size}
