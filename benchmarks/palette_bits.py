"""Where the palette model's bits go on the Pac-Man test frames.

    python benchmarks/palette_bits.py [MODEL] [DATA_DIR] [OUT_DIR]

Inverts the test frames to palette screens, then measures with the model's own tables
(ideal code lengths; the files add a 4-byte rANS state and the container's 10-13 bytes
per frame) the bits of every pixel: as a key frame (intra) and predicted from the
previous test frame (inter). Writes bits.json (totals, and the share of the bits spent
where the screen differs from its background / from the previous screen) and
bits_map.png (mean bits per pixel over the frames, both modes).
"""
import json
import sys
from pathlib import Path

import numpy as np

from data_tools.frames import load_split
from learned_codec.palette.tables import code_length_bits
from learned_codec.palette.codec import PaletteCodec
from learned_codec.palette.resample import resize_height
from learned_codec.palette.model import assign_backgrounds


def main(model="palette", data="data/pacman", out="benchmarks/results/palette"):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    codec = PaletteCodec.load(model)
    frames = np.ascontiguousarray(load_split(data, "test"))
    screens, rendered = codec.screens(frames)
    exact = int((rendered == frames).all((1, 2, 3)).sum())
    m = codec.model
    bg = m.background_array()[assign_backgrounds(screens, m.background_array())]
    prev = np.concatenate([screens[:1], screens[:-1]])
    intra = code_length_bits(m.tables("intra"), screens, m.references("intra", bg), per_pixel=True)
    inter = code_length_bits(m.tables("inter"), screens[1:], m.references("inter", bg[1:], prev[1:]),
                             per_pixel=True)
    differs_bg, differs_prev = screens != bg, screens[1:] != prev[1:]
    report = {
        "frames": len(frames), "frames_inverted_exactly": exact,
        "intra_bytes_per_frame": float(intra.sum((1, 2)).mean() / 8),
        "inter_bytes_per_frame": float(inter.sum((1, 2)).mean() / 8),
        "intra_share_of_bits_where_screen_differs_from_background":
            float(intra[differs_bg].sum() / intra.sum()),
        "pixels_differing_from_background": float(differs_bg.mean()),
        "inter_share_of_bits_where_screen_differs_from_previous":
            float(inter[differs_prev].sum() / inter.sum()),
        "pixels_differing_from_previous": float(differs_prev.mean()),
        "rows_intra_inter": [int(m.intra_keys.numel()), int(m.inter_keys.numel())],
    }
    (out / "bits.json").write_text(json.dumps(report, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 5.2))
    axes[0].imshow(resize_height(m.palette_array()[screens[len(screens) // 2]], frames.shape[1]),
                   aspect="auto")
    axes[0].set_title("a test frame")
    for ax, bits, name in ((axes[1], intra, "key frame (intra)"), (axes[2], inter, "predicted (inter)")):
        im = ax.imshow(bits.mean(0), cmap="magma", vmax=np.percentile(bits.mean(0), 99.5), aspect="auto")
        ax.set_title(f"{name}: {bits.sum((1, 2)).mean() / 8:.0f} B/frame")
        fig.colorbar(im, ax=ax, fraction=0.046, label="mean bits per screen pixel")
    for ax in axes:
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"palette model: where the bits go ({len(frames)} test frames, 210x160 screens)")
    fig.tight_layout()
    fig.savefig(out / "bits_map.png", dpi=110)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:])
