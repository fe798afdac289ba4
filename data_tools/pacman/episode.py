"""One recorded game: its plan (seed, maze, mode), the play loop and the resize to 200x160."""
import numpy as np

from data_tools import frames as F
from data_tools.pacman.emulator import (
    FRAME_SKIP,
    IMAGE_EVERY,
    RAM_DOTS_EATEN,
    RAM_LEVEL_LIVES,
    RAM_MAZE,
    dots_total,
    finishing_assist,
    level_of,
    lives_of,
    new_emulator,
    probe_pellets,
    repair_finish,
    warp_to_maze,
)
from data_tools.pacman.labels import DEATH_LOOKBACK, STUCK_FINISH_FRAMES, Labeller
from data_tools.pacman.player import DECIDE_EVERY, LEVEL_ASSIST_FRAMES, LookaheadPlayer
from data_tools.pacman.tasks import sprite_positions_raw, task_arrays


def episode_plan(seed, index):
    """What game `index` of a data set with `seed` plays: emulator seed, game mode, maze."""
    rng = np.random.default_rng([int(seed), int(index)])
    return {
        "index": int(index),
        "ale_seed": int(rng.integers(1, 2**31 - 2)),
        "player_seed": int(rng.integers(0, 2**63 - 1)),
        "mode": int(index // 4 % 4),                     # ALE game modes 0..3 in turn
        "start_maze": int((index + seed) % 4),           # first maze cycles over the four
        "start_noops": int(rng.integers(0, 60)),         # varies the ghosts' start phase
    }


def resize_frame(screen):
    """uint8 210 x 160 x 3 emulator screen -> uint8 200 x 160 x 3 (Lanczos)."""
    from PIL import Image

    img = Image.fromarray(screen).resize((F.FRAME_W, F.FRAME_H), Image.LANCZOS)
    return np.asarray(img, dtype=np.uint8)


def play_episode(plan, n_frames):
    """Play one game.

    Returns (frames uint8 T x 200 x 160 x 3, situation names per frame, summary, raw colours,
    the downstream task arrays of every frame: tasks.task_arrays)."""
    from ale_py import Action

    ale = new_emulator(plan["ale_seed"], plan["mode"])
    rng = np.random.default_rng(plan["player_seed"])
    player = LookaheadPlayer(ale, rng)
    for _ in range(plan["start_noops"]):
        ale.act(Action.NOOP)
    warped = plan["start_maze"] != 0
    if warped:
        warp_to_maze(ale, plan["start_maze"])
    labeller = Labeller(warped)
    pellet_map = probe_pellets(ale)
    frames, labels, mazes, positions = [], [], [], []
    raw_colours = set()
    stats = {"finishing_assists": 0, "pellets_removed_by_assist": 0, "extra_lives_given": 0,
             "lives_lost": 0, "levels_cleared": 0, "finish_repairs": 0}
    ram = ale.getRAM().copy()
    levels, frames_per_maze = [level_of(ram)], {}
    level_frames, reprobe_in, frame_no, action, score = 0, 0, 0, Action.NOOP, 0
    while len(frames) < n_frames and not ale.game_over():
        if frame_no % DECIDE_EVERY == 0 and reprobe_in == 0:
            action = player.choose(pellet_map)
        reward = ale.act(action)
        score += reward
        frame_no += 1
        level_frames += 1
        prev, ram = ram, ale.getRAM().copy()
        ate = int(ram[RAM_DOTS_EATEN]) > int(prev[RAM_DOTS_EATEN])
        player.note_step(reward, ate, 1)
        labeller.on_frame(ram, reward)
        if lives_of(ram) < lives_of(prev):
            stats["lives_lost"] += 1
            for lab in labels[-DEATH_LOOKBACK:]:
                lab.add("death")
        new_level = int(ram[RAM_DOTS_EATEN]) == 0 < int(prev[RAM_DOTS_EATEN])   # pellets refilled
        if new_level or level_of(ram) != level_of(prev):
            stats["levels_cleared"] += level_of(ram) != level_of(prev)
            levels.append(level_of(ram))
            level_frames, reprobe_in = 0, 90      # wait for the level-start pause, then probe
        if reprobe_in:
            reprobe_in -= 1
            if reprobe_in == 0:
                pellet_map = probe_pellets(ale)
        elif level_frames == LEVEL_ASSIST_FRAMES and int(ram[RAM_DOTS_EATEN]) < dots_total(ram):
            stats["finishing_assists"] += 1
            stats["pellets_removed_by_assist"] += finishing_assist(ale, pellet_map)
        elif level_frames > LEVEL_ASSIST_FRAMES + STUCK_FINISH_FRAMES and level_frames % 100 == 0:
            stats["finish_repairs"] += repair_finish(ale, pellet_map)
        if lives_of(ram) == 0 and len(frames) < 0.7 * n_frames:
            # Keep the game going to the planned length; the last 30 % may end it.
            ale.setRAM(RAM_LEVEL_LIVES, (level_of(ram) << 4) | 2)
            stats["extra_lives_given"] += 1
        if frame_no % FRAME_SKIP == 0:
            screen = ale.getScreenRGB()
            frames.append(resize_frame(screen))
            labels.append(set(labeller.labels(ram, screen, frame_no)))
            maze = int(ram[RAM_MAZE])
            mazes.append(maze)
            positions.append(sprite_positions_raw(ram))
            frames_per_maze[maze] = frames_per_maze.get(maze, 0) + 1
            if len(frames) % IMAGE_EVERY == 1:
                raw_colours |= distinct_colours(screen)
    if ale.game_over() and labels:
        labels[-1].add("game_over")
    summary = dict(plan, frames=len(frames), score=int(score), emulator_frames=frame_no,
                   levels=list(dict.fromkeys(levels)), frames_per_maze=frames_per_maze,
                   game_over=bool(ale.game_over()), **stats)
    labels = [sorted(lab) for lab in labels]
    tasks = task_arrays(list(zip(labels, mazes, positions)))
    return np.stack(frames), labels, summary, raw_colours, tasks


def distinct_colours(frames):
    """Set of distinct RGB colours (as 0xRRGGBB ints) in uint8 ... x 3 pixels."""
    px = np.asarray(frames, dtype=np.uint32).reshape(-1, 3)
    codes = (px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2]
    return set(np.unique(codes).tolist())
