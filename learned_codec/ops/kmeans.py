"""k-means over float code entries (k <= 256, k-means++ seeding, deterministic per seed)."""
import numbers

import torch

from learned_codec import _C
from learned_codec.ops._checks import (
    _check_finite,
    _check_tensor,
    _launch_args,
    _same_device,
)


def _check_points(x, name="x"):
    _check_tensor(x, name, torch.float32)
    if x.dim() == 1:
        x = x.unsqueeze(1)  # N scalars = N x 1
    if x.dim() != 2:
        raise ValueError(f"{name} must be N x d (or N), got shape {tuple(x.shape)}")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have d >= 1 columns")
    _check_finite(x, name)
    return x.contiguous()


def kmeans_fit(x, k, iters=20, seed=0):
    """k-means codebook: centroids (k x d float32, x's device) of x (N x d float32, or N).

    k-means++ seeding (one candidate per step, splitmix64 random stream from
    `seed`), then up to `iters` Lloyd iterations (stops early once labels stop
    changing); empty clusters keep their centroid. 1 <= k <= min(256, N).
    The same seed on the same device gives identical centroids.
    """
    x = _check_points(x)
    for name, v in (("k", k), ("iters", iters), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {v!r}")
    if not 1 <= k <= 256:
        raise ValueError(f"k must be in [1, 256] (labels are uint8), got {k}")
    if k > x.shape[0]:
        raise ValueError(f"k = {k} is larger than the number of points ({x.shape[0]})")
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    n, d = x.shape
    c = torch.empty((k, d), dtype=torch.float32, device=x.device)
    cuda, stream = _launch_args(x)
    _C.kmeans_fit(x.data_ptr(), c.data_ptr(), n, d, k, iters, seed, cuda, stream)
    return c


def kmeans_assign(x, centroids):
    """Nearest-centroid labels (uint8, length N) of x (N x d float32, or N)
    for centroids (k x d float32, 1 <= k <= 256, same device). Squared
    Euclidean distance; ties go to the lowest index."""
    x = _check_points(x)
    _check_tensor(centroids, "centroids", torch.float32)
    c = centroids.unsqueeze(1) if centroids.dim() == 1 else centroids
    if c.dim() != 2 or c.shape[1] != x.shape[1]:
        raise ValueError(f"centroids must be k x {x.shape[1]}, got shape {tuple(centroids.shape)}")
    if not 1 <= c.shape[0] <= 256:
        raise ValueError(f"k must be in [1, 256] (labels are uint8), got {c.shape[0]}")
    _same_device(x, c, "x", "centroids")
    _check_finite(c, "centroids")
    c = c.contiguous()
    labels = torch.empty(x.shape[0], dtype=torch.uint8, device=x.device)
    cuda, stream = _launch_args(x)
    if x.shape[0]:
        _C.kmeans_assign(x.data_ptr(), c.data_ptr(), labels.data_ptr(), x.shape[0], x.shape[1],
                         c.shape[0], cuda, stream)
    return labels
