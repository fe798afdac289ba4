"""learned-codec encode: frames -> one .lcf file through a learned codec."""

HELP = "encode an image, a folder of frames or a video into an .lcf file"
DESCRIPTION = HELP + """

INPUT is an image file (PNG, JPEG, WebP, BMP), a folder of same-size images, a video
file (decoded with the ffmpeg binary of imageio-ffmpeg), a frame data set folder (its
test split) or one of its videos (DIR/videos/video_XXX.npz). The model is a run folder
written by `learned-codec train` or the name of a shipped model (conv5, hyperprior,
palette). The palette model is lossless and takes no --quant; with --video its
predicted frames read the previous decoded screen. The output is written atomically:
on any error nothing is left behind. Prints a JSON summary (bytes, bytes/frame, bpp).

Examples:
  learned-codec encode data/pacman -o test.lcf                          # conv5, naive
  learned-codec encode data/pacman -o test.lcf --model palette --video --gop 25
  learned-codec encode data/pacman/videos/video_029.npz -o v.lcf --model palette --video
"""

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def add_arguments(parser):
    parser.add_argument("input", help="image, folder of images, video file or frame data set")
    parser.add_argument("-o", "--output", required=True, help="the .lcf file to write")
    parser.add_argument("--model", default="conv5",
                        help="run folder or shipped model name (default: %(default)s)")
    parser.add_argument("--quant", choices=["none", "naive", "affine", "kmeans"],
                        help="latent quantizer (default: the one the model trained with)")
    parser.add_argument("--kmeans-k", type=int, default=256, help="k-means codebook size (<= 256)")
    parser.add_argument("--kmeans-dim", type=int, default=1, help="entries per k-means vector")
    parser.add_argument("--video", action="store_true",
                        help="video mode: predict each frame's code from the previous one "
                             "(latent delta), a key frame every --gop frames")
    parser.add_argument("--gop", type=int, default=30, help="key-frame interval of --video")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--max-frames", type=int, help="code at most this many frames")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])


def load_input(path, max_frames=None):
    """uint8 N x H x W x 3 frames (and fps) from any supported input."""
    from pathlib import Path

    import numpy as np

    from learned_codec.errors import UserError

    path = Path(path)
    fps = 15.0
    if not path.exists():
        raise UserError(f"input {path} does not exist")
    if path.is_dir() and (path / "manifest.json").is_file():
        from data_tools.frames import load_split

        frames = load_split(path, "test")
    elif path.is_dir():
        from data_tools.sources import load_image_folder

        frames = load_image_folder(path)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        frames = _load_image(path)
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
    return np.ascontiguousarray(frames), float(fps or 15.0)


def _load_image(path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from learned_codec.errors import UserError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))[None]
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"cannot read image {path}: {e}") from None


def run(args):
    import json
    import time

    from learned_codec.codecs.registry import make_video_codec, open_codec
    from learned_codec.fileio import atomic_write_bytes
    from learned_codec.progress import progress_bar

    from pathlib import Path

    from learned_codec.errors import UserError
    from learned_codec.models.identity import model_identity

    params = {}
    if args.quant == "kmeans":
        params = {"k": args.kmeans_k, "dim": args.kmeans_dim}
    # Cheap checks first (no torch yet): the model exists, the output is not a folder.
    model_identity(args.model)
    if Path(args.output).is_dir():
        raise UserError(f"output {args.output} is a folder: give the .lcf file to write")
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError("--max-frames must be at least 1")
    frames, fps = load_input(args.input, args.max_frames)
    codec = open_codec(args.model, quant=args.quant, device=args.device, **params)
    codec.fps = fps
    if args.video:
        codec = make_video_codec(codec, gop=args.gop)
    t0 = time.perf_counter()
    with progress_bar(codec, len(frames), "encode", args.quiet):
        data = codec.encode(frames)
    seconds = time.perf_counter() - t0
    atomic_write_bytes(args.output, data)
    n, h, w, _ = frames.shape
    print(json.dumps({
        "output": str(args.output), "model": str(args.model), "arch": codec.arch,
        "mode": f"{codec.mode} video" if args.video else "intra",
        "quant": codec.quant, "frames": n, "height": h, "width": w, "bytes": len(data),
        "bytes_per_frame": len(data) / n, "bpp": 8 * len(data) / (n * h * w),
        "encode_fps": n / seconds if seconds > 0 else None,
    }, indent=2))
    return 0
