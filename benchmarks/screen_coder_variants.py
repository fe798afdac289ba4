"""Try changes to the generic screen coder (csrc/cpu/screen_coder.cpp) in seconds (issue 15).

Each variant is the committed coder's source with a few text replacements, compiled as a
plain shared library (c++ -O2, ctypes: no rebuild of the extension), fitted as
`palette-generic` is fitted (image mode, every frame from the state the frames before it
left, counters capped at ADAPT_COUNT after) on raw screens of the six fitting games, and
measured on held-out raw stills of ten games (every 10th of 200 recorded frames, seed
10000, as benchmarks/atari_table.py). Every variant's first still per game is decoded
and checked bit-exact.

    PYTHONPATH=. python benchmarks/screen_coder_variants.py                 # all variants
    PYTHONPATH=. python benchmarks/screen_coder_variants.py base apm --json out.json

Bytes per frame: the coder's bytes plus an estimate of a still's share of a 20-still
.lcf file (its palette bytes + 5 section bytes + 8 section-table bytes + 18 header
bytes); the ratio is to min(WebP lossless, JPEG XL lossless) of the same stills. The
first run records the frames (~2 min) into --cache. A replacement that no longer
matches the source fails loudly: the variants describe the coder as committed.
"""
import argparse
import ctypes
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from learned_codec.codecs.baselines import jxl_lossless, webp_lossless  # noqa: E402
from learned_codec.codecs.registry import open_codec  # noqa: E402
from learned_codec.palette.generic import ADAPT_COUNT  # noqa: E402
from learned_codec.palette.generic_codec import rgb24  # noqa: E402

FIT_GAMES = ("breakout", "pong", "seaquest", "freeway", "asterix", "qbert")
HELDOUT_GAMES = ("ms_pacman", "pacman", "space_invaders", "enduro", "beam_rider", "riverraid", "alien",
                 "montezuma_revenge", "breakout", "seaquest")
FIT_SEED, HELDOUT_SEED, FRAMES = 0, 10000, 200
OVERHEAD = 5 + 8 + 18   # per still besides its palette bytes (see the docstring)

WRAPPER = r'''
extern "C" {
int64_t x_encode(const uint8_t* s, int64_t n, int64_t h, int64_t w, int32_t ncol, int video, const uint32_t* t1,
                 const int32_t* mix, uint8_t* out, int64_t cap, int64_t* sizes, uint32_t* f1, int32_t* fm) {
  return lc::screen_encode_cpu(s, n, h, w, ncol, video != 0, t1, mix, out, cap, sizes, f1, fm);
}
int64_t x_decode(const uint8_t* d, const int64_t* sizes, int64_t n, int64_t h, int64_t w, int32_t ncol, int video,
                 const uint32_t* t1, const int32_t* mix, uint8_t* out) {
  return lc::screen_decode_cpu(d, sizes, n, h, w, ncol, video != 0, t1, mix, out);
}
}
'''

