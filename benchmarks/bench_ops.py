"""Throughput of the native ops against their baselines, measured in one run.

    python -m pytest benchmarks/bench_ops.py --benchmark-json benchmarks/results/ops_cpu.json

Targets (issue #3): fused DCT+quantize >= 5x the torch reference (CPU);
jpeg_simulate >= 1x Pillow encode+decode per CPU core (GPU: >= 100x);
k-means (k=256, 20 iterations) <= 1.0x faiss-cpu's time (GPU: >= 20x faster);
GPU DCT+quantize >= 60 % of the device's measured copy bandwidth.
Baselines run before our kernel in each group, so the ratio can be computed.
"""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from learned_codec import _C, ops
from learned_codec.ops import reference as ref

from conftest import cpu_cores, ratio, record

CUDA = pytest.mark.skipif(not ops.cuda_available(), reason="no CUDA GPU / CUDA build")

# ---- fused DCT + quantize -------------------------------------------------

DCT_SHAPE = (16, 3, 256, 256)  # 3.1 M samples
DCT_SAMPLES = float(np.prod(DCT_SHAPE)) / 1e6


@pytest.fixture(scope="module")
def dct_input():
    return torch.rand(DCT_SHAPE, generator=torch.Generator().manual_seed(0)) * 255


def test_dct_quant_torch_reference(benchmark, dct_input):
    benchmark.group = "dct+quantize (Msamples/s)"
    t = ops.jpeg_quant_table(50)
    benchmark(lambda: ref.quantize(ref.block_dct(dct_input), t))
    record(benchmark, "dct_torch", DCT_SAMPLES, "Msamples_per_s")


def test_dct_quant_scipy(benchmark, dct_input):
    import scipy.fft

    benchmark.group = "dct+quantize (Msamples/s)"
    t = ops.jpeg_quant_table(50).numpy()
    x = dct_input.numpy()
    n, c, h, w = x.shape

    def run():
        b = x.reshape(n, c, h // 8, 8, w // 8, 8)
        X = scipy.fft.dctn(b, type=2, axes=(3, 5), norm="ortho", workers=cpu_cores())
        return np.round(X / t[None, None, None, :, None, :]).astype(np.int16)

    benchmark(run)
    record(benchmark, "dct_scipy", DCT_SAMPLES, "Msamples_per_s")


def test_dct_quant_ours(benchmark, dct_input):
    benchmark.group = "dct+quantize (Msamples/s)"
    t = ops.jpeg_quant_table(50)
    benchmark(lambda: ops.dct_quantize(dct_input, t))
    record(benchmark, "dct_ours", DCT_SAMPLES, "Msamples_per_s")
    ratio(benchmark, "CPU dct+quantize vs torch einsum reference", "dct_ours", "dct_torch", ">= 5x")
    ratio(benchmark, "CPU dct+quantize vs scipy.fft.dctn", "dct_ours", "dct_scipy", "(info)")


# ---- JPEG simulator -------------------------------------------------------

def test_jpeg_pillow(benchmark, pacman_frames):
    benchmark.group = "jpeg round trip 200x160 (frames/s)"
    frames = [np.ascontiguousarray(f) for f in pacman_frames]

    def run():
        for f in frames:
            b = io.BytesIO()
            Image.fromarray(f).save(b, "JPEG", quality=75, subsampling=0)
            b.seek(0)
            np.asarray(Image.open(b).convert("RGB"))

    benchmark(run)
    record(benchmark, "jpeg_pillow", len(frames), "frames_per_s")
    benchmark.extra_info["threads"] = 1


def test_jpeg_simulate_ours(benchmark, pacman_frames):
    benchmark.group = "jpeg round trip 200x160 (frames/s)"
    x = torch.from_numpy(pacman_frames)
    benchmark(lambda: ops.jpeg_simulate(x, 75, "444"))
    record(benchmark, "jpeg_ours", len(x), "frames_per_s")
    cores = cpu_cores()
    benchmark.extra_info["threads"] = cores
    r = ratio(benchmark, f"CPU jpeg_simulate vs Pillow (ours on {cores} cores)", "jpeg_ours", "jpeg_pillow",
              "(see per-core line)")
    if r is not None:
        benchmark.extra_info["speedup_per_core_vs_pillow"] = r / cores
        from conftest import RATIOS

        RATIOS.append(("CPU jpeg_simulate vs Pillow, per core", r / cores, ">= 1x"))


def test_jpeg_simulate_ours_5_qualities(benchmark, pacman_frames):
    benchmark.group = "jpeg round trip 200x160 (frames/s)"
    x = torch.from_numpy(pacman_frames)
    benchmark(lambda: ops.jpeg_simulate(x, [10, 25, 50, 75, 90], "444"))
    record(benchmark, "jpeg_ours_5q", 5 * len(x), "frames_per_s")


# ---- k-means --------------------------------------------------------------

KMEANS_CASES = {"1Mx1": (1_000_000, 1), "200kx16": (200_000, 16)}


def _kmeans_data(case):
    n, d = KMEANS_CASES[case]
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(512, d, generator=g) * 3
    x = centres[torch.randint(0, 512, (n,), generator=g)] + torch.randn(n, d, generator=g)
    return x.contiguous()


def _once(benchmark, fn):
    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)


