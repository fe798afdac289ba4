"""The Pac-Man downstream task set: what a model should still read from a (decoded) frame.

Per image frame (the same frames, in the same order, as images/<split>.npy):

    situations   uint8 N x 12   multi-hot, labels.SITUATIONS order (frightened ghosts, fruit,
                                death, level end, maze partly / mostly / fully eaten, ...)
    maze         int64 N        which of the 4 mazes is drawn (ram[0], 0..3)
    positions    float32 N x 5 x 2   (x, y) in 200 x 160 image pixels of the centre of
                                Ms. Pac-Man and the four ghosts (SPRITES order), from RAM
    on_screen    uint8 N x 5    1 where that position lies in the maze area of the image
                                (a sprite in a side tunnel or off the maze reads 0)

Written by `learned-codec data pacman` as DIR/tasks/<split>.npz (format_version 2 of
the manifest). RAM to screen: a sprite's centre in the raw 210 x 160 screen is at
(ram_x - 8, ram_y + 6), measured on the pixels of each sprite's own colour (median offset
-8.4, +5.9 over ~100 frames per sprite, spread < 1 px for the ghosts; Ms. Pac-Man's shape
changes as she eats, so her spread is ~3 px); the 210 -> 200 resize scales y by 200/210.
The ghosts flicker (each drawn on alternate frames), so a ghost may be absent from the
pixels of one frame while its RAM position is still the truth.
"""
from pathlib import Path

import numpy as np

from data_tools import frames as F
from data_tools.pacman.emulator import (
    PLAYER_DX,
    PLAYER_DY,
    RAM_GHOST_X,
    RAM_GHOST_Y,
    RAM_PLAYER_X,
    RAM_PLAYER_Y,
    SRC_H,
)
from data_tools.pacman.labels import SITUATIONS
from learned_codec.errors import UserError

SPRITES = ("ms_pacman", "ghost_orange", "ghost_cyan", "ghost_pink", "ghost_red")
SPRITE_COLOURS = {  # each sprite's own colour on the raw screen (not frightened)
    "ms_pacman": (210, 164, 74), "ghost_orange": (180, 122, 48), "ghost_cyan": (84, 184, 153),
    "ghost_pink": (198, 89, 179), "ghost_red": (200, 72, 72),
}
MAZE_CLASSES = 4
MAZE_AREA_RAW_H = 172            # raw screen rows of the maze; below it: score and lives
Y_SCALE = F.FRAME_H / SRC_H      # 200 / 210
FIELDS = ("situations", "maze", "positions", "on_screen")


def sprite_positions_raw(ram):
    """float32 5 x 2: (x, y) centres in the raw 210 x 160 screen, SPRITES order."""
    xs = [ram[RAM_PLAYER_X]] + [ram[i] for i in RAM_GHOST_X]
    ys = [ram[RAM_PLAYER_Y]] + [ram[i] for i in RAM_GHOST_Y]
    return np.array([(int(x) + PLAYER_DX, int(y) + PLAYER_DY) for x, y in zip(xs, ys)], np.float32)


def to_image_coords(raw_xy):
    """Raw-screen (x, y) ... x 2 -> 200 x 160 image (x, y): y scaled by 200/210."""
    out = np.array(raw_xy, np.float32, copy=True)
    out[..., 1] *= Y_SCALE
    return out


def task_arrays(records):
    """[(situation names, maze, raw positions 5 x 2) per frame] -> the FIELDS arrays."""
    n = len(records)
    situations = np.zeros((n, len(SITUATIONS)), np.uint8)
    for i, (names, _, _) in enumerate(records):
        for name in names:
            if name not in SITUATIONS:
                raise UserError(f"unknown situation label {name!r}; the labels are {', '.join(SITUATIONS)}")
            situations[i, SITUATIONS.index(name)] = 1
    maze = np.array([m for _, m, _ in records], np.int64).reshape(n)
    raw = np.stack([p for _, _, p in records]) if n else np.zeros((0, len(SPRITES), 2), np.float32)
    on_screen = ((raw[..., 0] >= 0) & (raw[..., 0] < F.FRAME_W)
                 & (raw[..., 1] >= 0) & (raw[..., 1] < MAZE_AREA_RAW_H)).astype(np.uint8)
    return {"situations": situations, "maze": maze, "positions": to_image_coords(raw),
            "on_screen": on_screen}


def concat_tasks(parts):
    """Join the task arrays of several videos (in split order)."""
    if not parts:
        return task_arrays([])
    return {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}


def select(tasks, index):
    return {k: tasks[k][index] for k in FIELDS}


def tasks_path(root, split):
    return Path(root) / "tasks" / f"{split}.npz"


def save_tasks(root, split, tasks):
    F.save_npz(tasks_path(root, split), {k: tasks[k] for k in FIELDS})


def load_tasks(root, split, frames=None):
    """The task arrays of one split; one clear UserError if missing or not matching the frames."""
    path = tasks_path(root, split)
    if not path.is_file():
        raise UserError(f"no Pac-Man task labels at {path}: this data set predates them; "
                        f"remake it (learned-codec data pacman --out {root})")
    try:
        with np.load(path, allow_pickle=False) as z:
            tasks = {k: z[k] for k in FIELDS}
    except (ValueError, OSError, KeyError, EOFError) as e:
        raise UserError(f"{path} is not a readable task-label file: {e}") from None
    n = len(tasks["maze"])
    shapes = {"situations": (n, len(SITUATIONS)), "maze": (n,), "positions": (n, len(SPRITES), 2),
              "on_screen": (n, len(SPRITES))}
    for k, shape in shapes.items():
        if tasks[k].shape != shape:
            raise UserError(f"{path}: {k} has shape {tasks[k].shape}, expected {shape}")
    if tasks["maze"].size and not (0 <= tasks["maze"].min() and tasks["maze"].max() < MAZE_CLASSES):
        raise UserError(f"{path}: maze labels outside 0..{MAZE_CLASSES - 1}")
    if frames is not None and len(frames) != n:
        raise UserError(f"{path} labels {n} frames but the {split} split has {len(frames)}")
    return tasks
