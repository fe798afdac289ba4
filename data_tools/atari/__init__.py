"""Frames of any ALE game: a generic player and the raw/resized data set.

`record(game, seed, frames)` plays the game with a sticky-random agent (the action
of the game's minimal set is kept with probability STICKY, otherwise redrawn; the
game is reset when it ends) and returns every FRAME_SKIP-th emulator screen, raw:
uint8 T x 210 x 160 x 3, what ALE and Gymnasium return. `make_dataset` writes
`videos` such games as the layout of data_tools.frames, in both forms:

    raw/videos/video_XXX.npz      210 x 160 screens (exact emulator output)
    videos/video_XXX.npz          the same resized to 200 x 160 (Pillow Lanczos, the
                                  Pac-Man data set's form)
    images/<split>.npy, raw/images/<split>.npy   every IMAGE_EVERY-th frame
    manifest.json                 game, seed, counts, splits, diversity (colours,
                                  distinct screens, changed pixels per frame)

Random play covers less of a game than a player would (it rarely leaves the first
level); the manifest says how diverse the frames are so that a table built on them
can be read for what it is.
"""
from data_tools.atari.dataset import console_palette, game_rom, make_dataset, record

__all__ = ["console_palette", "game_rom", "make_dataset", "record"]