@pytest.mark.parametrize("case", list(KMEANS_CASES))
def test_kmeans_faiss_default(benchmark, case):
    import faiss

    benchmark.group = f"kmeans {case} k=256 20 iters (s)"
    x = _kmeans_data(case).numpy()

    def run():
        km = faiss.Kmeans(x.shape[1], 256, niter=20, seed=0, verbose=False)  # subsamples to 256 * k points
        km.train(x)

    _once(benchmark, run)
    record(benchmark, f"kmeans_faiss_default_{case}")
    benchmark.extra_info["points_used"] = min(len(x), 256 * 256)


@pytest.mark.parametrize("case", list(KMEANS_CASES))
def test_kmeans_faiss_all_points(benchmark, case):
    import faiss

    benchmark.group = f"kmeans {case} k=256 20 iters (s)"
    x = _kmeans_data(case).numpy()

    def run():
        km = faiss.Kmeans(x.shape[1], 256, niter=20, seed=0, verbose=False,
                          max_points_per_centroid=len(x))  # every point, equal work to ours
        km.train(x)

    _once(benchmark, run)
    record(benchmark, f"kmeans_faiss_all_{case}")
    benchmark.extra_info["points_used"] = len(x)


@pytest.mark.parametrize("case", list(KMEANS_CASES))
def test_kmeans_sklearn(benchmark, case):
    from sklearn.cluster import KMeans

    benchmark.group = f"kmeans {case} k=256 20 iters (s)"
    x = _kmeans_data(case).numpy()
    _once(benchmark, lambda: KMeans(256, init="k-means++", n_init=1, max_iter=20, tol=0.0,
                                    random_state=0).fit(x))
    record(benchmark, f"kmeans_sklearn_{case}")


@pytest.mark.parametrize("case", list(KMEANS_CASES))
def test_kmeans_ours(benchmark, case):
    benchmark.group = f"kmeans {case} k=256 20 iters (s)"
    x = _kmeans_data(case)
    n, d = x.shape
    out = torch.empty(256, d)
    iters = []
    _once(benchmark, lambda: iters.append(_C.kmeans_fit(x.data_ptr(), out.data_ptr(), n, d, 256, 20, 0, False, 0)))
    record(benchmark, f"kmeans_ours_{case}")
    benchmark.extra_info["iterations_run"] = iters[0]
    ratio(benchmark, f"CPU k-means {case} vs faiss-cpu, defaults (65,536 pts)", f"kmeans_ours_{case}",
          f"kmeans_faiss_default_{case}", ">= 1x (time <= faiss)")
    ratio(benchmark, f"CPU k-means {case} vs faiss-cpu, all points", f"kmeans_ours_{case}",
          f"kmeans_faiss_all_{case}", ">= 1x (time <= faiss)")
    ratio(benchmark, f"CPU k-means {case} vs scikit-learn", f"kmeans_ours_{case}", f"kmeans_sklearn_{case}",
          "(info)")


