"""Progress bars (tqdm, on stderr) fed by what a codec reports while it encodes or decodes."""
import contextlib


@contextlib.contextmanager
def progress_bar(codec, total, desc, quiet=False):
    """A tqdm bar (stderr) fed by the codec's progress reports while the block runs."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="frame", disable=quiet or total < 2, leave=False)
    targets = [c for c in (codec, getattr(codec, "image", None)) if c is not None]
    for c in targets:
        c.progress = bar.update
    try:
        yield bar
    finally:
        for c in targets:
            c.progress = None
        bar.close()
