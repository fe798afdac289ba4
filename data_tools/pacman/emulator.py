"""Ms. Pac-Man in the ALE: the emulator, its RAM addresses and the level/maze controls.

RAM map and how a level is chosen: see data_tools/pacman/__init__.py."""
import numpy as np

FRAME_SKIP = 3            # record every 3rd emulator frame (60 Hz -> 20 frames per second)
IMAGE_EVERY = 10          # image data set = every 10th recorded frame, like the report
FRAMES_PER_VIDEO = 2500   # recorded frames per game by default: 125 s of play, 250 images
SRC_H, SRC_W = 210, 160
ASSIST_KEEP = 5           # pellets kept when the finishing assist clears the rest

# RAM addresses (see data_tools/pacman/__init__.py)
RAM_MAZE = 0
RAM_PLAYER_X, RAM_PLAYER_Y = 10, 16
RAM_FRUIT_X, RAM_FRUIT_Y = 11, 17
PLAYER_DX, PLAYER_DY = -8, 6
RAM_GHOST_X = (6, 7, 8, 9)
RAM_GHOST_Y = (12, 13, 14, 15)
RAM_PELLETS = range(60, 101)
RAM_DOTS_EATEN = 119
RAM_LEVEL_LIVES = 123
MAZE_DOTS = {0: 154, 1: 150, 2: 158, 3: 154}   # pellets per level, by maze
MAZE_NAMES = {0: "maze 1 (pink walls)", 1: "maze 2 (light blue walls)",
              2: "maze 3 (grey walls)", 3: "maze 4 (green walls)"}


# Level nibble to write so that the level after the forced level end shows maze m.
WARP_LEVEL_FOR_MAZE = {1: 1, 2: 3, 3: 5}


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
