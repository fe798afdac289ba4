"""The look-ahead player that drives Ms. Pac-Man through varied situations and mazes."""
from data_tools.pacman.emulator import (
    RAM_GHOST_X,
    RAM_GHOST_Y,
    RAM_PLAYER_X,
    RAM_PLAYER_Y,
    directions,
    lives_of,
    player_screen_xy,
    remaining_pellets,
)

# Player tuning
DECIDE_EVERY = 6          # emulator frames between decisions


HORIZON = 30              # emulator frames of look-ahead per candidate direction


STALL_DECISIONS = 90      # decisions without a pellet before the player aims elsewhere


LEVEL_ASSIST_FRAMES = 2700  # emulator frames on a level before the finishing assist




POWER_FRAMES = 300        # emulator frames after a power pellet while ghosts are harmless


EXPLORE = 0.1             # chance per decision of a random direction that does not lose a life


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
