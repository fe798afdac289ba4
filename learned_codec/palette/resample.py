"""Pillow's Lanczos resampling of frame heights, exactly, and its inverse on palette images.

The Pac-Man data set (data_tools/pacman.py) resizes 210 x 160 emulator screens to
200 x 160 with Pillow's Lanczos filter. The width does not change, so Pillow runs
only its vertical pass: every output row is a fixed integer-weighted sum of about
seven input rows (22-bit fixed point, rounded, clipped), channel by channel.

`resize_height` reproduces that pass bit for bit (the weights are computed the way
Pillow's Resample.c computes them), so a decoder that knows the emulator screen
knows the frame. `invert_exact` finds, for a resized frame, a screen in given
candidate colours (and the frame's own flat colours) that resizes back to it
exactly, or says there is none (the native depth-first search, ops.resample_invert).
`invert_resize` finds, for every frame, the screen of palette colours whose resize
is closest to it: the exact one where there is one, else iterated conditional modes
over the rows from the least-squares solution, and the codec stores what is left
(see palette/codec.py).
"""
import functools

import numpy as np

PRECISION_BITS = 22  # Pillow's fixed-point precision for 8-bit images
LANCZOS_SUPPORT = 3.0


def _lanczos(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    inside = np.abs(x) < LANCZOS_SUPPORT
    xi = x[inside]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(xi == 0, 1.0, np.sin(np.pi * xi) / (np.pi * xi))
        s3 = np.where(xi == 0, 1.0, np.sin(np.pi * xi / 3) / (np.pi * xi / 3))
    out[inside] = s * s3
    return out


@functools.lru_cache(maxsize=8)
def resize_weights(in_size, out_size):
    """-> (float64 out x in weights, int64 out x in fixed-point weights) of Pillow's
    Lanczos resampling from in_size to out_size samples (ImagingResample's
    precompute_coeffs and normalize_coeffs_8bpc)."""
    if in_size < 1 or out_size < 1:
        raise ValueError(f"bad resize {in_size} -> {out_size}")
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = LANCZOS_SUPPORT * filterscale
    weights = np.zeros((out_size, in_size))
    fixed = np.zeros((out_size, in_size), dtype=np.int64)
    for o in range(out_size):
        center = (o + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        xs = np.arange(lo, hi)
        w = _lanczos((xs - center + 0.5) / filterscale)
        w = w / w.sum()
        weights[o, xs] = w
        fixed[o, xs] = np.trunc(np.where(w < 0, -0.5, 0.5) + w * (1 << PRECISION_BITS))
    weights.setflags(write=False)
    fixed.setflags(write=False)
    return weights, fixed


@functools.lru_cache(maxsize=8)
def _fixed_float(in_size, out_size):
    return resize_weights(in_size, out_size)[1].astype(np.float64)


@functools.lru_cache(maxsize=8)
def _pinv(in_size, out_size):
    return np.linalg.pinv(resize_weights(in_size, out_size)[0])


def resize_height(screens, out_height):
    """uint8 N x H x W x C (or H x W x C) -> N x out_height x W x C, exactly as
    Pillow's Image.resize((W, out_height), Image.LANCZOS) does."""
    screens = np.asarray(screens)
    single = screens.ndim == 3
    x = screens[None] if single else screens
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(f"screens must be uint8 N x H x W x C, got {screens.dtype} {screens.shape}")
    from learned_codec.ops.resample_rows import resample_rows

    out = resample_rows(x, resize_weights(x.shape[1], int(out_height))[1], precision=PRECISION_BITS)
    return out[0] if single else out


def resize_height_reference(screens, out_height):
    """resize_height in NumPy (float64 BLAS sums, exact for these integers): the reference
    that tests hold the native pass to."""
    x = np.asarray(screens)
    fixed = _fixed_float(x.shape[1], int(out_height))
    n, h, w, c = x.shape
    # Integer sums of < 2^31 * 255 * 10 stay exact in float64, so BLAS computes them exactly.
    acc = np.matmul(fixed, x.reshape(n, h, w * c).astype(np.float64)).astype(np.int64)
    out = np.clip((acc + (1 << (PRECISION_BITS - 1))) >> PRECISION_BITS, 0, 255).astype(np.uint8)
    return out.reshape(n, -1, w, c)


RETRY_BUDGET = 1 << 16   # colour trials per column for frames the default budget missed
REUSE_CHUNK = 4          # frames inverted at once (in parallel) between column-reuse updates


def invert_exact(frames, candidates, in_height):
    """Resized frames -> (int32 N x in_height x W rgb24 screens (R << 16 | G << 8 | B),
    bool N ok): where ok, the screen's Pillow Lanczos resize is the frame exactly.

    frames: uint8 N x h x W x 3; candidates: uint8 P x 3 colours the screens may use
    (besides the colours of the frames' flat runs).

    Frames of one game repeat most of their columns (the static playfield: 57-95 % of
    the columns of held-out clips were seen in an earlier frame), so frames are inverted
    REUSE_CHUNK at a time, in order, and a column equal to one solved in an earlier
    chunk takes that screen column without a search (its resize is that frame column).
    The result depends only on the frames and their order, never on threads. Frames the
    default search budget misses are searched once more with RETRY_BUDGET (a frame that
    is no resize at all costs that much more: ~16x)."""
    from learned_codec.ops.resample_invert import resample_invert

    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 N x H x W x 3, got {frames.dtype} {frames.shape}")
    n, h, w, _ = frames.shape
    in_height = int(in_height)
    args = (resize_weights(in_height, h)[1], np.asarray(candidates, np.uint8), _pinv(in_height, h))
    # each frame column's id among the distinct columns of the call
    cols = np.ascontiguousarray(frames.transpose(0, 2, 1, 3)).reshape(n * w, h * 3)
    _, ids = np.unique(cols.view(np.dtype((np.void, h * 3))).ravel(), return_inverse=True)
    ids = ids.reshape(n, w)
    solved = np.zeros(ids.max() + 1 if n else 0, dtype=bool)
    column = np.zeros((len(solved), in_height), dtype=np.int32)
    screens = np.zeros((n, in_height, w), dtype=np.int32)
    ok = np.zeros(n, dtype=bool)
    for s in range(0, n, REUSE_CHUNK):
        part = slice(s, min(n, s + REUSE_CHUNK))
        mask = solved[ids[part]]
        known = column[ids[part]].transpose(0, 2, 1)
        screens[part], ok[part] = resample_invert(frames[part], *args, precision=PRECISION_BITS,
                                                  known=known, known_mask=mask)
        retry = np.flatnonzero(~ok[part])
        if len(retry):  # a column past the default budget: one more try with RETRY_BUDGET
            i = s + retry
            screens[i], ok[i] = resample_invert(frames[i], *args, precision=PRECISION_BITS, budget=RETRY_BUDGET,
                                                known=known[retry], known_mask=mask[retry])
        done = s + np.flatnonzero(ok[part])
        # each new column once, from its first occurrence (a fixed choice where equal
        # frame columns got different, equally exact, screen columns)
        new, first = np.unique(ids[done].ravel(), return_index=True)
        keep = ~solved[new]
        column[new[keep]] = screens[done].transpose(0, 2, 1).reshape(-1, in_height)[first[keep]]
        solved[new] = True
    return screens, ok


def invert_resize(frames, palette, in_height, max_sweeps=20):
    """Palette screens whose Lanczos resize is closest to `frames`.

    frames: uint8 N x h x W x 3 (resized); palette: uint8 P x 3. Returns uint8
    N x in_height x W palette indices: an exact screen in the palette where
    invert_exact finds one; for the other frames least squares gives a start (the nearest
    palette colour of the minimum-norm solution), exact already for most columns.
    In the columns whose resize is still wrong, each row takes the palette colour
    that lowers the squared error most, every `stride`-th row at once (rows that far
    apart never share an output row), until nothing changes; a beam search then
    re-solves what single-row moves cannot (_beam_repair), in frames that are nearly
    palette screens already (a few wrong columns): anything else is left as it is.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 N x H x W x 3, got {frames.dtype} {frames.shape}")
    pal = np.asarray(palette, dtype=np.float64).reshape(-1, 3)
    palette_u8 = pal.astype(np.uint8)
    in_height, out_height = int(in_height), frames.shape[1]
    idx = np.zeros((len(frames), in_height, frames.shape[2]), dtype=np.uint8)
    rest = np.arange(len(frames))
    if 1 <= len(pal) <= 255:
        rgb, ok = invert_exact(frames, palette_u8, in_height)
        pal24 = (palette_u8[:, 0].astype(np.int64) << 16) | (palette_u8[:, 1].astype(np.int64) << 8) | palette_u8[:, 2]
        order = np.argsort(pal24)
        pos = np.clip(np.searchsorted(pal24[order], rgb), 0, len(pal24) - 1)
        ok &= (pal24[order][pos] == rgb).all(axis=(1, 2))   # a flat colour outside the palette: not usable
        idx[ok] = order[pos[ok]]
        rest = np.flatnonzero(~ok)
        if not len(rest):
            return idx
    idx[rest] = _invert_nearest(frames[rest], pal, in_height, max_sweeps)
    return idx


def _invert_nearest(frames, pal, in_height, max_sweeps):
    palette_u8 = pal.astype(np.uint8)
    out_height = frames.shape[1]
    weights, _ = resize_weights(in_height, out_height)
    z = np.matmul(_pinv(in_height, out_height), frames.reshape(len(frames), out_height, -1)
                  .astype(np.float64)).reshape(len(frames), in_height, frames.shape[2], 3)
    idx = ((pal ** 2).sum(1) - 2 * z @ pal.T).argmin(-1).astype(np.uint8)   # N x H x W
    wrong = (resize_height(palette_u8[idx], out_height) != frames).any(-1).any(1)  # N x W
    n_i, w_i = np.nonzero(wrong)
    if len(n_i):
        cols = idx[n_i, :, w_i]                                    # C x H
        _icm_columns(cols, frames[n_i, :, w_i].astype(np.float64), pal, weights, max_sweeps)
        idx[n_i, :, w_i] = cols
    for n in np.unique(n_i):
        _beam_repair(idx[n], frames[n], pal, weights)
    return idx


def _icm_columns(cols, y, pal, weights, max_sweeps):
    """Iterated conditional modes on C independent columns (C x H indices, C x h x 3
    targets), in place."""
    h_in = cols.shape[1]
    stride = int(np.max(np.count_nonzero(weights, axis=1)))  # rows this far apart are independent
    colsq = (weights ** 2).sum(0)
    pal_sq = (pal ** 2).sum(1)
    x = pal[cols]                                              # C x H x 3
    resid = np.matmul(weights, x) - y                          # C x h x 3
    for _ in range(max_sweeps):
        changed = 0
        for phase in range(stride):
            rows = np.arange(phase, h_in, stride)
            a = weights[:, rows]                               # h x r
            grad = np.matmul(a.T, resid)                       # C x r x 3
            xr = x[:, rows]
            cr = colsq[rows][None, :, None]
            # Change in squared error if a row became palette colour p:
            # 2 g.(p - x) + |p - x|^2 sum_o a_or^2, expanded (no C x r x P x 3 array).
            cost = 2 * (grad @ pal.T) - 2 * cr * (xr @ pal.T) + cr * pal_sq \
                + (cr[..., 0] * (xr ** 2).sum(-1) - 2 * (grad * xr).sum(-1))[..., None]
            best = cost.argmin(-1)
            better = np.take_along_axis(cost, best[..., None], -1)[..., 0] < -1e-9
            if better.any():
                new = np.where(better, best, cols[:, rows])
                resid += np.matmul(a, pal[new] - xr)
                cols[:, rows] = new
                x[:, rows] = pal[new]
                changed += int(better.sum())
        if not changed:
            break


MAX_REPAIR_COLUMNS = 32   # beyond this a frame is not a resized palette screen: the
MAX_REPAIR_ROWS = 48      # codec's residual carries the difference (repairing noise would take minutes)


def _beam_repair(screen, frame, pal, weights, beam=256, margin=4):
    """Re-solve, column by column, the rows around pixels whose resize is still wrong.

    Single-row moves stop where several rows must change together (thin sprites,
    one-row pellets). A beam search over the rows of each such region, keeping the
    `beam` best partial screens by the squared error of the outputs they complete,
    finds those; a region keeps its old rows unless the new ones are better. In place."""
    palette_u8 = pal.astype(np.uint8)
    h_out, h_in = weights.shape
    nz = weights != 0
    lo = nz.argmax(1)                                  # first input row of each output
    hi = h_in - nz[:, ::-1].argmax(1)                  # one past the last
    wrong = (resize_height(palette_u8[screen], h_out) != frame).any(-1)
    columns = np.flatnonzero(wrong.any(0))
    if len(columns) > MAX_REPAIR_COLUMNS:
        return
    for col in columns:
        bad = np.flatnonzero(wrong[:, col])
        clusters = np.split(bad, np.flatnonzero(np.diff(bad) > 2 * margin) + 1)
        for rows in clusters:
            r0 = max(0, int(lo[rows[0]]) - margin)
            r1 = min(h_in, int(hi[rows[-1]]) + margin)
            if r1 - r0 > MAX_REPAIR_ROWS:
                continue
            _beam_region(screen[:, col], frame[:, col].astype(np.float64), pal, weights,
                         lo, hi, r0, r1, beam)


def _beam_region(column, y, pal, weights, lo, hi, r0, r1, beam):
    outs = np.flatnonzero((lo < r1) & (hi > r0))       # outputs the region touches
    a = weights[outs]                                  # O x h_in
    x = pal[column]                                    # h_in x 3
    fixed = a @ x - a[:, r0:r1] @ x[r0:r1]             # O x 3: rows outside the region
    finish = np.minimum(hi[outs], r1) - 1              # region row after which an output is complete
    target = y[outs]
    states = fixed[None]                               # B x O x 3 partial sums
    cost = np.zeros(1)
    hist = np.zeros((1, 0), dtype=np.uint8)
    n_pal = len(pal)
    for j in range(r0, r1):
        cand = states[:, None] + a[None, None, :, j, None] * pal[None, :, None, :]   # B P O 3
        done = finish == j
        new_cost = cost[:, None] + ((cand[:, :, done] - target[done]) ** 2).sum((2, 3))
        flat = new_cost.ravel()
        keep = np.argsort(flat, kind="stable")[: beam * 2]
        b, p = np.divmod(keep, n_pal)
        hist = np.concatenate([hist[b], p[:, None].astype(np.uint8)], 1)
        # Two partial screens that agree on their last rows have the same future: keep one.
        _, first = np.unique(hist[:, -8:], axis=0, return_index=True)
        first = np.sort(first)[:beam]
        hist, states, cost = hist[first], cand[b[first], p[first]], flat[keep[first]]
    old = ((a @ x - y[outs]) ** 2).sum()
    if cost[0] < old - 1e-9:
        column[r0:r1] = hist[0]
