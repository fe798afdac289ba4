"""The built-in Pac-Man frame data set: Ms. Pac-Man played in the Arcade Learning Environment.

`make_dataset(out_dir, videos=30, seed=0)` plays one game ("video") per index and writes the
layout of `data_tools.frames`:

    videos/video_XXX.npz   uint8 T x 200 x 160 x 3, every FRAME_SKIP-th emulator frame
    images/<split>.npy     uint8 N x 200 x 160 x 3, every IMAGE_EVERY-th recorded frame
    manifest.json          seed, sizes, splits, diversity (colours, mazes, situations)

Frames are 210 x 160 RGB from the emulator, resized to height 200 x width 160 with Pillow's
Lanczos filter (like the reference report's 200 x 160 frames).

Why not random play: random play never leaves the first maze. Each game here is driven by
  * a player that looks ahead with emulator snapshots (cloneState/restoreState): for each of
    the four directions it plays HORIZON frames ahead and scores pellets and points won, lives
    lost, ghosts too close and progress towards the nearest remaining pellet; one decision in
    ten is a random safe direction (the game itself is deterministic, so without it games
    that start alike would repeat frame for frame);
  * the emulator RAM (documented addresses below, found empirically) to start a game in a
    chosen maze and, when the player stalls on a level, to remove all but the few pellets
    nearest to it, so that it clears the level: the set then holds mostly/fully eaten mazes,
    level-end flashes and later levels. Every such assist is recorded in the manifest.

Ms. Pac-Man RAM addresses (Atari 2600 ROM shipped with ale-py; index into ale.getRAM()):
    0         maze shown (0..3); set by the game when a level starts
    6..9      ghost x (orange, cyan, pink, red);  12..15 ghost y
    10, 16    Ms. Pac-Man x, y (screen x ~ ram[10] - 8, screen y ~ ram[16] + 6)
    11, 17    fruit x, y (x = 0: no fruit in play; y keeps its last value)
    60..100   pellet bitmap, one bit per pellet (positions found by probing, see probe_pellets)
    119       pellets eaten on this level (power pellets included); the level ends when it
              reaches the maze's total: 154, 150, 158, 154 for mazes 0..3 (found by setting
              it to total - 1 and eating one pellet)
    120..122  score, packed BCD
    123       high nibble: level (0 = first); low nibble: spare lives
A level is chosen by writing the level nibble and setting ram[119] to total - 1: the next pellet
eaten ends the level and the game draws the maze of the next level nibble: nibble 0-1 ->
maze 0, 2-3 -> maze 1, 4-5 -> maze 2, 6 -> maze 3; after nibble 6 the game goes on with
earlier mazes. (Writing ram[0] itself changes nothing: the game sets it at level start.)

The three Atari ghosts besides the red one are drawn on alternate frames (flicker), so the
recorded frame skip is odd (3): consecutive recorded frames show both halves.
"""
import hashlib
import multiprocessing
import os
from pathlib import Path

import numpy as np

from learned_codec.errors import UserError
from learned_codec.fileio import check_writable_dir

from . import frames as F

FRAME_SKIP = 3            # record every 3rd emulator frame (60 Hz -> 20 frames per second)
IMAGE_EVERY = 10          # image data set = every 10th recorded frame, like the report
FRAMES_PER_VIDEO = 2500   # recorded frames per game by default: 125 s of play, 250 images
SRC_H, SRC_W = 210, 160

# RAM addresses (see module docstring)
RAM_MAZE = 0
RAM_GHOST_X = (6, 7, 8, 9)
RAM_GHOST_Y = (12, 13, 14, 15)
RAM_PLAYER_X, RAM_PLAYER_Y = 10, 16
RAM_FRUIT_X, RAM_FRUIT_Y = 11, 17
RAM_PELLETS = range(60, 101)
RAM_DOTS_EATEN = 119
RAM_LEVEL_LIVES = 123
MAZE_DOTS = {0: 154, 1: 150, 2: 158, 3: 154}   # pellets per level, by maze

# Screen position of Ms. Pac-Man from her RAM position (fitted on recorded play).
PLAYER_DX, PLAYER_DY = -8, 6

