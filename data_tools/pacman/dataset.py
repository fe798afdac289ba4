"""The Pac-Man data set: games in parallel, splits by video, the manifest, PNG/mp4 exports."""
import hashlib
import multiprocessing
import os
from pathlib import Path

import numpy as np

from data_tools import frames as F
from data_tools.pacman.emulator import (
    ASSIST_KEEP,
    FRAME_SKIP,
    FRAMES_PER_VIDEO,
    IMAGE_EVERY,
    MAZE_NAMES,
    SRC_H,
    SRC_W,
)
from data_tools.pacman.episode import distinct_colours, episode_plan, play_episode
from data_tools.pacman.labels import SITUATIONS
from data_tools.pacman.player import DECIDE_EVERY, HORIZON, LEVEL_ASSIST_FRAMES
from data_tools.pacman.tasks import SPRITES, concat_tasks, save_tasks, select
from learned_codec.errors import UserError
from learned_codec.fileio import check_writable_dir


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


def _make_video(job):
    """Worker: play game `index`, write its video file; return its images and summary."""
    root, seed, index, n_frames = job
    plan = episode_plan(seed, index)
    frames, labels, summary, raw_colours, tasks = play_episode(plan, n_frames)
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
    return images, summary, raw_colours, distinct_colours(images), select(tasks, keep)


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
    tasks_per_split = {s: [] for s in F.SPLITS}
    for (images, summary, _, _, tasks), split in zip(results, split_names):
        summary["split"] = split
        per_split[split].append(images)
        tasks_per_split[split].append(tasks)
    for split in F.SPLITS:
        arrays = per_split[split]
        data = np.concatenate(arrays) if arrays else np.zeros((0, F.FRAME_H, F.FRAME_W, 3), np.uint8)
        F.save_split(root, split, data)
        save_tasks(root, split, concat_tasks(tasks_per_split[split]))
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
        "format_version": 2,
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
        "tasks": {"files": "tasks/<split>.npz, one row per image of images/<split>.npy",
                  "fields": {"situations": "multi-hot in situations.names order",
                             "maze": "0..3 (ram[0])",
                             "positions": "x, y in image pixels of " + ", ".join(SPRITES),
                             "on_screen": "1 where the position is inside the maze area"},
                  "ram_to_screen": "raw x = ram_x - 8, raw y = ram_y + 6; image y = raw y * 200/210"},
        "player": {"kind": "look-ahead with emulator snapshots", "decide_every": DECIDE_EVERY,
                   "horizon": HORIZON, "level_assist_after_frames": LEVEL_ASSIST_FRAMES,
                   "assist_keeps_pellets": ASSIST_KEEP},
        "per_video": summaries,
    }


MP4_SETTINGS = ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-crf", "10", "-preset", "medium"]


MP4_NOTE = "H.264 (libx264) yuv444p, CRF 10: high quality, not bit-exact"


def export_png(root, out_dir, split=None, video=None):
    """Write frames as PNGs: one split's images, one video's frames, or (default) every split.

    Names: <split>_NNNNNN.png or video_III_NNNNNN.png. Returns the number of files written.
    """
    from data_tools.sources import write_png

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
    """uint8 T x H x W x 3 -> mp4 at `path` (MP4_SETTINGS), written atomically."""
    from learned_codec.ffmpeg import write_mp4

    return write_mp4(frames, path, fps, settings=(*MP4_SETTINGS, "-threads", "2"))


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
