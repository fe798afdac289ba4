"""Recording ALE games with a sticky-random player (see data_tools/atari/__init__.py)."""
import os
import re

import numpy as np

from data_tools.frames import save_manifest, save_npz, save_split
from data_tools.pacman.episode import resize_frame
from learned_codec.errors import UserError

FRAME_SKIP = 3        # every 3rd emulator frame (20 frames per second), as the Pac-Man data set
IMAGE_EVERY = 10      # image set: every 10th recorded frame
STICKY = 0.75         # probability of keeping the previous action
WARMUP = 60           # recorded frames skipped after a reset (attract screens, start delays)


def rom_name(game):
    """'Breakout', 'SpaceInvaders', 'ALE/MsPacman-v5', 'space_invaders' -> 'space_invaders'."""
    g = re.sub(r"^ALE/|-v\d+$", "", str(game))
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", g).lower()


def game_rom(game):
    from ale_py import roms

    name = rom_name(game)
    folder = os.path.dirname(roms.get_rom_path("pong"))
    path = os.path.join(folder, f"{name}.bin")
    if not re.fullmatch(r"[a-z0-9_]+", name) or not os.path.isfile(path):
        known = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".bin"))
        raise UserError(f"no ALE ROM named {name!r} (from {game!r}); known: {', '.join(known)}")
    from ale_py import ALEInterface, LoggerMode

    ALEInterface.setLoggerMode(LoggerMode.Error)
    if not ALEInterface().isSupportedROM(path):
        raise UserError(f"the ALE of this ale-py cannot run the ROM {name!r} ({path})")
    return name, path


def record(game, seed, frames, frame_skip=FRAME_SKIP, sticky=STICKY, warmup=WARMUP):
    """Play `game` from `seed`; -> uint8 frames x 210 x 160 x 3 raw screens."""
    from ale_py import ALEInterface, LoggerMode

    name, path = game_rom(game)
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", int(seed) % (2**31 - 1))
    ale.setFloat("repeat_action_probability", 0.0)  # the player is sticky itself
    ale.loadROM(path)
    actions = ale.getMinimalActionSet()
    rng = np.random.default_rng([int(seed), 7919])
    action = actions[0]
    out, skip = [], warmup
    while len(out) < frames:
        if ale.game_over():
            ale.reset_game()
            skip = warmup
        for _ in range(frame_skip):
            if rng.random() >= sticky:
                action = actions[rng.integers(len(actions))]
            ale.act(action)
        if skip:
            skip -= 1
            continue
        out.append(ale.getScreenRGB().copy())
    return np.stack(out)


def diversity(screens):
    """Colours, distinct screens and changed pixels per frame of uint8 T x H x W x 3."""
    codes = (screens[..., 0].astype(np.int32) << 16) | (screens[..., 1].astype(np.int32) << 8) | screens[..., 2]
    colours = np.unique(codes)
    changed = (codes[1:] != codes[:-1]).mean((1, 2)) if len(codes) > 1 else np.zeros(1)
    distinct = len({c.tobytes() for c in codes[:: max(1, len(codes) // 500)]})
    per_frame = [len(np.unique(c)) for c in codes[:: max(1, len(codes) // 50)]]
    return {"colours": int(len(colours)), "colours_per_frame_median": float(np.median(per_frame)),
            "distinct_screens_sampled": distinct, "changed_pixels_per_frame_mean": float(changed.mean())}


def make_dataset(out_dir, game, videos=6, seed=0, frames_per_video=600, progress=True):
    """Record `videos` games of `game` (video k from seed + k) in both forms; split by
    video: the last is test, the one before it val (>= 3 videos), the rest train."""
    from tqdm import tqdm

    if videos < 1 or frames_per_video < IMAGE_EVERY:
        raise UserError(f"need >= 1 video of >= {IMAGE_EVERY} frames, got {videos} x {frames_per_video}")
    name, _ = game_rom(game)
    split_of = ["train"] * videos
    if videos >= 3:
        split_of[-2] = "val"
    split_of[-1] = "test"
    os.makedirs(out_dir, exist_ok=True)
    images = {"raw": {}, "resized": {}}
    stats = []
    bar = tqdm(total=videos * frames_per_video, desc=f"{name} frames", unit="frame", disable=not progress)
    for k in range(videos):
        raw = record(name, seed + k, frames_per_video)
        screen_size = raw.shape[1:3]
        bar.update(len(raw))
        resized = np.stack([resize_frame(s) for s in raw])
        for form, frames, sub in (("raw", raw, "raw"), ("resized", resized, "")):
            os.makedirs(os.path.join(out_dir, sub, "videos"), exist_ok=True)
            save_npz(os.path.join(out_dir, sub, "videos", f"video_{k:03d}.npz"), {"frames": frames})
            images[form].setdefault(split_of[k], []).append(frames[::IMAGE_EVERY])
        stats.append(diversity(raw))
    bar.close()
    for form, sub in (("raw", "raw"), ("resized", "")):
        os.makedirs(os.path.join(out_dir, sub, "images"), exist_ok=True)
        for split, parts in images[form].items():
            save_split(os.path.join(out_dir, sub), split, np.concatenate(parts))
    manifest = {
        "format_version": 2, "source": "atari", "game": name, "seed": int(seed), "videos": videos,
        "frames_per_video": frames_per_video, "frames_total": videos * frames_per_video,
        "frame_skip": FRAME_SKIP, "image_every": IMAGE_EVERY, "player": f"sticky random (keep {STICKY})",
        "splits": {s: [k for k in range(videos) if split_of[k] == s] for s in ("train", "val", "test")},
        "frames_per_split": {s: sum(len(p) for p in images["raw"].get(s, [])) for s in ("train", "val", "test")},
        "frame_size": [200, 160], "screen_size": list(screen_size), "diversity": stats,
    }
    save_manifest(out_dir, manifest)
    return manifest


def console_palette(frames_per_game=60, progress=False):
    """The console's colours as the ALE draws them, surveyed over every ROM shipped with
    ale-py (random play, `frames_per_game` screens each): uint8 C x 3, sorted by RGB.
    The NTSC palette has 128 colours; a colour no game shows in its first seconds is
    missing, which costs only speed (a frame using it is coded another way)."""
    from ale_py import ALEInterface, LoggerMode, roms
    from tqdm import tqdm

    folder = os.path.dirname(roms.get_rom_path("pong"))
    names = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".bin"))
    ALEInterface.setLoggerMode(LoggerMode.Error)
    seen = set()
    for name in tqdm(names, desc="palette survey", unit="game", disable=not progress):
        ale = ALEInterface()
        ale.setInt("random_seed", 1)
        path = os.path.join(folder, f"{name}.bin")
        if not ale.isSupportedROM(path):  # a ROM this ALE build cannot run
            continue
        ale.loadROM(path)
        actions = ale.getLegalActionSet()
        rng = np.random.default_rng(1)
        for t in range(frames_per_game):
            for _ in range(FRAME_SKIP * 2):
                ale.act(actions[rng.integers(len(actions))])
            if ale.game_over():
                ale.reset_game()
            rgb = ale.getScreenRGB().reshape(-1, 3)
            seen.update(np.unique((rgb[:, 0].astype(np.int32) << 16) | (rgb[:, 1].astype(np.int32) << 8)
                                  | rgb[:, 2]).tolist())
    codes = np.array(sorted(seen), dtype=np.int64)
    return np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], 1).astype(np.uint8)