MAZE_NAMES = {0: "maze 1 (pink walls)", 1: "maze 2 (light blue walls)",
              2: "maze 3 (grey walls)", 3: "maze 4 (green walls)"}
# Level nibble to write so that the level after the forced level end shows maze m.
WARP_LEVEL_FOR_MAZE = {1: 1, 2: 3, 3: 5}

# Player tuning
DECIDE_EVERY = 6          # emulator frames between decisions
HORIZON = 30              # emulator frames of look-ahead per candidate direction
STALL_DECISIONS = 90      # decisions without a pellet before the player aims elsewhere
LEVEL_ASSIST_FRAMES = 2700  # emulator frames on a level before the finishing assist
ASSIST_KEEP = 5           # pellets kept when the finishing assist clears the rest
POWER_FRAMES = 300        # emulator frames after a power pellet while ghosts are harmless
EXPLORE = 0.1             # chance per decision of a random direction that does not lose a life

# Situation labels per recorded frame (counts per label go into the manifest):
#   game_start          the first 270 emulator frames of a game started at power-on (maze 0)
#   maze_untouched / maze_partly_eaten / maze_mostly_eaten / maze_fully_eaten
#                       ram[119] = 0 / < half / < all of the maze's pellets / all eaten
#   level_end           all pellets eaten, the level-end flash until the next maze is drawn
#   frightened_ghosts   a frightened ghost's blue (66,114,194) is on screen (their white
#                       flashing phase is not counted)
#   ghost_eaten, fruit_eaten   1 s after the reward of eating one
#   fruit               the bouncing fruit is in play (ram[11] != 0; it may be in a tunnel)
#   death               the last DEATH_LOOKBACK recorded frames before a life is lost
#   game_over           the last frame of a game that ended (extra lives are given while
#                       less than 70 % of the planned frames are recorded, so games rarely end)
SITUATIONS = (
    "game_start", "maze_untouched", "maze_partly_eaten", "maze_mostly_eaten",
    "maze_fully_eaten", "level_end", "frightened_ghosts", "ghost_eaten", "fruit",
    "fruit_eaten", "death", "game_over",
)


# ----------------------------------------------------------------------------- splits
def split_counts(videos):
    """(train, val, test) video counts: 25/4/1 for 30, proportional otherwise.

    val = round(4/30 N), test = round(N/30), each at least 1 when N >= 3; N = 2 gives 1/0/1,
    N = 1 gives 1/0/0.
    """
    if videos < 1:
        raise UserError(f"--videos must be at least 1, got {videos}")
    if videos == 1:
        return 1, 0, 0
    if videos == 2:
        return 1, 0, 1
    test = max(1, round(videos / 30))
    val = max(1, round(videos * 4 / 30))
    return videos - val - test, val, test


def split_of_videos(videos):
    """List of split names, one per video index: train first, then val, then test."""
    n_train, n_val, n_test = split_counts(videos)
    return ["train"] * n_train + ["val"] * n_val + ["test"] * n_test


# ----------------------------------------------------------------------------- emulator
def new_emulator(seed, mode):
    """A Ms. Pac-Man ALEInterface, deterministic for a given seed (no sticky actions)."""
    from ale_py import ALEInterface, LoggerMode, roms

    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", int(seed) % (2**31 - 1))
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path("ms_pacman"))
    ale.setMode(int(mode))
    ale.reset_game()
    return ale


def directions():
    from ale_py import Action

    return (Action.UP, Action.RIGHT, Action.LEFT, Action.DOWN)


def dots_total(ram):
    """Pellets (power pellets included) on the current level's maze."""
    return MAZE_DOTS.get(int(ram[RAM_MAZE]), 154)


def lives_of(ram):
    return int(ram[RAM_LEVEL_LIVES]) & 0x0F


def level_of(ram):
    return int(ram[RAM_LEVEL_LIVES]) >> 4


def player_screen_xy(ram):
    return int(ram[RAM_PLAYER_X]) + PLAYER_DX, int(ram[RAM_PLAYER_Y]) + PLAYER_DY


