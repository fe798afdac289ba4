"""Fitting the `palette` model (palette/model.py): `learned-codec train --arch palette`.

No gradients: every part is a count over the training frames.

1. Palette: the data set's emulator palette (manifest "raw_palette", measured on
   the raw screens by the data maker); for other folders, the colours of
   vertically flat runs (which Lanczos resizing leaves untouched).
2. Screens: each training frame inverted to its palette screen
   (resample.invert_resize), in chunks saved to RUN_DIR/screens/ so that a killed
   run resumes where it stopped (--resume). Frames of 200 rows come from the screen
   height the manifest names (data atari: 210, or 250 for Pac-Man), else 210 (the
   Pac-Man data set); frames of any other height are their own screens.
3. Backgrounds: k-modes over the screens (assign each screen to the background
   it differs from least, then take each pixel's most frequent value).
4. Context tables: counts of (context, pixel) for key frames (background as
   reference) and for video frames (background and previous screen), smoothed and
   quantized (palette/tables.py). The back-off threshold and smoothing are chosen
   on validation frames: the ones that code them in the fewest bits. The "next"
   tables count the same contexts on runs of consecutive frames of the training
   videos (videos/, when the data set has them); without videos they are the inter
   tables.
"""
import hashlib
import time
from pathlib import Path

import numpy as np
import torch

from learned_codec.errors import UserError
from learned_codec.fileio import atomic_open, atomic_write_json, check_writable_dir
from learned_codec.models import build_model, default_config
from learned_codec.models import checkpoint as ckpt
from learned_codec.palette.model import assign_backgrounds, reference_planes
from learned_codec.palette.resample import invert_resize
from learned_codec.palette.tables import ContextCounter, code_length_bits

CHUNK = 256
MIN_COUNTS = (1, 2, 4, 8)
BETAS = (0.5, 2.0, 8.0)  # hierarchical smoothing strengths tried (nested levels)
ALPHA = 0.05
VAL_FRAMES = 240         # validation frames: the first of each validation video, in order
NEXT_SEGMENTS, NEXT_LENGTH = 4, 25  # consecutive frames per training video for the "next" tables


def learn_palette(frames, window=7, min_pixels=16):
    """Colours of vertically flat runs of `window` pixels (exact after resizing)."""
    col = (frames[..., 0].astype(np.int64) << 16) | (frames[..., 1].astype(np.int64) << 8) | frames[..., 2]
    half = window // 2
    core = col[:, half:col.shape[1] - half]
    flat = np.ones(core.shape, dtype=bool)
    for d in range(-half, half + 1):
        flat &= col[:, half + d:col.shape[1] - half + d] == core
    u, n = np.unique(core[flat], return_counts=True)
    u = u[n >= min_pixels]
    return np.stack([(u >> 16) & 255, (u >> 8) & 255, u & 255], 1).astype(np.uint8)


def _manifest(data_dir):
    from data_tools.frames import load_manifest

    try:
        return load_manifest(data_dir)
    except UserError:
        return {}


