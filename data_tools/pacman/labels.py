"""Per-frame situation labels of a recorded Ms. Pac-Man game, from the RAM and the screen."""
import numpy as np

from data_tools.pacman.emulator import RAM_DOTS_EATEN, RAM_FRUIT_X, dots_total

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