def probe_pellets(ale):
    """Screen position (x, y) of every pellet bit set in RAM now: {(byte, bit): (x, y)}.

    Clears one bit at a time in a snapshot, steps one frame and looks where the screen
    changed; bits that change nothing (walls, hidden pellets) are left out.
    """
    from ale_py import Action

    snapshot = ale.cloneState()
    ale.act(Action.NOOP)
    reference = ale.getScreenRGB().copy()
    ram = ale.getRAM().copy()
    found = {}
    for byte in RAM_PELLETS:
        for bit in range(8):
            if not (int(ram[byte]) >> bit) & 1:
                continue
            ale.restoreState(snapshot)
            ale.setRAM(byte, int(ram[byte]) & ~(1 << bit) & 0xFF)
            ale.act(Action.NOOP)
            ys, xs = np.nonzero((ale.getScreenRGB() != reference).any(-1))
            if 0 < len(ys) <= 16:   # a pellet is 4 x 2 pixels; more means the game reacted
                found[(byte, bit)] = (float(xs.mean()), float(ys.mean()))
    ale.restoreState(snapshot)
    return found


def remaining_pellets(ram, pellet_map):
    """[(byte, bit, x, y)] of mapped pellets still on the maze."""
    return [(b, bit, x, y) for (b, bit), (x, y) in pellet_map.items() if (int(ram[b]) >> bit) & 1]


# ----------------------------------------------------------------------------- player
class LookaheadPlayer:
    """Chooses a direction by playing each one HORIZON frames ahead from a snapshot."""

    def __init__(self, ale, rng):
        self.ale = ale
        self.rng = rng
        self.actions = directions()
        self.current = self.actions[0]
        self.target = None
        self.decisions_since_pellet = 0
        self.power_left = 0

    def choose(self, pellet_map):
        ram = self.ale.getRAM()
        self._update_target(ram, pellet_map)
        snapshot = self.ale.cloneState()
        scores = []
        for action in self.actions:
            scores.append(self._score(action, ram))
            self.ale.restoreState(snapshot)
        best = max(range(len(scores)), key=lambda i: scores[i])
        if self.rng.random() < EXPLORE:
            # Without this the game is deterministic given the maze and mode: games with the
            # same start would repeat frame for frame (even across splits).
            safe = [i for i, score in enumerate(scores) if score > -500]
            if safe:
                best = safe[int(self.rng.integers(len(safe)))]
        self.current = self.actions[best]
        return self.current

    def note_step(self, reward, ate_pellet, steps):
        """Bookkeeping after the real game advanced `steps` frames."""
        self.power_left = max(0, self.power_left - steps)
        if reward == 50 or (reward > 50 and reward % 100 == 50):
            self.power_left = POWER_FRAMES
        if ate_pellet:
            self.decisions_since_pellet = 0

    def _update_target(self, ram, pellet_map):
        self.decisions_since_pellet += 1
        left = remaining_pellets(ram, pellet_map)
        if not left:
            self.target = None
            return
        px, py = player_screen_xy(ram)
        if self.decisions_since_pellet > STALL_DECISIONS:
            # Stuck (a wall between her and the nearest pellet): aim at a random one for a while.
            pick = left[int(self.rng.integers(len(left)))]
            self.target = (pick[2], pick[3])
            self.decisions_since_pellet = STALL_DECISIONS // 3
        elif self.decisions_since_pellet % 5 == 1 or self.target is None:
            nearest = min(left, key=lambda p: abs(p[2] - px) + abs(p[3] - py))
            self.target = (nearest[2], nearest[3])

    def _score(self, action, ram0):
        ale = self.ale
        snapshot_lives = lives_of(ram0)
        x0, y0 = player_screen_xy(ram0)
        reward, danger = 0, 0
        for t in range(HORIZON):
            reward += ale.act(action)
            if t % 2 == 0 and self.power_left <= t:
                danger = max(danger, ghost_danger(ale.getRAM()))
        ram = ale.getRAM()
        x1, y1 = player_screen_xy(ram)
        score = float(min(reward, 400))
        if lives_of(ram) < snapshot_lives or ale.game_over():
            score -= 10000
        score -= 2000 * danger
        if self.target is not None:
            tx, ty = self.target
            score += 0.8 * ((abs(tx - x0) + abs(ty - y0)) - (abs(tx - x1) + abs(ty - y1)))
        if (x1, y1) == (x0, y0):
            score -= 30
        if action == self.current:
            score += 3
        return score + 4.0 * float(self.rng.random())   # breaks ties differently per game