# APM: a secondary estimate after the mixer, indexed by (rank, equalities) x 33 buckets
# of the mixed stretch, reset with the frame's tables; the coded probability is the mean.
_APM = [
    ("inline int decide(Coder& coder, Model& m, int bit, const uint32_t ctx[kTables], int set, bool video) {",
     "inline int decide(Coder& coder, Model& m, int bit, const uint32_t ctx[kTables], int set, bool video,"
     " uint32_t actx) {"),
    ("""  const int p = std::min(4095, std::max(1, squash(static_cast<int>(dot >> 16))));
  bit = coder.code(bit, p);""",
     """  const int p = std::min(4095, std::max(1, squash(static_cast<int>(dot >> 16))));
  const int sd = std::min(2047, std::max(-2047, static_cast<int>(dot >> 16))) + 2048;
  const int ai = sd >> 7, aw = sd & 127;
  uint16_t* a = &m.apm[(actx & 2047) * 33 + ai];
  const int pa = ((a[0] * (128 - aw) + a[1] * aw) >> 7) >> 4;
  bit = coder.code(bit, std::min(4095, std::max(1, (p + pa) >> 1)));
  a[0] = static_cast<uint16_t>(a[0] + ((((bit << 16) - a[0]) * (128 - aw) >> 7) >> 6));
  a[1] = static_cast<uint16_t>(std::min(65535, a[1] + ((((bit << 16) - a[1]) * aw >> 7) >> 6)));"""),
    ("  std::vector<int32_t> mix;\n", "  std::vector<int32_t> mix;\n  std::vector<uint16_t> apm;\n"
     "  void reset_apm() { apm.resize(2048 * 33); for (size_t i = 0; i < apm.size(); ++i)"
     " apm[i] = static_cast<uint16_t>(std::min(65535, squash((static_cast<int>(i % 33) - 16) * 128) * 16)); }\n"),
    ("        mix(init_mix_, init_mix_ + kScreenMixSets * kInputs) {}",
     "        mix(init_mix_, init_mix_ + kScreenMixSets * kInputs) { reset_apm(); }"),
    ("    std::fill(esc.begin(), esc.end(), 1u << 31);\n", "    std::fill(esc.begin(), esc.end(), 1u << 31);\n    reset_apm();\n"),
    ("if (decide(coder, m, actual == v, ctx, set, video)) value = v;",
     "if (decide(coder, m, actual == v, ctx, set, video, rank << 8 | eq)) value = v;"),
]
# The mirror equality (v == row[w-1-x]) left out of the image-mode structural context.
_NO_MIRROR = [("(v == R) << 6 | (v == M) << 7;", "(v == R) << 6 | (video ? (v == M) : 0) << 7;")]
# A vertical period: the offset d (<= 64) at which the row above best repeats an earlier
# row (more equal pixels than the row above it); Y = img[y - d][x] takes the mirror's
# equality bit in image mode.
_VPERIOD = [
    ("      if (!last_row_flag) period = row_period(up, w, ncol, period);",
     """      if (!last_row_flag) period = row_period(up, w, ncol, period);
      {
        int best = 0, bestc = 0, cn = 0;
        for (int d = 1; d <= 64 && y - 1 - d >= 0; ++d) {
          const uint8_t* r2 = up - d * w;
          int c = 0;
          for (int64_t x = 0; x < w; ++x) c += up[x] == r2[x];
          if (c > bestc) { bestc = c; best = d; }
        }
        if (y > 1) for (int64_t x = 0; x < w; ++x) cn += up[x] == up[x - w];
        vperiod = (2 * bestc > w && bestc > cn) ? best + 1 : 0;
      }"""),
    ("  int period = 0, x_run = 0;", "  int period = 0, x_run = 0, vperiod = 0;"),
    ("      const int X = (!video && period > 0 && x >= period) ? row[x - period] : kOut;",
     "      const int X = (!video && period > 0 && x >= period) ? row[x - period] : kOut;\n"
     "      const int Y = (!video && vperiod > 0) ? row[x - vperiod * w] : kOut;"),
    ("(v == R) << 6 | (v == M) << 7;", "(v == R) << 6 | (video ? (v == M) : (v == Y)) << 7;"),
]
# In-frame adaptation of the fitted structural counters capped lower (faster).
_T1_LIMIT = [("  update(*c[0], bit, 1023);", "  update(*c[0], bit, m.fitting ? 1023 : 30);")]

VARIANTS = {"base": [], "apm": _APM, "no-mirror": _NO_MIRROR, "vperiod": _VPERIOD, "t1-limit-30": _T1_LIMIT,
            "apm+no-mirror": _APM + _NO_MIRROR}


def source(name):
    text = (ROOT / "csrc/cpu/screen_coder.cpp").read_text()
    for old, new in VARIANTS[name]:
        if text.count(old) != 1:
            raise SystemExit(f"variant {name}: the text to replace occurs {text.count(old)} times in the coder "
                             f"(it changed?): {old[:60]!r}")
        text = text.replace(old, new)
    return text + WRAPPER


