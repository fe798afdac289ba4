"""learned-codec encode: frames -> one .lcf file through a learned codec."""

HELP = "encode an image, a folder of frames or a video into an .lcf file"
DESCRIPTION = HELP + """

INPUT is an image file (PNG, JPEG, WebP, BMP), a folder of same-size images, a video
file (decoded with the ffmpeg binary of imageio-ffmpeg), a frame data set folder (its
test split) or one of its videos (DIR/videos/video_XXX.npz). The model is a run folder
written by `learned-codec train` or the name of a shipped model. The output is written
atomically: on any error nothing is left behind. Prints a JSON summary (bytes,
bytes/frame, bpp). File names of image inputs are kept in the file (sanitised), and
`decode` writes the frames back under them.

Shipped models (the lossy ones; `palette` and `palette-pacman` fitted on Ms. Pac-Man and
Pac-Man screens of the ALE; `palette-generic` for any game):
  auto        the default, checked on a few frames, and printed: an emulator screen
              (raw, or resized to 200x160) goes to the fitted model of its game when one
              explains it, else to `palette-generic`; anything else to conv5 (lossy)
  palette     lossless, Ms. Pac-Man: raw 210x160 screens or their 200x160 resize; ~160-220
              B/frame (~50 in --video mode); other content stays exact but costs more
  palette-pacman
              lossless, Pac-Man (ALE/Pacman-v5): raw 250x160 screens or their 200x160
              resize; ~75 B/frame (~33 in --video mode)
  palette-generic
              lossless, any ALE game (fitted on none of the games it codes: no fitting
              needed), raw screens of any size and 200x160 resizes of 210/250-row screens;
              each frame carries its palette; a frame it cannot explain is coded as WebP
              lossless, so photos and noise cost about what WebP lossless costs
  conv5       lossy (quant naive), any frame size (fully convolutional); Pac-Man frames only:
              other content decodes poorly (the model learned the game's frames)
  conv4       lossy (quant none: a float32 code, ~33 KB/frame at 30.4 dB on Ms. Pac-Man),
              any frame size; Pac-Man frames only, as conv5
  hyperprior  lossy, entropy-coded (quant entropy), any frame size; Pac-Man frames
  hyperprior-0.0018, hyperprior-0.0067, hyperprior-0.025
              the same model at lower rates (fine-tuned at those lambdas)
A lossy model whose reconstruction of a sample of the input is > 6 dB below its own
test-split PSNR says so on stderr (the input is out of its domain).
The palette model takes no --quant; with --video its predicted frames read the previous
decoded screen. Learned video mode (--video) predicts each frame's code from the previous.

Examples:
  learned-codec encode data/pacman -o test.lcf                          # auto: palette (exact)
  learned-codec encode data/pacman -o test.lcf --model conv5            # lossy, naive uint8
  learned-codec encode data/pacman -o test.lcf --model palette --video --gop 25
  learned-codec encode data/pacman/videos/video_029.npz -o v.lcf --model palette --video
"""

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def add_arguments(parser):
    parser.add_argument("input", help="image, folder of images, video file or frame data set")
    parser.add_argument("-o", "--output", required=True, help="the .lcf file to write")
    parser.add_argument("--model", default="auto",
                        help="run folder, shipped model name (palette, palette-pacman, palette-generic, "
                             "conv5, conv4, hyperprior[-LAMBDA]; see above) or auto (default: a palette model "
                             "for emulator screens, else conv5)")
    parser.add_argument("--quant", choices=["none", "naive", "affine", "kmeans", "entropy"],
                        help="latent quantizer: none (float32), naive / affine (uint8), kmeans "
                             "(codebook), entropy (rANS; entropy-coded models only). Default: the one "
                             "the model trained with")
    parser.add_argument("--kmeans-k", type=int, default=256, help="k-means codebook size (<= 256)")
    parser.add_argument("--kmeans-dim", type=int, default=1, help="entries per k-means vector")
    parser.add_argument("--video", action="store_true",
                        help="video mode: predict each frame's code from the previous one "
                             "(latent delta), a key frame every --gop frames")
    parser.add_argument("--gop", type=int, default=30, help="key-frame interval of --video")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--max-frames", type=int, help="code at most this many frames")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where the model runs (default: cpu; the file decodes the same on either)")


def load_input(path, max_frames=None):
    """(uint8 N x H x W x 3 frames, fps, file names or None) from any supported input."""
    from pathlib import Path

    import numpy as np

    from learned_codec.errors import UserError

    path = Path(path)
    fps, names = 15.0, None
    if not path.exists():
        raise UserError(f"input {path} does not exist")
    if path.is_dir() and (path / "manifest.json").is_file():
        from data_tools.frames import load_split

        frames = load_split(path, "test")
    elif path.is_dir():
        from data_tools.sources import load_image_folder

        frames, names = load_image_folder(path, return_names=True)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        frames, names = _load_image(path), [path.name]
    elif path.suffix.lower() == ".npz":  # a video of a frame data set (videos/video_XXX.npz)
        import re

        from data_tools.frames import load_video

        m = re.fullmatch(r"video_(\d+)", path.stem)
        if not m:
            raise UserError(f"{path}: expected a data set video named video_NNN.npz")
        frames = load_video(path.parent.parent, int(m.group(1)))
    else:
        from data_tools.sources import load_video_file

        frames, fps = load_video_file(path, max_frames=max_frames)
    if max_frames:
        frames = frames[:max_frames]
        names = names[:max_frames] if names else names
    return np.ascontiguousarray(frames), float(fps or 15.0), names