def ghost_danger(ram):
    """1.0 when a ghost overlaps Ms. Pac-Man, falling to 0 at 12 pixels away."""
    px, py = int(ram[RAM_PLAYER_X]), int(ram[RAM_PLAYER_Y])
    nearest = min(max(abs(int(ram[gx]) - px), abs(int(ram[gy]) - py))
                  for gx, gy in zip(RAM_GHOST_X, RAM_GHOST_Y))
    return max(0.0, 1.0 - nearest / 12.0)


# ----------------------------------------------------------------------------- one game
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


def warp_to_maze(ale, maze):
    """Start a level that shows `maze` (unrecorded): write the level, end the current one.

    Returns the number of emulator frames it took.
    """
    from ale_py import Action

    ram = ale.getRAM()
    ale.setRAM(RAM_LEVEL_LIVES, (WARP_LEVEL_FOR_MAZE[maze] << 4) | lives_of(ram))
    total = dots_total(ram)
    ale.setRAM(RAM_DOTS_EATEN, total - 1)
    steps = 0
    # Wander until the one pellet needed is eaten and the next level is drawn.
    for action in (Action.LEFT, Action.UP, Action.RIGHT, Action.DOWN) * 50:
        for _ in range(40):
            ale.act(action)
            steps += 1
            if int(ale.getRAM()[RAM_DOTS_EATEN]) < total - 1:
                return steps + settle(ale)
    raise RuntimeError("could not start the chosen maze")  # a bug: the RAM map is wrong


def settle(ale, frames=90):
    """Idle through the level-start pause so probing sees the new maze."""
    from ale_py import Action

    for _ in range(frames):
        ale.act(Action.NOOP)
    return frames


def finishing_assist(ale, pellet_map):
    """Remove all mapped pellets except the ASSIST_KEEP nearest to Ms. Pac-Man.

    The eaten counter is set so that the kept ones end the level. Returns pellets removed.
    """
    ram = ale.getRAM().copy()
    left = remaining_pellets(ram, pellet_map)
    px, py = player_screen_xy(ram)
    left.sort(key=lambda p: abs(p[2] - px) + abs(p[3] - py))
    kept = left[:ASSIST_KEEP]
    for byte, bit, _, _ in left[ASSIST_KEEP:]:
        ram[byte] &= ~np.uint8(1 << bit)
    for byte in RAM_PELLETS:
        ale.setRAM(byte, int(ram[byte]))
    ale.setRAM(RAM_DOTS_EATEN, dots_total(ram) - max(1, len(kept)))
    return len(left) - len(kept)


def repair_finish(ale, pellet_map):
    """Make sure one pellet is left and eating it ends the level; returns 1 if it acted.

    The game ends a level when the eaten counter reaches the maze's total on a pellet; a power
    pellet can step past it, and hidden pellets the probe missed can leave it short.
    """
    ram = ale.getRAM().copy()
    left = remaining_pellets(ram, pellet_map)
    if left and int(ram[RAM_DOTS_EATEN]) < dots_total(ram):
        return 0
    if not left and pellet_map:
        px, py = player_screen_xy(ram)
        byte, bit = min(pellet_map, key=lambda k: abs(pellet_map[k][0] - px) + abs(pellet_map[k][1] - py))
        ale.setRAM(byte, int(ram[byte]) | (1 << bit))
    ale.setRAM(RAM_DOTS_EATEN, dots_total(ram) - 1)
    return 1


def resize_frame(screen):
    """uint8 210 x 160 x 3 emulator screen -> uint8 200 x 160 x 3 (Lanczos)."""
    from PIL import Image

    img = Image.fromarray(screen).resize((F.FRAME_W, F.FRAME_H), Image.LANCZOS)
    return np.asarray(img, dtype=np.uint8)


def frightened_on_screen(screen):
    """True when a frightened (blue or flashing white) ghost is drawn in the maze area."""
    maze = screen[:172]
    return bool(np.any(np.all(maze == FRIGHTENED_BLUE, axis=-1)))