def build(name, workdir):
    src = Path(workdir) / f"{name}.cpp"
    lib = Path(workdir) / f"{name}.so"
    src.write_text(source(name))
    # The source includes "../kernels.h": found through -I csrc/cpu.
    done = subprocess.run(["c++", "-O2", "-march=native", "-std=c++17", "-shared", "-fPIC",
                           f"-I{ROOT / 'csrc/cpu'}", "-o", str(lib), str(src)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"variant {name} does not compile: {(done.stderr.strip().splitlines() or ['?'])[0]}")
    so = ctypes.CDLL(str(lib))
    vp = ctypes.c_void_p
    so.x_encode.restype = so.x_decode.restype = ctypes.c_int64
    so.x_encode.argtypes = [vp, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int32, ctypes.c_int,
                            vp, vp, vp, ctypes.c_int64, vp, vp, vp]
    so.x_decode.argtypes = [vp, vp, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int32, ctypes.c_int,
                            vp, vp, vp]
    return so


def _p(a):
    return a.ctypes.data_as(ctypes.c_void_p) if a is not None else None


def encode(so, screen, ncol, t1, mix, fit=False, check=False):
    h, w = screen.shape
    out = np.empty(h * w + 64, np.uint8)
    sizes = np.zeros(1, np.int64)
    f1, fm = (np.empty_like(t1), np.empty_like(mix)) if fit else (None, None)
    total = so.x_encode(_p(screen), 1, h, w, ncol, 0, _p(t1), _p(mix), _p(out), len(out), _p(sizes), _p(f1), _p(fm))
    if total < 0:
        raise RuntimeError(f"encode failed ({total})")
    if check:
        back = np.empty_like(screen)
        if so.x_decode(_p(out), _p(sizes), 1, h, w, ncol, 0, _p(t1), _p(mix), _p(back)) != 0 or \
                not np.array_equal(back, screen):
            raise RuntimeError("decode is not exact")
    return int(total), f1, fm


def frames(cache):
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    from data_tools.atari import record

    def load(name, games, seed):
        path = cache / f"{name}.npz"
        if not path.exists():
            data = {g: record(g, seed, FRAMES) for g in games}
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **data)
            tmp.rename(path)
        d = np.load(path)
        return {g: d[g] for g in d.files}
    return load("fit", FIT_GAMES, FIT_SEED), load("heldout", HELDOUT_GAMES, HELDOUT_SEED)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="*", default=list(VARIANTS), help=f"of {', '.join(VARIANTS)} (default: all)")
    ap.add_argument("--cache", default="/tmp/lc-screen-variants", help="recorded frames (made on first use)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    gen = open_codec("palette-generic")
    fit_frames, held = frames(args.cache)

    def screen(frame):
        pal, _, _, s = gen._palette_screens(rgb24(frame[None]))
        return np.ascontiguousarray(s[0]), len(pal)
    still_frames = {g: held[g][::10][:20] for g in HELDOUT_GAMES}   # as atari_table.py's stills
    stills = {g: [screen(f) for f in fs] for g, fs in still_frames.items()}
    webp, jxl = webp_lossless(), jxl_lossless()
    classic = {g: min(np.mean([len(webp.encode_frame(f)) for f in fs]), np.mean([len(jxl.encode_frame(f)) for f in fs]))
               for g, fs in still_frames.items()}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            t0 = time.time()
            so = build(name, tmp)
            t1 = np.full(1 << 20, 1 << 31, np.uint32)
            mix = np.full((32, 6), int(0.3 * 65536), np.int32)
            mix[:, -1] = 0
            for g in FIT_GAMES:
                for f in fit_frames[g]:
                    s, ncol = screen(f)
                    _, t1, mix = encode(so, s, ncol, t1, mix, fit=True)
            t1 = (t1 & ~np.uint32(1023)) | np.minimum(t1 & 1023, ADAPT_COUNT).astype(np.uint32)
            row = {}
            for g in HELDOUT_GAMES:
                b = [encode(so, s, ncol, t1, mix, check=(k == 0))[0] + ncol + OVERHEAD
                     for k, (s, ncol) in enumerate(stills[g])]
                row[g] = round(float(np.mean(b)) / classic[g], 4)
            ratios = list(row.values())
            results[name] = {"ratio_to_min_webp_jxl": row, "mean": round(float(np.mean(ratios)), 4),
                             "max": round(float(max(ratios)), 4), "seconds": round(time.time() - t0, 1)}
            print(f"{name:16s} mean {results[name]['mean']:.3f} max {results[name]['max']:.3f}  " +
                  " ".join(f"{g[:8]} {r:.3f}" for g, r in row.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"classic_bytes": classic, "variants": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
