"""Rate-distortion summaries: curves per codec family, BD-rates, bytes at a target PSNR."""
import math

import numpy as np

from learned_codec.eval import metrics as metrics

TARGET_PSNRS = (36.0, 41.0)  # the quality levels the spec quotes AVIF at


def curves(rows):
    """{family: (bytes_per_frame array, psnr array, ssim array)} of measured lossy points."""
    out = {}
    for r in rows:
        if r["status"] != "ok" or r["lossless"]:
            continue
        out.setdefault(r["codec"], []).append((r["bytes_per_frame"], r["psnr"], r["ssim"]))
    return {k: tuple(np.array(c) for c in zip(*sorted(v))) for k, v in out.items()}


def bd_rates(rows, baseline_anchor="avif"):
    """BD-rate (PSNR) of every non-baseline family against every baseline family.

    With no learned codec in the run, every other baseline is compared with one anchor
    (AVIF 4:4:4 by default, the strongest image baseline) so the table stays readable.
    """
    fam = curves(rows)
    baseline = {r["codec"] for r in rows if r.get("is_baseline")}
    tests = [f for f in fam if f not in baseline]
    anchors = [f for f in fam if f in baseline]
    if not tests:
        if baseline_anchor not in fam:
            return []
        tests, anchors = [f for f in fam if f != baseline_anchor], [baseline_anchor]
    out = []
    for t in tests:
        for a in anchors:
            res = metrics.bd_rate(fam[a][0], fam[a][1], fam[t][0], fam[t][1])
            out.append({"test": t, "anchor": a,
                        "bd_rate_percent": None if math.isnan(res.percent) else res.percent,
                        "reason": res.reason})
    return out


def bytes_at_psnr(bytes_per_frame, psnr, target):
    """Bytes/frame at `target` dB, interpolated linearly in log-bytes between the two
    measured points around it; None outside the measured range (no extrapolation)."""
    order = np.argsort(psnr)
    q, b = np.asarray(psnr)[order], np.asarray(bytes_per_frame)[order]
    if len(q) == 0 or target < q[0] or target > q[-1]:
        return None
    return float(np.exp(np.interp(target, q, np.log(b))))
