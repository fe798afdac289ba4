"""The Pac-Man data maker on a tiny run (3 short games), its CLI and its exports."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from data_tools import frames as F
from data_tools import pacman
from learned_codec.cli import main

TINY = dict(videos=3, frames_per_video=40, progress=False, workers=1)


def tree_hashes(root):
    """sha256 of every file under root, by relative path."""
    root = Path(root)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("pacman") / "seed0"
    manifest = pacman.make_dataset(out, seed=0, **TINY)
    return out, manifest


def test_frames_are_200x160_uint8(tiny):
    out, _ = tiny
    for split in F.SPLITS:
        images = F.load_split(out, split)
        assert images.dtype == np.uint8 and images.shape[1:] == (200, 160, 3)
        assert len(images) == 4            # 40 frames, every 10th
    video = F.load_video(out, 0)
    assert video.dtype == np.uint8 and video.shape == (40, 200, 160, 3)
    assert video.std() > 10                # a real maze, not a blank screen


def test_splits_are_disjoint_by_video(tiny):
    _, manifest = tiny
    splits = manifest["splits"]
    assert splits == {"train": [0], "val": [1], "test": [2]}
    seen = [v for s in F.SPLITS for v in splits[s]]
    assert sorted(seen) == [0, 1, 2] and len(set(seen)) == 3


def test_manifest_fields(tiny):
    out, manifest = tiny
    assert F.load_manifest(out) == json.loads(json.dumps(manifest))
    assert manifest["seed"] == 0
    assert manifest["frame_size"] == [200, 160, 3]
    assert manifest["frame_skip"] == pacman.FRAME_SKIP
    assert manifest["frames_total"] == 120 and manifest["images_total"] == 12
    assert manifest["frames_per_split"] == {"train": 4, "val": 4, "test": 4}
    assert manifest["distinct_colours"]["raw_frames"] >= 8
    # the three games start in three different mazes (chosen through RAM)
    assert manifest["maze_count"] == 3
    assert "maze_untouched" in manifest["situations"]["frames"]
    assert [v["split"] for v in manifest["per_video"]] == ["train", "val", "test"]


def test_same_seed_same_bytes_other_seed_other_frames(tiny, tmp_path):
    out, _ = tiny
    again = tmp_path / "again"
    pacman.make_dataset(again, seed=0, **dict(TINY, workers=2))   # workers do not matter
    assert tree_hashes(again) == tree_hashes(out)
    other = tmp_path / "other"
    pacman.make_dataset(other, seed=1, **TINY)
    assert not np.array_equal(F.load_split(other, "train"), F.load_split(out, "train"))


@pytest.mark.parametrize("videos, expected", [
    (30, (25, 4, 1)), (6, (4, 1, 1)), (3, (1, 1, 1)), (2, (1, 0, 1)), (1, (1, 0, 0)),
    (60, (50, 8, 2)),
])
def test_split_counts(videos, expected):
    assert pacman.split_counts(videos) == expected


def test_ram_warp_shows_the_chosen_maze():
    ale = pacman.new_emulator(seed=1, mode=0)
    pacman.warp_to_maze(ale, 2)
    assert int(ale.getRAM()[pacman.RAM_MAZE]) == 2
    assert len(pacman.probe_pellets(ale)) > 100


def test_cli_info_and_exports(tiny, tmp_path, capsys):
    out, _ = tiny
    assert main(["data", "info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames_per_split"] == {"train": 4, "val": 4, "test": 4}
    assert main(["data", "export", str(out), "--png", str(tmp_path / "png"), "--split", "val"]) == 0
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert [p.name for p in pngs][:1] == ["val_000000.png"] and len(pngs) == 4
    from data_tools.sources import load_image_folder
    images = load_image_folder(tmp_path / "png")
    np.testing.assert_array_equal(images, F.load_split(out, "val"))
    assert main(["data", "export", str(out), "--mp4", str(tmp_path / "mp4"), "--video", "1"]) == 0
    from data_tools.sources import load_video_file
    video, fps = load_video_file(tmp_path / "mp4" / "video_001.mp4")
    assert video.shape == (40, 200, 160, 3) and fps == pytest.approx(20)
    # CRF 10 yuv444p: close to the frames, not bit-exact
    error = np.abs(video.astype(int) - F.load_video(out, 1).astype(int)).mean()
    assert error < 3


def test_cli_pacman_small_run(tmp_path, capsys):
    code = main(["data", "pacman", "--out", str(tmp_path / "d"), "--videos", "1",
                 "--frames-per-video", "20", "--quiet"])
    assert code == 0
    assert "wrote 1 videos" in capsys.readouterr().out
    assert F.load_split(tmp_path / "d", "train").shape == (2, 200, 160, 3)


@pytest.mark.parametrize("argv, message", [
    (["data", "info", "{missing}"], "no manifest.json"),
    (["data", "export", "{missing}", "--png", "{tmp}/x"], "no manifest.json"),
    (["data", "pacman", "--out", "{tmp}/d", "--videos", "0"], "--videos must be at least 1"),
    (["data", "pacman", "--out", "{tmp}/d", "--seed", "-3"], "--seed must be >= 0"),
])
def test_cli_user_errors(argv, message, tmp_path, capsys):
    argv = [a.format(missing=tmp_path / "nothing", tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_export_missing_video_is_user_error(tiny, tmp_path, capsys):
    out, _ = tiny
    assert main(["data", "export", str(out), "--mp4", str(tmp_path / "m"), "--video", "9"]) == 2
    assert "no video 9" in capsys.readouterr().err


def test_games_with_the_same_start_do_not_repeat():
    """Videos 1 and 17 start in the same maze and game mode; the player's seed must tell them apart."""
    first, second = pacman.episode_plan(0, 1), pacman.episode_plan(0, 17)
    assert (first["start_maze"], first["mode"]) == (second["start_maze"], second["mode"])
    a = pacman.play_episode(first, 150)[0]
    b = pacman.play_episode(second, 150)[0]
    assert not np.array_equal(a[-1], b[-1])
