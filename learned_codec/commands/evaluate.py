"""learned-codec eval: rate-distortion evaluation of learned codecs against classic ones."""
from learned_codec.errors import UserError

HELP = "rate-distortion evaluation of learned codecs against JPEG, WebP, AVIF, PNG, H.264, AV1"
DESCRIPTION = HELP + """

Every codec runs on the same frames; sizes are real encoded bytes. Writes rd.csv,
report.json, rate-distortion plots, a crop strip and report.md into --out.

Frames: the test split of the Pac-Man data set (data/pacman) unless --data or --video
says otherwise. --data takes a frame data set folder (images/<split>.npy) or a folder
of images; --video a video file.

--qualities overrides the operating points of lossy baselines, e.g.
  --qualities avif=30,50,70 h264=18,24,30      (CRF for h264/av1, quality 0-100 else)
  --qualities 50,75,90                          (every quality-scale image baseline)

examples:
  learned-codec eval --out reports/baselines
  learned-codec eval --frames 20 --baselines jpeg,avif,h264 --out /tmp/r
  learned-codec eval --models runs/conv4 --out reports/conv4
"""

DEFAULT_BASELINES = "jpeg,jpeg420,webp,webp-lossless,avif,png,h264,av1,h264rgb-lossless,av1-lossless"
QUALITY_SCALE = ("jpeg", "jpeg420", "webp", "avif")  # 0-100 quality; h264/av1 take CRF


def add_arguments(parser):
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="DIR",
                     help="frame data set folder or image folder (default: data/pacman)")
    src.add_argument("--video", metavar="FILE", help="evaluate on the frames of a video file")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"),
                        help="split of a frame data set (default: test)")
    parser.add_argument("--frames", type=int, metavar="N",
                        help="use N frames, evenly spaced over the source")
    parser.add_argument("--models", nargs="+", metavar="RUN_DIR|NAME", default=[],
                        help="learned codecs: training run folders or shipped model names")
    parser.add_argument("--baselines", default=DEFAULT_BASELINES,
                        help=f"comma-separated classic codecs, or 'none' (default: {DEFAULT_BASELINES})")
    parser.add_argument("--qualities", nargs="+", metavar="[CODEC=]Q,Q,...", default=[],
                        help="operating points of lossy baselines (see below)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--reference-runs", nargs="+", metavar="RD_CSV", default=[],
                        help="rd.csv files of earlier evaluations (committed runs, e.g. "
                             "benchmarks/results/eval_quick_models/rd.csv): they fill the rows of the "
                             "reference report's table that this run does not measure, each labelled")
    parser.add_argument("--out", required=True, metavar="REPORT_DIR", help="report folder")


def parse_qualities(items):
    """['avif=30,50', '40,60'] -> {'avif': [30, 50], 'jpeg': [40, 60], ...}."""
    out = {}
    for item in items:
        name, _, values = item.rpartition("=")
        try:
            numbers = [int(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise UserError(f"--qualities {item!r}: values must be integers") from None
        if not numbers:
            raise UserError(f"--qualities {item!r}: no values")
        if name and name not in QUALITY_SCALE + ("h264", "av1"):
            raise UserError(f"--qualities {item!r}: {name} has no quality setting "
                            f"(lossy baselines: {', '.join(QUALITY_SCALE + ('h264', 'av1'))})")
        for target in ([name] if name else QUALITY_SCALE):
            out[target] = numbers
    return out


def load_frames(args):
    """(frames uint8 N x H x W x 3, one-line description of where they come from)."""
    from pathlib import Path

    from data_tools import frames as frame_data

    if args.video:
        try:
            from data_tools.sources import load_video_file
        except ImportError:
            raise UserError("reading video files needs data_tools.sources, not available yet") from None
        return _frames_of(load_video_file(args.video)), f"video {args.video}"
    root = Path(args.data) if args.data else frame_data.DEFAULT_DIR
    if args.data and root.is_dir() and not frame_data.split_path(root, args.split).exists() \
            and not (root / "manifest.json").exists():
        try:
            from data_tools.sources import load_image_folder
        except ImportError:
            raise UserError("reading image folders needs data_tools.sources, not available yet") from None
        return _frames_of(load_image_folder(root)), f"image folder {root}"
    if not frame_data.split_path(root, args.split).exists():
        raise UserError(f"no {args.split} frames at {frame_data.split_path(root, args.split)}: "
                        f"make the Pac-Man data set with `learned-codec data pacman --out {root}`, "
                        "or pass --data DIR / --video FILE")
    return frame_data.load_split(root, args.split), f"{root} ({args.split} split)"


def _frames_of(loaded):
    """The loaders return (frames, fps) / (frames, names); keep the frames."""
    return loaded[0] if isinstance(loaded, tuple) else loaded


def load_learned(names):
    from learned_codec.codecs.registry import load_codecs

    return list(load_codecs(names)) if names else []


def run(args):
    import numpy as np

    from data_tools.frames import subsample
    from learned_codec.codecs import baselines as baselines
    from learned_codec.codecs.base import check_frames
    from learned_codec.eval.harness import evaluate
    from learned_codec.eval.report import read_committed_rows, summary_table

    names = [] if args.baselines.strip() == "none" else args.baselines
    try:
        names = baselines.parse_baseline_names(names) if names else []
    except ValueError as e:
        raise UserError(str(e)) from None
    qualities = parse_qualities(args.qualities)
    learned = load_learned(args.models)  # before the frames: fail fast on a bad model name
    committed = read_committed_rows(args.reference_runs)
    frames, source = load_frames(args)
    try:
        frames = check_frames(frames)
    except ValueError as e:
        raise UserError(f"{source}: {e}") from None
    total = len(frames)
    frames = np.ascontiguousarray(subsample(frames, args.frames))
    if len(frames) != total:
        source += f", {len(frames)} of {total} frames evenly spaced"
    classic, missing = baselines.make_baselines(names, qualities)
    if not learned and not classic:
        raise UserError("nothing to evaluate: no --models and no runnable --baselines")
    print(f"evaluating {len(learned) + len(classic)} operating points on {len(frames)} frames "
          f"of {frames.shape[1]}x{frames.shape[2]} (HxW) from {source}")
    report = evaluate(frames, learned + classic, args.out, missing=missing, source=source,
                      progress=not args.no_progress, committed_rows=committed)
    print(summary_table(report["rows"]))
    print(f"\nreport: {args.out}/report.md (rd.csv, report.json, plots beside it); "
          f"{report['run_seconds']:.0f} s")
    return 0
