"""Lossless coding of ALE screens, game by game (issue 15): the generic palette model,
the fitted one where it exists, and the classic lossless codecs, raw and resized,
frame by frame and as consecutive video, on held-out episodes (seeds never used in
fitting: the generic model was fitted on seed 0.. of its six games).

    PYTHONPATH=. python benchmarks/atari_table.py --out benchmarks/results/atari \\
        [--games ms_pacman,pacman,...] [--generic palette-generic] [--stills 30] [--video 200]

Per game, one episode of the sticky-random player from seed 10000 (data_tools.atari):
stills are every 10th of its frames, video its first consecutive frames (every 3rd
emulator frame). Every learned decode is checked exact. Writes results.json and
table.md (bytes/frame; ratios against WebP/JPEG XL lossless and AV1 lossless). The
learned codecs' bytes are whole .lcf files divided by the frame count (the ~360-byte
header included, i.e. ~18 B/frame over 20 stills); classic stills are one file per frame.
Games marked * are absent from the generic model's fit.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_tools.atari import record  # noqa: E402
from data_tools.pacman.episode import resize_frame  # noqa: E402
from learned_codec.codecs.baselines import av1_lossless, h264rgb_lossless, jxl_lossless, png, webp_lossless  # noqa: E402
from learned_codec.codecs.registry import open_codec  # noqa: E402
from learned_codec.fileio import atomic_write_json, atomic_write_bytes  # noqa: E402

FITTED = {"ms_pacman": "palette", "pacman": "palette-pacman"}   # shipped fitted models, by game (both forms)
GENERIC_FIT_GAMES = ("breakout", "pong", "seaquest", "freeway", "asterix", "qbert")
DEFAULT_GAMES = ("ms_pacman", "pacman", "space_invaders", "enduro", "beam_rider", "riverraid", "alien",
                 "montezuma_revenge", "breakout", "seaquest")
SEED = 10_000


def learned(codec, frames):
    t = time.perf_counter()
    data = codec.encode(frames)
    te = time.perf_counter() - t
    t = time.perf_counter()
    out = codec.decode(data)
    td = time.perf_counter() - t
    if not np.array_equal(out, frames):
        raise AssertionError(f"{codec.name} is not exact")
    return {"bytes_per_frame": len(data) / len(frames), "encode_fps": len(frames) / te,
            "decode_fps": len(frames) / td}


def per_frame(codec, frames):
    sizes = []
    for f in frames:
        b = codec.encode_frame(f)
        sizes.append(len(b))
    assert np.array_equal(codec.decode_frame(b), frames[-1])
    return {"bytes_per_frame": float(np.mean(sizes))}


def video(codec, frames):
    data = codec.encode(frames)
    assert np.array_equal(codec.decode(data), frames)
    return {"bytes_per_frame": len(data) / len(frames)}


def run_game(game, generic, n_stills, n_video):
    raw = record(game, SEED, max(n_stills * 10, n_video))
    rows = {}
    for form in ("raw", "resized"):
        frames = raw if form == "raw" else np.stack([resize_frame(s) for s in raw])
        stills, clip = frames[::10][:n_stills], frames[:n_video]
        row = {"screen": list(raw.shape[1:3]), "stills": {}, "video": {}}
        row["stills"]["generic"] = learned(generic, stills)
        row["video"]["generic"] = learned(generic.with_gop(50), clip)
        if game in FITTED:
            fitted = open_codec(FITTED[game])
            row["stills"]["fitted"] = learned(fitted, stills)
            row["video"]["fitted"] = learned(fitted.with_gop(25), clip)
        for name, make in (("png", png), ("webp-lossless", webp_lossless), ("jxl-lossless", jxl_lossless)):
            row["stills"][name] = per_frame(make(), stills)
        for name, make in (("av1-lossless", av1_lossless), ("h264rgb-lossless", h264rgb_lossless)):
            row["video"][name] = video(make(), clip)
        s, v = row["stills"], row["video"]
        row["generic_vs_best_still"] = s["generic"]["bytes_per_frame"] / min(
            s["webp-lossless"]["bytes_per_frame"], s["jxl-lossless"]["bytes_per_frame"])
        row["generic_video_vs_av1"] = v["generic"]["bytes_per_frame"] / v["av1-lossless"]["bytes_per_frame"]
        rows[form] = row
        print(f"{game} {form}: generic {s['generic']['bytes_per_frame']:.0f} B/frame "
              f"({row['generic_vs_best_still']:.2f}x best still codec), video "
              f"{v['generic']['bytes_per_frame']:.1f} ({row['generic_video_vs_av1']:.2f}x AV1)", flush=True)
    return rows


def table(results):
    lines = ["| game | form | fitted | generic | PNG | WebP-LL | JXL-LL | generic / min(WebP, JXL) | "
             "fitted video | generic video | AV1-LL | x264rgb-LL | generic video / AV1 |",
             "|" + " --- |" * 13]
    f = lambda d, k: f"{d[k]['bytes_per_frame']:.0f}" if k in d else "-"  # noqa: E731
    for game, forms in results["games"].items():
        seen = "" if game in GENERIC_FIT_GAMES else " *"
        for form, r in forms.items():
            s, v = r["stills"], r["video"]
            shape = f"raw {r['screen'][0]}x{r['screen'][1]}" if form == "raw" else f"200x160 of {r['screen'][0]} rows"
            lines.append(f"| {game}{seen} | {shape} | "
                         f"{f(s, 'fitted')} | {f(s, 'generic')} | {f(s, 'png')} | {f(s, 'webp-lossless')} | "
                         f"{f(s, 'jxl-lossless')} | {r['generic_vs_best_still']:.2f} | {f(v, 'fitted')} | "
                         f"{v['generic']['bytes_per_frame']:.1f} | {f(v, 'av1-lossless')} | "
                         f"{f(v, 'h264rgb-lossless')} | {r['generic_video_vs_av1']:.2f} |")
    return "\n".join(lines) + "\n"


def render(out):
    """Rewrite OUT/table.md from OUT/results.json."""
    results = json.loads((Path(out) / "results.json").read_text())
    atomic_write_bytes(Path(out) / "table.md", table(results).encode())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="benchmarks/results/atari")
    p.add_argument("--games", default=",".join(DEFAULT_GAMES))
    p.add_argument("--generic", default="palette-generic", help="generic model (shipped name or run folder)")
    p.add_argument("--stills", type=int, default=30)
    p.add_argument("--video", type=int, default=200)
    args = p.parse_args()
    generic = open_codec(args.generic)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    results = {"command": " ".join(sys.argv), "seed": SEED, "generic_model": args.generic,
               "generic_fit_games": list(GENERIC_FIT_GAMES), "games": {}}
    for game in args.games.split(","):
        results["games"][game] = run_game(game, generic, args.stills, args.video)
        results["seconds"] = round(time.time() - t0, 1)
        atomic_write_json(out / "results.json", results)
    atomic_write_bytes(out / "table.md", table(results).encode())
    print(table(results))


if __name__ == "__main__":
    main()
