"""The Pac-Man downstream task set: labels, maze and sprite positions per image frame."""
import numpy as np
import pytest

from data_tools import frames as F
from data_tools import pacman
from data_tools.pacman import tasks as T
from learned_codec.errors import UserError

TINY = dict(videos=3, frames_per_video=40, progress=False, workers=1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("pacman-tasks")
    return out, pacman.make_dataset(out, seed=0, **TINY)


def test_layout_one_row_per_image(tiny):
    out, manifest = tiny
    assert manifest["format_version"] == 2 and "tasks" in manifest
    for split in F.SPLITS:
        images = F.load_split(out, split)
        tasks = T.load_tasks(out, split, images)
        assert tasks["situations"].shape == (len(images), len(pacman.SITUATIONS))
        assert tasks["positions"].shape == (len(images), 5, 2)
        assert tasks["positions"].dtype == np.float32


def test_situations_and_maze_match_the_manifest(tiny):
    out, manifest = tiny
    counts = np.zeros(len(pacman.SITUATIONS), int)
    mazes = set()
    for split in F.SPLITS:
        tasks = T.load_tasks(out, split)
        counts += tasks["situations"].astype(int).sum(0)
        mazes |= set(tasks["maze"].tolist())
    expected = manifest["situations"]["images"]
    assert {n: int(c) for n, c in zip(pacman.SITUATIONS, counts) if c} == expected
    # the three tiny games start in three different mazes (the manifest says 3)
    assert len(mazes) == manifest["maze_count"] == 3
    # every game's first 40 frames are its start: nothing eaten yet in at least one
    assert counts[pacman.SITUATIONS.index("maze_untouched")] >= 1


def _played_frames(n=400, seed=5):
    from ale_py import Action

    ale = pacman.new_emulator(seed, 0)
    rng = np.random.default_rng(0)
    dirs, action, out = pacman.directions(), Action.NOOP, []
    for t in range(n):
        if t % 15 == 0:
            action = dirs[rng.integers(4)]
        ale.act(action)
        if t > 250 and t % 5 == 0:
            out.append((ale.getScreenRGB().copy(), ale.getRAM().copy()))
    return out


def test_ram_positions_are_where_each_sprite_is_drawn():
    checked = {name: 0 for name in T.SPRITES}
    for screen, ram in _played_frames():
        raw = T.sprite_positions_raw(ram)
        for (x, y), name in zip(raw, T.SPRITES):
            mask = np.all(screen[:T.MAZE_AREA_RAW_H] == T.SPRITE_COLOURS[name], axis=-1)
            if mask.sum() < 8:
                continue          # not drawn this frame (flicker, frightened, dying)
            ys, xs = np.nonzero(mask)
            # the sprite's own pixels sit around the RAM position (sprites are ~8 px wide)
            assert abs(xs.mean() - x) < 3.5 and abs(ys.mean() - y) < 5, (name, x, y, xs.mean(), ys.mean())
            checked[name] += 1
    assert all(c >= 5 for c in checked.values()), checked


def test_image_coordinates_scale_y_only():
    raw = np.array([[80.0, 105.0], [0.0, 210.0]], np.float32)
    np.testing.assert_allclose(T.to_image_coords(raw), [[80.0, 100.0], [0.0, 200.0]])


def test_missing_or_mismatched_labels_are_one_clear_error(tiny, tmp_path):
    out, _ = tiny
    with pytest.raises(UserError, match="predates them; remake it"):
        T.load_tasks(tmp_path, "train")
    with pytest.raises(UserError, match="labels 4 frames but the train split has 3"):
        T.load_tasks(out, "train", np.zeros((3, 200, 160, 3), np.uint8))
    bad = tmp_path / "tasks" / "train.npz"
    bad.parent.mkdir()
    bad.write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable task-label file"):
        T.load_tasks(tmp_path, "train")
