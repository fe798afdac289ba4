"""learned-codec data: make the built-in Pac-Man frame data set, export it, describe it."""
import argparse
import json
import sys
import time

from learned_codec.errors import UserError

HELP = "make the built-in Pac-Man data set or record any ALE game, export it as PNG/mp4, or describe it"
DESCRIPTION = """\
Make, export and describe frame data sets.

  learned-codec data pacman --out DIR [--videos N] [--seed S]
      Play N games of Ms. Pac-Man in the Arcade Learning Environment (ROM ships with
      ale-py) with a look-ahead player, record every 3rd emulator frame resized to
      200x160 (Lanczos) as DIR/videos/video_XXX.npz, keep every 10th frame as the image
      set DIR/images/{train,val,test}.npy (split by video: 30 -> 25/4/1) and write
      DIR/manifest.json (seed, counts, frames per split, mazes, situations, colours).
      Same seed -> identical files. 30 videos take about 10 minutes on 2 cores.

  learned-codec data atari --game NAME --out DIR [--videos N] [--seed S] [--frames-per-video T]
      Play N games of any ALE game (NAME as Gymnasium or the ROM file names it: Breakout,
      SpaceInvaders, ALE/Pacman-v5, space_invaders) with a sticky-random player (keeps
      its action with probability 0.75, game k from seed S + k) and record every 3rd
      emulator frame in both forms: raw screens (DIR/raw/, exactly what ALE returns)
      and the 200x160 Lanczos resize (DIR/, the Pac-Man data set's layout); split by
      video (last: test, the one before: val). The manifest reports the diversity.

  learned-codec data export DIR --png OUT_DIR [--split S | --video I]
      Write the images of a split (default: every split) or all frames of one video as PNG.
  learned-codec data export DIR --mp4 OUT_DIR [--video I]
      Encode each video (or one) as mp4: H.264 yuv444p CRF 10 (high quality, not lossless).

  learned-codec data info DIR
      Print the manifest summary as JSON.
"""


def add_arguments(parser):
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True
    raw = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("pacman", help="play Ms. Pac-Man and write the frame data set",
                       description="Play Ms. Pac-Man games (one video each) and write the "
                                   "frame data set: videos, image splits, manifest.json.",
                       formatter_class=raw)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--videos", type=int, default=30, metavar="N",
                   help="games to play (default 30, split 25/4/1 train/val/test)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--frames-per-video", type=int, default=None, metavar="T",
                   help="recorded frames per game (default 2500 = 125 s of play, 250 images)")
    p.add_argument("--workers", type=int, default=None, metavar="W",
                   help="parallel games (default: up to 2); does not change the output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    a = sub.add_parser("atari", help="record any ALE game (random play), raw and resized",
                       description="Record games of any ALE game with a sticky-random player: raw "
                                   "screens and the 200x160 resize, split by video.",
                       formatter_class=raw)
    a.add_argument("--game", required=True, metavar="NAME",
                   help="ALE game: Breakout, SpaceInvaders, ALE/Pacman-v5, ms_pacman, ...")
    a.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    a.add_argument("--videos", type=int, default=6, metavar="N", help="games to play (default 6)")
    a.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the first game (default 0)")
    a.add_argument("--frames-per-video", type=int, default=600, metavar="T",
                   help="recorded frames per game (default 600 = 30 s of play)")
    a.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("export", help="export a data set as PNG images or mp4 videos",
                       description="Export frames of a data set as PNG files or mp4 videos.",
                       formatter_class=raw)
    e.add_argument("dir", metavar="DIR", help="data set folder (with manifest.json)")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--png", metavar="OUT_DIR", help="write PNG files into OUT_DIR")
    what.add_argument("--mp4", metavar="OUT_DIR",
                      help="write one mp4 per video into OUT_DIR (H.264 yuv444p, CRF 10)")
    which = e.add_mutually_exclusive_group()
    which.add_argument("--split", choices=("train", "val", "test"),
                       help="PNG only: export the images of this split (default: all splits)")
    which.add_argument("--video", type=int, metavar="I",
                       help="export every frame of video I only")

    i = sub.add_parser("info", help="print the manifest summary of a data set as JSON",
                       description="Print the manifest summary (counts, splits, mazes, "
                                   "situations, colours) of a data set as JSON.")
    i.add_argument("dir", metavar="DIR", help="data set folder (with manifest.json)")


def run(args):
    return {"pacman": run_pacman, "atari": run_atari, "export": run_export,
            "info": run_info}[args.data_command](args)


def run_atari(args):
    from data_tools import atari

    start = time.perf_counter()
    manifest = atari.make_dataset(args.out, args.game, videos=args.videos, seed=args.seed,
                                  frames_per_video=args.frames_per_video, progress=not args.quiet)
    print(f"wrote {manifest['videos']} {manifest['game']} videos, {manifest['frames_total']} frames "
          f"(raw {manifest['screen_size'][0]}x{manifest['screen_size'][1]} and 200x160) to {args.out} "
          f"in {time.perf_counter() - start:.0f} s")
    return 0


def run_pacman(args):
    from data_tools import pacman

    kwargs = {}
    if args.frames_per_video is not None:
        kwargs["frames_per_video"] = args.frames_per_video
    if args.workers is not None:
        if args.workers < 1:
            raise UserError(f"--workers must be at least 1, got {args.workers}")
        kwargs["workers"] = args.workers
    start = time.perf_counter()
    manifest = pacman.make_dataset(args.out, videos=args.videos, seed=args.seed,
                                   progress=not args.quiet, **kwargs)
    seconds = time.perf_counter() - start
    print(f"wrote {manifest['videos']} videos, {manifest['frames_total']} frames, "
          f"images per split {manifest['frames_per_split']} to {args.out} in {seconds:.0f} s")
    print(f"mazes: {manifest['maze_count']}, situations: "
          f"{', '.join(sorted(manifest['situations']['frames']))}")
    return 0


def run_export(args):
    from data_tools import pacman

    if args.png:
        count = pacman.export_png(args.dir, args.png, split=args.split, video=args.video)
        print(f"wrote {count} PNG files to {args.png}")
    else:
        if args.split:
            raise UserError("--split applies to --png only; mp4 export is per video")
        paths = pacman.export_mp4(args.dir, args.mp4, video=args.video)
        print(f"wrote {len(paths)} mp4 files to {args.mp4} ({pacman.MP4_NOTE})")
    return 0


def run_info(args):
    from data_tools import pacman

    json.dump(pacman.manifest_summary(args.dir), sys.stdout, indent=2)
    print()
    return 0