FRIGHTENED_BLUE = np.array((66, 114, 194), dtype=np.uint8)
FRUIT_EATEN_REWARDS = {100, 200, 500, 700, 1000, 2000, 5000}
GHOST_REWARDS = {200, 400, 800, 1600}


def fruit_in_play(ram):
    """The bouncing fruit is in the maze (it may be hidden in a side tunnel); x = 0 once eaten."""
    return bool(ram[RAM_FRUIT_X])


class Labeller:
    """Situation labels per recorded frame, from RAM, rewards and pixels."""

    def __init__(self, warped):
        self.warped = warped
        self.event_left = {"ghost_eaten": 0, "fruit_eaten": 0}
        self.had_fruit = False

    def on_frame(self, ram, reward):
        """Call after every emulator frame; remembers short-lived events."""
        for key in self.event_left:
            self.event_left[key] = max(0, self.event_left[key] - 1)
        has_fruit = fruit_in_play(ram)
        big = reward - reward % 100          # without the 10 / 50 of a pellet in the same frame
        if big and self.had_fruit and not has_fruit and big in FRUIT_EATEN_REWARDS:
            self.event_left["fruit_eaten"] = 60
        elif big in GHOST_REWARDS:
            self.event_left["ghost_eaten"] = 60
        self.had_fruit = has_fruit

    def labels(self, ram, screen, frame_no):
        eaten, total = int(ram[RAM_DOTS_EATEN]), dots_total(ram)
        out = []
        if not self.warped and frame_no < 270:
            out.append("game_start")
        if eaten == 0:
            out.append("maze_untouched")
        elif eaten < total // 2:
            out.append("maze_partly_eaten")
        elif eaten < total:
            out.append("maze_mostly_eaten")
        else:
            out += ["maze_fully_eaten", "level_end"]
        if frightened_on_screen(screen):
            out.append("frightened_ghosts")
        if fruit_in_play(ram):
            out.append("fruit")
        out += [k for k, left in self.event_left.items() if left]
        return out


DEATH_LOOKBACK = 28   # recorded frames before a life is lost: the catch and dying animation
STUCK_FINISH_FRAMES = 400  # level should have ended by now: repair the counter (see below)


def play_episode(plan, n_frames):
    """Play one game; returns (frames uint8 T x 200 x 160 x 3, labels per frame, summary)."""
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
    frames, labels = [], []
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
            frames_per_maze[maze] = frames_per_maze.get(maze, 0) + 1
            if len(frames) % IMAGE_EVERY == 1:
                raw_colours |= distinct_colours(screen)
    if ale.game_over() and labels:
        labels[-1].add("game_over")
    summary = dict(plan, frames=len(frames), score=int(score), emulator_frames=frame_no,
                   levels=list(dict.fromkeys(levels)), frames_per_maze=frames_per_maze,
                   game_over=bool(ale.game_over()), **stats)
    return np.stack(frames), [sorted(lab) for lab in labels], summary, raw_colours


def distinct_colours(frames):
    """Set of distinct RGB colours (as 0xRRGGBB ints) in uint8 ... x 3 pixels."""
    px = np.asarray(frames, dtype=np.uint32).reshape(-1, 3)
    codes = (px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2]
    return set(np.unique(codes).tolist())


# ----------------------------------------------------------------------------- data set
def _make_video(job):
    """Worker: play game `index`, write its video file; return its images and summary."""
    root, seed, index, n_frames = job
    plan = episode_plan(seed, index)
    frames, labels, summary, raw_colours = play_episode(plan, n_frames)
    F.save_video(root, index, frames)
    keep = slice(0, None, IMAGE_EVERY)
    images = frames[keep]
    situations = {}
    for lab in labels:
        for name in lab:
            situations[name] = situations.get(name, 0) + 1
    image_situations = {}
    for lab in labels[keep]:
        for name in lab:
            image_situations[name] = image_situations.get(name, 0) + 1
    summary.update(images=len(images), situation_frames=situations,
                   situation_images=image_situations,
                   video_sha256=file_sha256(F.video_path(root, index)))
    summary["frames_per_maze"] = {str(k): v for k, v in sorted(summary["frames_per_maze"].items())}
    return images, summary, raw_colours, distinct_colours(images)


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_workers(videos):
    return max(1, min(2, os.cpu_count() or 1, videos))