# ---- latent quantizers ----------------------------------------------------

def test_latent_affine_torch(benchmark):
    benchmark.group = "latent affine quantize 16M (Melem/s)"
    z = torch.randn(16, 1 << 20)

    def run():
        lo, hi = torch.aminmax(z)
        s = (hi.clamp(min=0) - lo.clamp(max=0)) / 255
        return ref.latent_quantize_affine(z, s, torch.round(-lo.clamp(max=0) / s))

    benchmark(run)
    record(benchmark, "latent_torch", z.numel() / 1e6, "Melem_per_s")


def test_latent_affine_ours(benchmark):
    benchmark.group = "latent affine quantize 16M (Melem/s)"
    z = torch.randn(16, 1 << 20)
    benchmark(lambda: ops.latent_quantize(z, "affine"))
    record(benchmark, "latent_ours", z.numel() / 1e6, "Melem_per_s")
    ratio(benchmark, "CPU latent affine quantize vs torch", "latent_ours", "latent_torch", "(info)")


# ---- GPU (only where one is present) --------------------------------------

def _cuda_timed(fn, reps=20):
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / reps


@CUDA
def test_gpu_dct_quant_bandwidth(benchmark):
    benchmark.group = "gpu"
    x = torch.rand(64, 3, 1024, 1024, device="cuda") * 255
    t = ops.jpeg_quant_table(50).cuda()
    y = torch.empty_like(x)
    copy_s = _cuda_timed(lambda: y.copy_(x))
    copy_bw = 2 * x.numel() * 4 / copy_s
    benchmark(lambda: (ops.dct_quantize(x, t), torch.cuda.synchronize()))
    ours_s = _cuda_timed(lambda: ops.dct_quantize(x, t))
    bw = x.numel() * (4 + 2) / ours_s
    benchmark.extra_info.update(copy_GBps=copy_bw / 1e9, ours_GBps=bw / 1e9, fraction=bw / copy_bw)
    from conftest import RATIOS

    RATIOS.append(("GPU dct+quantize fraction of copy bandwidth", bw / copy_bw, ">= 0.6"))


@CUDA
def test_gpu_jpeg_simulate(benchmark, pacman_frames):
    benchmark.group = "gpu"
    x = torch.from_numpy(np.concatenate([pacman_frames] * 16)).cuda()  # 1024 frames
    benchmark(lambda: (ops.jpeg_simulate(x, 75, "444"), torch.cuda.synchronize()))
    fps = len(x) / benchmark.stats.stats.mean
    benchmark.extra_info["frames_per_s"] = fps
    from conftest import RESULTS, RATIOS

    if "jpeg_pillow" in RESULTS:
        r = fps / (64 / RESULTS["jpeg_pillow"])
        benchmark.extra_info["speedup_vs_pillow_1core"] = r
        RATIOS.append(("GPU jpeg_simulate vs Pillow (1 core)", r, ">= 100x"))


@CUDA
@pytest.mark.parametrize("case", list(KMEANS_CASES))
def test_gpu_kmeans(benchmark, case):
    benchmark.group = "gpu"
    x = _kmeans_data(case).cuda()
    _once(benchmark, lambda: (ops.kmeans_fit(x, 256, iters=20), torch.cuda.synchronize()))
    record(benchmark, f"kmeans_gpu_{case}")
    ratio(benchmark, f"GPU k-means {case} vs faiss-cpu all points", f"kmeans_gpu_{case}",
          f"kmeans_faiss_all_{case}", ">= 20x")