def _palette(data_dir, frames):
    manifest = _manifest(data_dir)
    hexes = manifest.get("distinct_colours", {}).get("raw_palette")
    if hexes:
        pal = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in hexes], dtype=np.uint8)
        return pal, "data set manifest (raw emulator screens)"
    raw = Path(data_dir) / "raw" / "images" / "train.npy"   # data atari: the raw screens beside the resize
    if raw.is_file():
        screens = np.load(raw, mmap_mode="r")
        colours = np.unique(np.asarray(screens[:: max(1, len(screens) // 500)]).reshape(-1, 3), axis=0)
        return colours, "the data set's raw screens (raw/)"
    return learn_palette(frames[:: max(1, len(frames) // 500)]), "flat runs of the training frames"


def _screen_height(data_dir, frame_h, frame_w):
    """Rows of the screens behind frame_h-row frames: the manifest's screen_size (data atari
    records it: 250 for Pac-Man), else 210 for 200-row frames (the Pac-Man data set); frames
    of any other height are their own screens."""
    if frame_h != 200:
        return int(frame_h)
    size = _manifest(data_dir).get("screen_size")
    if isinstance(size, list) and len(size) == 2 and int(size[1]) == frame_w and int(size[0]) in (210, 250):
        return int(size[0])
    return 210


def _sequence_starts(data_dir, split, n):
    """Indexes where a new video starts in `split` (the manifest's videos), else [0]."""
    from data_tools.frames import load_manifest

    try:
        videos = [v for v in load_manifest(data_dir).get("per_video", []) if v.get("split") == split]
    except UserError:
        return [0]
    lengths = [int(v.get("images", 0)) for v in videos]
    if not lengths or sum(lengths) != n:
        return [0]
    return list(np.cumsum([0] + lengths[:-1]))


def _first_frames(frames, starts, limit):
    """About `limit` frames: the same number from the start of every video."""
    if limit < 1:
        raise UserError(f"--frames-per-epoch must be >= 1, got {limit}")
    bounds = list(starts) + [len(frames)]
    per = max(1, -(-limit // len(starts)))
    keep = [np.arange(a, min(b, a + per)) for a, b in zip(bounds[:-1], bounds[1:])]
    new_starts = list(np.cumsum([0] + [len(k) for k in keep[:-1]]))
    return frames[np.concatenate(keep)], new_starts


def invert_all(frames, palette, screen_h, cache_dir, progress=True):
    """Screens of every frame; chunks cached (atomically) under cache_dir for resume."""
    from tqdm import tqdm

    cache_dir.mkdir(parents=True, exist_ok=True)
    out = np.zeros((len(frames), screen_h, frames.shape[2]), dtype=np.uint8)
    bar = tqdm(total=len(frames), desc="invert screens", unit="frame", disable=not progress)
    for start in range(0, len(frames), CHUNK):
        stop = min(start + CHUNK, len(frames))
        # Named by the hash of the frames, the palette and the screen height: a cache made
        # from other frames or for another palette is never reused.
        h = hashlib.sha1(np.ascontiguousarray(frames[start:stop]).tobytes())
        h.update(np.ascontiguousarray(palette, dtype=np.uint8).tobytes() + str(int(screen_h)).encode())
        digest = h.hexdigest()[:16]
        path = cache_dir / f"screens-{start:07d}-{stop:07d}-{digest}.npy"
        chunk = None
        if path.is_file():
            try:
                chunk = np.load(path, allow_pickle=False)
                if chunk.shape != (stop - start, screen_h, frames.shape[2]) or chunk.dtype != np.uint8:
                    chunk = None
            except (ValueError, OSError, EOFError):
                chunk = None
        if chunk is None:
            chunk = np.concatenate([invert_resize(np.asarray(frames[i:i + 16]), palette, screen_h)
                                    for i in range(start, stop, 16)])
            with atomic_open(path, "wb") as f:
                np.save(f, chunk, allow_pickle=False)
        out[start:stop] = chunk
        bar.update(stop - start)
    bar.close()
    return out


def fit_backgrounds(screens, k, iters=6, seed=0):
    """k-modes: k screens, each pixel the most frequent value among the screens it explains."""
    sample = screens[:: max(1, len(screens) // 1500)]
    rng = np.random.default_rng(seed)
    centres = [sample[rng.integers(len(sample))]]
    for _ in range(1, k):  # farthest-point start
        d = np.min([(sample != c).sum((1, 2)) for c in centres], 0)
        centres.append(sample[int(d.argmax())])
    centres = np.stack(centres)
    for _ in range(iters):
        assign = assign_backgrounds(sample, centres)
        centres = np.stack([_modes(sample[assign == j]) if (assign == j).any() else centres[j]
                            for j in range(k)])
    return centres


def _modes(screens):
    n, h, w = screens.shape
    counts = np.zeros((h * w, 32), dtype=np.int32)
    pix = np.arange(h * w)
    for s in screens.reshape(n, -1):
        counts[pix, s] += 1
    return counts.argmax(1).astype(np.uint8).reshape(h, w)


def training_references(cfg, screens, backgrounds, starts):
    """(intra refs N x R x H x W, inter refs N x R' x H x W, mask of frames with a previous one)."""
    bg = backgrounds[assign_backgrounds(screens, backgrounds)]
    prev = np.concatenate([screens[:1], screens[:-1]])
    has_prev = np.ones(len(screens), dtype=bool)
    has_prev[list(starts)] = False
    return (reference_planes(cfg["intra_refs"], bg), reference_planes(cfg["inter_refs"], bg, prev),
            has_prev)


def count_tables(levels, nsym, screens, refs, desc="count contexts", progress=False):
    from tqdm import tqdm

    counter = ContextCounter(levels, nsym)
    with tqdm(total=len(screens), desc=desc, unit="frame", disable=not progress) as bar:
        for i in range(0, len(screens), 512):
            counter.add(screens[i:i + 512], refs[i:i + 512])
            bar.update(len(screens[i:i + 512]))
    return counter


def fit_model(cfg, palette, screens, starts, val_screens, val_starts=(0,), consecutive=None,
              progress=False):
    """The palette model for `cfg` fitted on training screens (videos beginning at
    `starts`); each table's back-off threshold and smoothing are the ones that code
    `val_screens` (videos beginning at `val_starts`) in the fewest bits.
    consecutive: (screens, starts, val_screens, val_starts) of consecutive video frames
    for the "next" tables; None: they are the inter tables.
    -> (model, {kind: validation bytes per frame of each setting, and the choice})."""
    cfg = dict(cfg, colours=len(palette))
    backgrounds = fit_backgrounds(screens, int(cfg["backgrounds"]))
    nsym = len(palette)
    # kind -> (training screens, their refs, validation screens, their refs)
    sets = {}
    intra_refs, inter_refs, has_prev = training_references(cfg, screens, backgrounds, starts)
    v_intra, v_inter, v_prev = training_references(cfg, val_screens, backgrounds, val_starts)
    sets["intra"] = (cfg["intra_levels"], screens, intra_refs, val_screens, v_intra)
    sets["inter"] = (cfg["inter_levels"], screens[has_prev], inter_refs[has_prev],
                     val_screens[v_prev], v_inter[v_prev])
    if consecutive is not None:
        c_screens, c_starts, c_val, c_val_starts = consecutive
        _, c_refs, c_prev = training_references(cfg, c_screens, backgrounds, c_starts)
        _, cv_refs, cv_prev = training_references(cfg, c_val, backgrounds, c_val_starts)
        sets["next"] = (cfg["inter_levels"], c_screens[c_prev], c_refs[c_prev], c_val[cv_prev], cv_refs[cv_prev])
    chosen, report = {}, {}
    for kind, (levels, train_s, train_r, val_s, val_r) in sets.items():
        counter = count_tables(levels, nsym, train_s, train_r, f"count {kind} contexts", progress)
        scores, best = {}, None
        for mc in MIN_COUNTS:
            for beta in (BETAS if counter.nested() else (None,)):
                tables = counter.tables(min_count=mc, alpha=ALPHA, beta=beta)
                name = f"min_count={mc},beta={beta}"
                scores[name] = float(code_length_bits(tables, val_s, val_r).mean() / 8) \
                    if len(val_s) else float(len(tables.keys))  # no validation: smallest
                if best is None or scores[name] < best[0]:
                    best = (scores[name], name, mc, beta, tables)
        _, best, mc, beta, chosen[kind] = best
        report[kind] = {"min_count": mc, "beta": beta, "train_frames": int(len(train_s)),
                        "val_frames": int(len(val_s)), "val_bytes_per_frame": scores[best],
                        "val_bytes_per_frame_by_setting": scores}
    chosen.setdefault("next", chosen["inter"])
    for kind, tables in chosen.items():
        cfg[f"{kind}_rows"] = [int(r) for r in np.diff(tables.level_start)]
    model = build_model(cfg)
    with torch.no_grad():
        model.palette.copy_(torch.from_numpy(np.asarray(palette, dtype=np.uint8)))
        model.backgrounds.copy_(torch.from_numpy(backgrounds))
    for kind, tables in chosen.items():
        model.set_tables(kind, tables)
    return model, report


def consecutive_frames(data_dir, split, segments, length):
    """`segments` runs of `length` consecutive frames from each video of `split`, spread
    over the video (the data set's videos/ folder), -> (frames, starts) or None."""
    from data_tools.frames import load_manifest, load_video

    try:
        videos = [v["index"] for v in load_manifest(data_dir).get("per_video", []) if v.get("split") == split]
    except (UserError, KeyError, TypeError):
        return None
    parts = []
    for index in videos:
        try:
            video = load_video(data_dir, index)
        except UserError:
            return None
        if len(video) < length:
            continue
        for first in np.linspace(0, len(video) - length, segments).astype(int):
            parts.append(np.array(video[first:first + length]))
    if not parts:
        return None
    return np.concatenate(parts), list(range(0, len(parts) * length, length))


def fit(opts):
    """Fit per `opts` (the train command's options); returns a JSON-able summary."""
    from data_tools.frames import DEFAULT_DIR, load_split

    t0 = time.time()
    data_dir = Path(opts.get("data") or DEFAULT_DIR)
    out = Path(opts.get("out") or "runs/palette")
    if (out / ckpt.BEST_NAME).exists() and not opts.get("resume"):
        raise UserError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    check_writable_dir(out)
    progress = not opts.get("quiet")
    train = load_split(data_dir, "train", mmap=True)
    val = load_split(data_dir, "val", mmap=True)
    starts = _sequence_starts(data_dir, "train", len(train))
    limit = opts.get("frames_per_epoch")
    if limit:  # the first frames of every video, in order (the video contexts need neighbours)
        train, starts = _first_frames(train, starts, int(limit))
    cfg = default_config("palette")
    frame_h, frame_w = train.shape[1:3]
    cfg["frame_size"] = [int(frame_h), int(frame_w)]
    cfg["screen_size"] = [_screen_height(data_dir, int(frame_h), int(frame_w)), int(frame_w)]
    palette, palette_source = _palette(data_dir, train)
    if not 1 <= len(palette) <= 30:
        raise UserError(f"found {len(palette)} palette colours; the palette model needs 1..30 "
                        f"(is {data_dir} emulator frames?)")
    cfg["colours"] = len(palette)
    screen_h = cfg["screen_size"][0]
    out.mkdir(parents=True, exist_ok=True)
    screens = invert_all(train, palette, screen_h, out / "screens", progress)
    val, val_starts = _first_frames(val, _sequence_starts(data_dir, "val", len(val)), VAL_FRAMES)
    val_screens = invert_all(val, palette, screen_h, out / "screens-val", progress)
    consecutive = None
    train_runs = consecutive_frames(data_dir, "train", NEXT_SEGMENTS, NEXT_LENGTH)
    val_runs = consecutive_frames(data_dir, "val", 2, NEXT_LENGTH)
    if train_runs is not None and val_runs is not None:
        consecutive = (invert_all(train_runs[0], palette, screen_h, out / "screens-next", progress),
                       train_runs[1],
                       invert_all(val_runs[0], palette, screen_h, out / "screens-next-val", progress),
                       val_runs[1])
    model, fitted = fit_model(cfg, palette, screens, starts, val_screens, val_starts, consecutive,
                              progress)
    cfg = model.config
    info = {"palette_source": palette_source, "train_frames": int(len(train)),
            "validation": fitted, "seconds": round(time.time() - t0, 1)}
    config = {"model": cfg, "quant": "context", "train": {"arch": "palette", "fit": "counting",
              "alpha": ALPHA, "min_counts_tried": list(MIN_COUNTS), "betas_tried": list(BETAS)},
              "data": {"dir": str(data_dir), "frame_size": cfg["frame_size"],
                       "train_frames": int(len(train)), "val_frames": int(len(val))}}
    ckpt.save_config(out, config)
    ckpt.save_best(out, model.state_dict(), cfg, info)
    atomic_write_json(out / "fit_metrics.json", info)
    return {"run_dir": str(out), **info,
            "model_bytes": (out / ckpt.BEST_NAME).stat().st_size}


__all__ = ["fit", "learn_palette", "fit_backgrounds", "assign_backgrounds", "invert_all"]