def _load_image(path):
    """One image as uint8 1 x H x W x 3, every bit kept or refused (data_tools/sources.py)."""
    from data_tools.sources import read_image_exact

    return read_image_exact(path)[None]


def fitted_palette_models():
    """Names of the shipped fitted palette models (arch "palette": one game each)."""
    from learned_codec.errors import UserError
    from learned_codec.models.identity import model_identity, shipped_names

    out = []
    for name in shipped_names():
        try:
            if model_identity(name)[0] == "palette":
                out.append(name)
        except UserError:
            continue
    return out


def choose_model(frames):
    """--model auto -> (model name, its codec or None, why), judged on a few frames
    spread over the input (generic_codec.probe_frames). Emulator screens (every colour
    in the console palette, or a 200x160 frame that is the resize of such a screen) go
    to a lossless palette model: a shipped fitted one (`palette` for
    Ms. Pac-Man, `palette-pacman` for Pac-Man) when it explains the frame exactly
    (resized) or has the frame's size and knows all its colours (raw), else
    `palette-generic`, which needs no fitting for the game. Anything else is not a
    screen: the shipped lossy learned codec, conv5."""
    import numpy as np

    from learned_codec.codecs.registry import open_codec
    from learned_codec.errors import UserError
    from learned_codec.palette.generic_codec import probe_frames, rgb24
    from learned_codec.palette.resample import invert_exact

    if not len(frames):
        raise UserError("no frames to encode")
    first = frames[:1]
    probes = probe_frames(frames)
    colours = np.unique(rgb24(probes))
    for name in fitted_palette_models():
        fitted = open_codec(name)
        if first.shape[1:3] == tuple(fitted.frame_size):
            screen, ok = invert_exact(probes, fitted.palette, fitted.screen_size[0])
            if ok.all() and np.isin(screen, rgb24(fitted.palette)).all():
                return name, fitted, "an emulator screen resized to 200x160 that the fitted model explains"
        if first.shape[1:3] == tuple(fitted.screen_size) and np.isin(colours, rgb24(fitted.palette)).all():
            return name, fitted, "a raw emulator screen in the fitted model's colours"
    generic = open_codec("palette-generic")
    if np.isin(colours, generic.known24).all():
        return "palette-generic", generic, "a raw emulator screen (console palette colours)"
    if first.shape[1:3] == generic.RESIZED_FRAME and generic._form(probes)[0] == "resized":
        return "palette-generic", generic, "an emulator screen resized to 200x160"
    return "conv5", None, "not an emulator screen: lossy"


def run(args):
    import json
    import sys
    import time
    from pathlib import Path

    from learned_codec.codecs.domain import check_domain, domain_warning
    from learned_codec.codecs.registry import make_video_codec, open_codec
    from learned_codec.container import with_extra
    from learned_codec.errors import UserError
    from learned_codec.fileio import atomic_write_bytes
    from learned_codec.models.identity import model_identity
    from learned_codec.progress import progress_bar

    params = {}
    if args.quant == "kmeans":
        params = {"k": args.kmeans_k, "dim": args.kmeans_dim}
    # Cheap checks first (no torch yet): the model exists, the output is not a folder.
    if args.model != "auto":
        model_identity(args.model)
    if Path(args.output).is_dir():
        raise UserError(f"output {args.output} is a folder: give the .lcf file to write")
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError("--max-frames must be at least 1")
    if args.gop < 1:
        raise UserError("--gop must be at least 1")
    frames, fps, names = load_input(args.input, args.max_frames)
    model, codec = args.model, None
    if model == "auto" and args.quant:  # a quantizer asks for a lossy model
        model = "hyperprior" if args.quant == "entropy" else "conv5"
    if model == "auto":
        model, codec, why = choose_model(frames)
        print(f"learned-codec encode: --model auto chose {model} ({why})", file=sys.stderr)
    codec = codec or open_codec(model, quant=args.quant, device=args.device, **params)
    codec.fps = fps
    image_codec = codec
    if args.video:
        codec = make_video_codec(codec, gop=args.gop)
    t0 = time.perf_counter()
    with progress_bar(codec, len(frames), "encode", args.quiet):
        data = codec.encode(frames)
    seconds = time.perf_counter() - t0
    if names:
        data = with_extra(data, names=names)
    atomic_write_bytes(args.output, data)
    n, h, w, _ = frames.shape
    domain = check_domain(image_codec, frames)
    if domain and domain_warning(str(model), *domain):
        print(f"learned-codec encode: {domain_warning(str(model), *domain)}", file=sys.stderr)
    print(json.dumps({
        "output": str(args.output), "model": str(model), "arch": codec.arch,
        "mode": f"{codec.mode} video" if args.video else "intra",
        "quant": codec.quant, "frames": n, "height": h, "width": w, "bytes": len(data),
        "bytes_per_frame": len(data) / n, "bpp": 8 * len(data) / (n * h * w),
        "encode_fps": n / seconds if seconds > 0 else None,
        "sample_psnr": round(domain[0], 2) if domain else None,
        "model_test_psnr": round(domain[1], 2) if domain else None,
    }, indent=2))
    return 0
