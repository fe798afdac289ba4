"""learned-codec decode: an .lcf file -> PNG frames or an mp4."""
HELP = "decode an .lcf file into PNG frames or an mp4"
DESCRIPTION = HELP + """

OUTPUT ending in .png gets the single frame (or a folder of frames beside it for
several: the input's file names when it was a folder of images, else frame_00000.png,
...); ending in .mp4 gets a lossless H.264 (libx264rgb, qp 0) video through the
ffmpeg binary of imageio-ffmpeg; anything else is a folder of PNGs. The model must be
the one the file was encoded with (its weights' SHA-256 is in the header): another
model, a truncated file or flipped bits give a clear error and no output.

Every header field is validated and the memory the decode needs (output frames, model
activations of one batch, latent codes, palette screens: an estimate from the header) is
checked against a budget before anything is allocated: 2 GiB by default, --max-memory
(bytes or 512M, 4G, ...) or LEARNED_CODEC_MAX_MEMORY to change it.
A folder that holds frame_NNNNN.png files from an earlier decode loses those the new
decode does not rewrite (so the folder holds exactly the new frames); other files are
left alone.
"""


def add_arguments(parser):
    parser.add_argument("input", help="the .lcf file")
    parser.add_argument("-o", "--output", required=True, help="PNG file, folder, or .mp4")
    parser.add_argument("--model", default=None,
                        help="run folder or shipped model name (default: the shipped model that "
                             "wrote the file, found by the weights' hash in its header)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where the model runs (default: cpu)")
    parser.add_argument("--max-memory", default=None,
                        help="refuse files whose decode needs more memory than this (bytes, or "
                             "e.g. 512M, 4G; default $LEARNED_CODEC_MAX_MEMORY or 2G)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    import json
    import time
    from pathlib import Path

    from learned_codec.codecs.registry import codec_for_file
    from learned_codec.codecs.schema import check_budget, max_memory
    from learned_codec.container import frame_names, read_bytes, unpack
    from learned_codec.progress import progress_bar

    limit = max_memory(getattr(args, "max_memory", None))  # a bad size: refused before reading
    data = read_bytes(args.input)
    meta, _ = unpack(data)  # the whole file validated before any model is loaded
    check_budget(meta, limit, where=str(args.input))  # every header field, and the memory it asks
    names = frame_names(meta)
    codec = codec_for_file(meta, args.model, device=args.device, where=str(args.input),
                           max_memory=limit)
    t0 = time.perf_counter()
    with progress_bar(codec, meta.frames, "decode", args.quiet):
        frames = codec.decode(data)
    seconds = time.perf_counter() - t0
    written = write_frames(frames, Path(args.output), meta.fps, names)
    print(json.dumps({"input": str(args.input), "frames": len(frames), "output": str(args.output),
                      "files_written": len(written), "first_file": written[0],
                      "decode_fps": len(frames) / seconds if seconds > 0 else None}, indent=2))
    return 0


def write_frames(frames, out, fps, names=None):
    """Write frames as PNG(s) or an mp4, atomically; returns the paths written. A folder gets
    the input's file names when the file kept them (NAME.png), else frame_00000.png, ..."""
    import io

    from PIL import Image

    from learned_codec.ffmpeg import write_mp4
    from learned_codec.fileio import atomic_open, check_writable_dir

    if out.suffix.lower() == ".mp4":
        write_mp4(frames, out, fps)
        return [str(out)]
    if out.suffix.lower() == ".png" and len(frames) == 1:
        targets = [out]
    else:
        folder = out.with_suffix("") if out.suffix.lower() == ".png" else out
        check_writable_dir(folder)
        targets = [folder / (f"{names[i]}.png" if names else f"frame_{i:05d}.png") for i in range(len(frames))]
    for frame, path in zip(frames, targets):
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, format="PNG")
        with atomic_open(path, "wb") as f:
            f.write(buf.getvalue())
    if len(targets) > 1 or targets[0] != out:  # a folder: it holds the new frames only
        remove_stale_frames(targets[0].parent, targets)
    return [str(p) for p in targets]


def remove_stale_frames(folder, written):
    """Remove the frame_NNNNN.png files of an earlier decode in `folder` that this decode did
    not write; -> how many. Other files are never touched."""
    import re

    keep = {p.name for p in written}
    removed = 0
    for old in folder.glob("frame_*.png"):
        if re.fullmatch(r"frame_\d{5}\.png", old.name) and old.name not in keep and old.is_file():
            old.unlink()
            removed += 1
    return removed
