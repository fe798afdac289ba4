"""The built-in Pac-Man frame data set: Ms. Pac-Man played in the Arcade Learning Environment.

`make_dataset(out_dir, videos=30, seed=0)` plays one game ("video") per index and writes the
layout of `data_tools.frames`:

    videos/video_XXX.npz   uint8 T x 200 x 160 x 3, every FRAME_SKIP-th emulator frame
    images/<split>.npy     uint8 N x 200 x 160 x 3, every IMAGE_EVERY-th recorded frame
    tasks/<split>.npz      per image: situation labels, maze, sprite positions (tasks.py)
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

Modules: emulator.py (ALE, RAM, mazes), player.py (the look-ahead player), labels.py
(situation labels), tasks.py (the downstream task set), episode.py (one game), dataset.py (the data set, manifest, exports).
"""
from data_tools.pacman.dataset import *  # noqa: F401,F403
from data_tools.pacman.emulator import *  # noqa: F401,F403
from data_tools.pacman.episode import *  # noqa: F401,F403
from data_tools.pacman.labels import *  # noqa: F401,F403
from data_tools.pacman.player import *  # noqa: F401,F403
from data_tools.pacman.tasks import *  # noqa: F401,F403