def make_dataset(out_dir, videos=30, seed=0, progress=True, frames_per_video=FRAMES_PER_VIDEO,
                 workers=None):
    """Play `videos` games of Ms. Pac-Man and write the frame data set under `out_dir`.

    Same (videos, seed, frames_per_video) -> byte-identical files, whatever `workers`.
    Returns the manifest (also written to out_dir/manifest.json).
    """
    videos, seed, frames_per_video = int(videos), int(seed), int(frames_per_video)
    split_names = split_of_videos(videos)     # validates videos >= 1
    if frames_per_video < IMAGE_EVERY:
        raise UserError(f"frames per video must be at least {IMAGE_EVERY}, got {frames_per_video}")
    if seed < 0:
        raise UserError(f"--seed must be >= 0, got {seed}")
    root = check_writable_dir(out_dir)
    remove_stale_videos(root, videos)
    jobs = [(str(root), seed, i, frames_per_video) for i in range(videos)]
    results = run_jobs(jobs, workers or default_workers(videos), progress)
    per_split = {s: [] for s in F.SPLITS}
    for (images, summary, _, _), split in zip(results, split_names):
        summary["split"] = split
        per_split[split].append(images)
    for split in F.SPLITS:
        arrays = per_split[split]
        data = np.concatenate(arrays) if arrays else np.zeros((0, F.FRAME_H, F.FRAME_W, 3), np.uint8)
        F.save_split(root, split, data)
    manifest = build_manifest(seed, frames_per_video, split_names, results)
    F.save_manifest(root, manifest)
    return manifest


def remove_stale_videos(root, videos):
    """Delete video files of a previous, larger run so the folder matches the manifest."""
    for path in sorted((Path(root) / "videos").glob("video_*.npz")):
        stem = path.stem.split("_")[-1]
        if stem.isdigit() and int(stem) >= videos:
            path.unlink()


def run_jobs(jobs, workers, progress):
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="video", desc="Ms. Pac-Man", disable=not progress)
    results = []
    try:
        if workers <= 1:
            for job in jobs:
                results.append(_make_video(job))
                bar.update()
        else:
            ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            with ctx.Pool(workers) as pool:
                for result in pool.imap(_make_video, jobs):   # imap keeps the video order
                    results.append(result)
                    bar.update()
    finally:
        bar.close()
    return results


def build_manifest(seed, frames_per_video, split_names, results):
    """The manifest: what was made, how, and how diverse it is."""
    summaries = [r[1] for r in results]
    raw_colours = set().union(*(r[2] for r in results))
    resized_colours = set().union(*(r[3] for r in results))
    situations_frames, situations_images, mazes = {}, {}, {}
    for s in summaries:
        for k, v in s["situation_frames"].items():
            situations_frames[k] = situations_frames.get(k, 0) + v
        for k, v in s["situation_images"].items():
            situations_images[k] = situations_images.get(k, 0) + v
        for k, v in s["frames_per_maze"].items():
            mazes[k] = mazes.get(k, 0) + v
    splits = {name: [i for i, s in enumerate(split_names) if s == name] for name in F.SPLITS}
    return {
        "dataset": "ms_pacman",
        "format_version": 1,
        "source": "Arcade Learning Environment (ale-py), Ms. Pac-Man ROM, Atari 2600",
        "seed": seed,
        "videos": len(summaries),
        "frame_size": [F.FRAME_H, F.FRAME_W, 3],
        "dtype": "uint8",
        "source_frame_size": [SRC_H, SRC_W, 3],
        "resize": "Pillow Lanczos 210x160 -> 200x160 (height x width)",
        "frame_skip": FRAME_SKIP,
        "frames_per_second": 60 / FRAME_SKIP,
        "image_every": IMAGE_EVERY,
        "frames_per_video_planned": frames_per_video,
        "frames_total": sum(s["frames"] for s in summaries),
        "images_total": sum(s["images"] for s in summaries),
        "frames_per_split": {n: sum(summaries[i]["images"] for i in v) for n, v in splits.items()},
        "video_frames_per_split": {n: sum(summaries[i]["frames"] for i in v) for n, v in splits.items()},
        "splits": splits,
        "split_rule": "videos in order: train, then val, then test; 30 -> 25/4/1, "
                      "otherwise val=round(4N/30), test=round(N/30), each >= 1 for N >= 3",
        "distinct_colours": {
            "raw_frames": len(raw_colours),
            "resized_images": len(resized_colours),
            "raw_palette": [f"#{c:06x}" for c in sorted(raw_colours)],
            "note": "raw: 210x160 emulator frames at the image times; resized: the image set "
                    "after Lanczos (filter ringing adds blends)",
        },
        "mazes_seen": {MAZE_NAMES.get(int(k), f"maze index {k}"): v for k, v in sorted(mazes.items())},
        "maze_count": len(mazes),
        "situations": {"frames": dict(sorted(situations_frames.items())),
                       "images": dict(sorted(situations_images.items())),
                       "names": list(SITUATIONS)},
        "player": {"kind": "look-ahead with emulator snapshots", "decide_every": DECIDE_EVERY,
                   "horizon": HORIZON, "level_assist_after_frames": LEVEL_ASSIST_FRAMES,
                   "assist_keeps_pellets": ASSIST_KEEP},
        "per_video": summaries,
    }


# ----------------------------------------------------------------------------- exports
MP4_SETTINGS = ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-crf", "10", "-preset", "medium"]
MP4_NOTE = "H.264 (libx264) yuv444p, CRF 10: high quality, not bit-exact"


def export_png(root, out_dir, split=None, video=None):
    """Write frames as PNGs: one split's images, one video's frames, or (default) every split.

    Names: <split>_NNNNNN.png or video_III_NNNNNN.png. Returns the number of files written.
    """
    from .sources import write_png

    if split is not None and video is not None:
        raise UserError("choose either a split or a video to export, not both")
    out = check_writable_dir(out_dir)
    if video is not None:
        groups = [(f"video_{int(video):03d}", F.load_video(root, int(video)))]
    else:
        F.load_manifest(root)
        groups = [(s, F.load_split(root, s, mmap=True)) for s in ([split] if split else F.SPLITS)]
    count = 0
    for prefix, frames in groups:
        for i, frame in enumerate(frames):
            write_png(out / f"{prefix}_{i:06d}.png", frame)
            count += 1
    return count


def export_mp4(root, out_dir, video=None):
    """Encode videos as mp4 with the ffmpeg of imageio-ffmpeg (see MP4_NOTE); returns paths."""
    manifest = F.load_manifest(root)
    fps = manifest.get("frames_per_second", 60 / FRAME_SKIP)
    indices = [int(video)] if video is not None else range(int(manifest.get("videos", 0)))
    out = check_writable_dir(out_dir)
    return [encode_mp4(F.load_video(root, i), fps, out / f"video_{i:03d}.mp4") for i in indices]


def encode_mp4(frames, fps, path):
    """uint8 T x H x W x 3 -> mp4 at `path`, written to a temporary name and renamed."""
    import subprocess

    from .sources import ffmpeg_exe

    t, h, w, _ = frames.shape
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", *MP4_SETTINGS,
           "-threads", "2", "-movflags", "+faststart", str(tmp)]
    proc = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise UserError(f"ffmpeg could not write {path}: "
                        f"{proc.stderr.decode('utf-8', 'replace').strip().splitlines()[-1:]}")
    os.replace(tmp, path)
    return path


def manifest_summary(root):
    """The manifest without its per-video details and palette: what `data info` prints."""
    manifest = F.load_manifest(root)
    summary = {k: v for k, v in manifest.items() if k != "per_video"}
    if isinstance(summary.get("distinct_colours"), dict):
        summary["distinct_colours"] = {k: v for k, v in summary["distinct_colours"].items()
                                       if k != "raw_palette"}
    summary["videos_detail"] = [
        {k: v.get(k) for k in ("index", "split", "start_maze", "mode", "frames", "images",
                               "score", "levels", "lives_lost", "finishing_assists")}
        for v in manifest.get("per_video", [])
    ]
    return summary
