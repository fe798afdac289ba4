"""learned_codec.ops (native kernels) against their PyTorch references.

Every test runs on CPU, and on CUDA when the extension was built with CUDA and
a GPU is visible (the cuda parameter is skipped otherwise).
"""
import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

from learned_codec import ops
from learned_codec.ops import reference as ref

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not ops.cuda_available(), reason="no CUDA GPU / CUDA build")),
]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def _images(n, c, h, w, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, c, h, w, generator=g) * 255).to(device)


# ---- block DCT ------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1, 8, 8), (2, 3, 16, 24), (1, 3, 13, 21), (33, 2, 8, 16)])
def test_block_dct_matches_reference(device, shape):
    x = _images(*shape, device=device)
    X = ops.block_dct(x)
    xp = ops.pad_to_multiple(x)
    assert X.shape == xp.shape
    assert (X - ref.block_dct(xp.double()).float()).abs().max().item() <= 1e-3
    back = ops.block_idct(X)[..., : shape[2], : shape[3]]
    assert (back - x).abs().max().item() <= 1e-3


def test_block_dct_non_contiguous(device):
    x = _images(2, 16, 24, 3, device=device).permute(0, 3, 1, 2)  # channels-last view
    assert not x.is_contiguous()
    assert (ops.block_dct(x) - ref.block_dct(x.contiguous().double()).float()).abs().max().item() <= 1e-3


# ---- JPEG quantization ----------------------------------------------------

def test_jpeg_quant_table_ijg_scaling():
    assert ops.jpeg_quant_table(50).flatten()[:3].tolist() == [16, 11, 10]  # S = 100: the base table
    assert ops.jpeg_quant_table(100).unique().tolist() == [1]
    t10 = ops.jpeg_quant_table(10, "chroma")
    assert t10.max().item() == 255 and t10[0, 0].item() == (500 * 17 + 50) // 100
    # S = 200 - 2 * 75 = 50 -> floor((50 * 16 + 50) / 100) = 8
    assert ops.jpeg_quant_table(75)[0, 0].item() == 8
    assert ops.jpeg_quant_table(25, "chroma").shape == (8, 8)


def test_jpeg_quant_table_matches_pillow():
    b = io.BytesIO()
    Image.new("RGB", (8, 8)).save(b, "JPEG", quality=37, subsampling=0)
    b.seek(0)
    tables = Image.open(b).quantization  # natural (row-major) order in Pillow >= 8.3
    for kind, idx in (("luma", 0), ("chroma", 1)):
        ours = ops.jpeg_quant_table(37, kind).flatten().to(torch.int64).tolist()
        assert ours == list(tables[idx])


@pytest.mark.parametrize("shape", [(1, 1, 8, 8), (3, 3, 24, 40), (64, 1, 16, 16)])
def test_quantize_exact(device, shape):
    X = (torch.randn(shape, generator=torch.Generator().manual_seed(1)) * 300).to(device)
    X[..., 0, :4] = torch.tensor([0.5, -0.5, 1.5, -2.5]) * 16  # exact .5 ties on the DC/AC of table 50
    t = ops.jpeg_quant_table(50).to(device)
    q = ops.quantize(X, t)
    assert q.dtype == torch.int16
    assert torch.equal(q, ref.quantize(X, t))
    assert q[0, 0, 0, :4].tolist() == [1, -1, 2, -3][: shape[3]] or shape[3] < 4  # half away from zero
    assert torch.equal(ops.dequantize(q, t), ref.dequantize(q, t))


def test_quantize_per_channel_tables_and_non_contiguous(device):
    X = (torch.randn(2, 16, 32, 3) * 100).to(device).permute(0, 3, 1, 2)
    t = torch.stack([ops.jpeg_quant_table(q) for q in (10, 50, 90)]).to(device)
    q = ops.quantize(X, t)
    assert torch.equal(q, ref.quantize(X.contiguous(), t))
    assert torch.equal(ops.dequantize(q.transpose(2, 3).transpose(2, 3), t), ref.dequantize(q, t))


def test_quantize_saturates(device):
    X = torch.full((1, 1, 8, 8), 1e7, device=device)
    assert ops.quantize(X, torch.ones(8, 8, device=device)).unique().tolist() == [32767]


def test_dct_quantize_fused(device):
    x = _images(2, 3, 20, 28, seed=4, device=device)
    t = ops.jpeg_quant_table(75).to(device)
    fused = ops.dct_quantize(x, t)
    two_step = ref.quantize(ref.block_dct(ops.pad_to_multiple(x).double()).float(), t)
    diff = (fused.int() - two_step.int()).abs()
    assert diff.max().item() <= 1 and (diff > 0).float().mean().item() < 1e-3  # only float ties differ


# ---- JPEG simulator vs libjpeg (Pillow) -----------------------------------

def _pillow_round_trip(img, quality, subsampling):
    b = io.BytesIO()
    Image.fromarray(img).save(b, "JPEG", quality=quality, subsampling=subsampling)
    b.seek(0)
    return np.asarray(Image.open(b).convert("RGB"))


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def pacman_frames(n=20):
    """n Ms. Pac-Man frames, 200 x 160 (Lanczos), from the data set or the emulator."""
    path = os.path.join(os.path.dirname(__file__), "..", "data", "pacman", "images", "test.npy")
    if os.path.exists(path):
        frames = np.load(path, mmap_mode="r")
        if len(frames) >= n and frames.shape[1:] == (200, 160, 3):
            return np.ascontiguousarray(frames[:n])
    from ale_py import ALEInterface, roms

    ale = ALEInterface()
    ale.setInt("random_seed", 0)
    ale.loadROM(roms.get_rom_path("ms_pacman"))
    actions = ale.getMinimalActionSet()
    rng = np.random.RandomState(0)
    frames = []
    step = 0
    while len(frames) < n:
        ale.act(actions[rng.randint(len(actions))])
        if ale.game_over():
            ale.reset_game()
        step += 1
        if step >= 100 and step % 20 == 0:  # past the intro, every 20th frame
            img = Image.fromarray(ale.getScreenRGB()).resize((160, 200), Image.LANCZOS)
            frames.append(np.asarray(img))
    return np.stack(frames)


def natural_images():
    from skimage import data

    imgs = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.immunohistochemistry()]
    return [np.ascontiguousarray(i[:, :, :3]) for i in imgs]


@pytest.fixture(scope="module")
def pacman():
    return pacman_frames(20)


QUALITIES = [10, 25, 50, 75, 90]


@pytest.mark.parametrize("subsampling", [("444", 0), ("420", 2)])
def test_jpeg_simulate_matches_libjpeg(device, pacman, subsampling):
    name, pil = subsampling
    sets = {"pacman": list(pacman), "natural": natural_images()}
    for kind, imgs in sets.items():
        psnrs = {q: [] for q in QUALITIES}
        for img in imgs:
            outs = ops.jpeg_simulate(torch.from_numpy(img)[None].to(device), QUALITIES, name)
            for q, out in zip(QUALITIES, outs):
                psnrs[q].append(min(_psnr(out[0].cpu().numpy(), _pillow_round_trip(img, q, pil)), 100.0))
        for q in QUALITIES:
            assert np.mean(psnrs[q]) >= 40.0, (kind, name, q, np.mean(psnrs[q]))


def test_jpeg_simulate_batch_odd_sizes_layouts(device):
    rng = np.random.RandomState(3)
    imgs = rng.randint(0, 256, (5, 13, 21, 3), dtype=np.uint8)
    x = torch.from_numpy(imgs).to(device)
    for sub, pil in (("444", 0), ("420", 2)):
        one = ops.jpeg_simulate(x, 30, sub)
        assert one.shape == x.shape and one.dtype == torch.uint8
        for i in range(5):  # each image of the batch equals its own libjpeg round trip
            assert np.array_equal(one[i].cpu().numpy(), _pillow_round_trip(imgs[i], 30, pil))
        chw = ops.jpeg_simulate(x.permute(0, 3, 1, 2), 30, sub)  # channels-first, non-contiguous
        assert torch.equal(chw.permute(0, 2, 3, 1), one)
    big = torch.from_numpy(rng.randint(0, 256, (64, 16, 8, 3), dtype=np.uint8)).to(device)
    many = ops.jpeg_simulate(big, [5, 95])
    assert len(many) == 2 and torch.equal(many[1], ops.jpeg_simulate(big, 95))
    single = ops.jpeg_simulate(torch.zeros(1, 1, 1, 3, dtype=torch.uint8, device=device), 50)
    assert single.shape == (1, 1, 1, 3)


# ---- latent quantizers ----------------------------------------------------

@pytest.mark.parametrize("shape", [(1,), (7, 13), (64, 128, 3, 5)])
def test_latent_naive(device, shape):
    z = torch.rand(shape, generator=torch.Generator().manual_seed(2)).to(device)
    z.view(-1)[0] = 0.5 / 255  # a tie: half to even -> 0
    codes, params = ops.latent_quantize(z, "naive")
    assert codes.dtype == torch.uint8 and torch.equal(codes, ref.latent_quantize_naive(z))
    back = ops.latent_dequantize(codes, params)
    assert torch.equal(back, codes.float() / 255)
    assert (back - z).abs().max().item() <= 0.5 / 255 + 1e-7


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_latent_affine(device, axis):
    z = (torch.randn(6, 5, 9, generator=torch.Generator().manual_seed(3)) * 4 + 1).to(device)
    zt = z.transpose(1, 2)  # non-contiguous
    codes, params = ops.latent_quantize(zt, "affine", axis=axis)
    scale, zp = params["scale"], params["zero_point"]
    if axis is None:
        s, p = scale, zp
    else:
        shape = [1] * zt.dim()
        shape[axis] = -1
        s, p = scale.reshape(shape), zp.reshape(shape)
    assert torch.equal(codes, ref.latent_quantize_affine(zt, s, p))
    back = ops.latent_dequantize(codes, params)
    assert torch.allclose(back, ref.latent_dequantize_affine(codes, s, p))
    assert ((back - zt).abs() <= s / 2 + 1e-5).all()
    const, cp = ops.latent_quantize(torch.zeros(4, device=device), "affine")
    assert torch.equal(ops.latent_dequantize(const, cp), torch.zeros(4, device=device))


# ---- k-means --------------------------------------------------------------

def _clusters(n_per, d, k, seed=0, spread=0.3):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g) * 20
    return torch.cat([centres[j] + torch.randn(n_per, d, generator=g) * spread for j in range(k)])


@pytest.mark.parametrize("d,k,n_per", [(1, 8, 300), (3, 16, 150), (16, 5, 101)])
def test_kmeans_matches_reference(device, d, k, n_per):
    x = _clusters(n_per, d, k, seed=d)
    c = ops.kmeans_fit(x.to(device), k, iters=20, seed=7)
    c_ref = ref.kmeans_fit(x, k, iters=20, seed=7)
    obj, obj_ref = ref.kmeans_objective(x, c.cpu()), ref.kmeans_objective(x, c_ref)
    assert abs(obj - obj_ref) <= 1e-4 * obj_ref
    labels = ops.kmeans_assign(x.to(device), c)
    assert labels.dtype == torch.uint8
    assert torch.equal(labels.cpu(), ref.kmeans_assign(x, c.cpu()))


@pytest.mark.parametrize("d", [1, 2])
def test_kmeans_k256_and_determinism(device, d):
    x = torch.rand(6000, d, generator=torch.Generator().manual_seed(11)).to(device)
    a = ops.kmeans_fit(x, 256, iters=5, seed=3)
    b = ops.kmeans_fit(x, 256, iters=5, seed=3)
    assert a.shape == (256, d) and torch.equal(a, b)
    obj_ref = ref.kmeans_objective(x.cpu(), ref.kmeans_fit(x.cpu(), 256, iters=5, seed=3))
    assert abs(ref.kmeans_objective(x.cpu(), a.cpu()) - obj_ref) <= 1e-4 * obj_ref
    xs = x[::3]  # non-contiguous rows
    assert torch.equal(ops.kmeans_assign(xs, a).cpu(), ref.kmeans_assign(xs.cpu(), a.cpu()))
    assert not torch.equal(a, ops.kmeans_fit(x, 256, iters=5, seed=4))


def test_kmeans_1d_input_and_ties(device):
    x = torch.tensor([0.0, 1.0, 2.0, 3.0], device=device)
    c = torch.tensor([[1.0], [3.0], [1.0]], device=device)  # duplicate centroid: lowest index wins
    assert ops.kmeans_assign(x, c).tolist() == [0, 0, 0, 1]  # 2.0 is a tie -> index 0
    assert ops.kmeans_fit(x, 4).sort(0).values.flatten().tolist() == [0.0, 1.0, 2.0, 3.0]


# ---- bad inputs -----------------------------------------------------------

def test_bad_inputs_raise_clearly():
    img = torch.zeros(1, 3, 8, 8)
    t = ops.jpeg_quant_table(50)
    cases = [
        (TypeError, lambda: ops.block_dct(img.double())),
        (TypeError, lambda: ops.block_dct(img.numpy())),
        (ValueError, lambda: ops.block_dct(img[0])),
        (ValueError, lambda: ops.block_dct(img * float("nan"))),
        (ValueError, lambda: ops.block_idct(torch.zeros(1, 1, 9, 8))),
        (ValueError, lambda: ops.jpeg_quant_table(0)),
        (ValueError, lambda: ops.jpeg_quant_table(101)),
        (TypeError, lambda: ops.jpeg_quant_table(50.0)),
        (ValueError, lambda: ops.jpeg_quant_table(50, "blue")),
        (ValueError, lambda: ops.quantize(torch.zeros(1, 1, 12, 8), t)),
        (ValueError, lambda: ops.quantize(img, torch.ones(4, 4))),
        (ValueError, lambda: ops.quantize(img, torch.ones(2, 8, 8))),
        (ValueError, lambda: ops.quantize(img, torch.zeros(8, 8))),
        (ValueError, lambda: ops.quantize(img, t * float("nan"))),
        (TypeError, lambda: ops.dequantize(img, t)),
        (TypeError, lambda: ops.jpeg_simulate(torch.zeros(1, 8, 8, 3), 50)),
        (ValueError, lambda: ops.jpeg_simulate(torch.zeros(8, 8, 3, dtype=torch.uint8), 50)),
        (ValueError, lambda: ops.jpeg_simulate(torch.zeros(1, 8, 8, 4, dtype=torch.uint8), 50)),
        (ValueError, lambda: ops.jpeg_simulate(torch.zeros(1, 8, 8, 3, dtype=torch.uint8), 0)),
        (ValueError, lambda: ops.jpeg_simulate(torch.zeros(1, 8, 8, 3, dtype=torch.uint8), [])),
        (ValueError, lambda: ops.jpeg_simulate(torch.zeros(1, 8, 8, 3, dtype=torch.uint8), 50, "422")),
        (ValueError, lambda: ops.latent_quantize(torch.tensor([1.5]), "naive")),
        (ValueError, lambda: ops.latent_quantize(torch.tensor([0.5]), "kmeans")),
        (ValueError, lambda: ops.latent_quantize(torch.tensor([float("nan")]), "affine")),
        (TypeError, lambda: ops.latent_quantize(torch.tensor([1], dtype=torch.int32))),
        (ValueError, lambda: ops.latent_quantize(torch.zeros(2, 3), "affine", axis=2)),
        (ValueError, lambda: ops.latent_dequantize(torch.zeros(3, dtype=torch.uint8), {})),
        (TypeError, lambda: ops.latent_dequantize(torch.zeros(3), {"method": "naive"})),
        (ValueError, lambda: ops.kmeans_fit(torch.rand(10, 2), 0)),
        (ValueError, lambda: ops.kmeans_fit(torch.rand(300, 2), 257)),
        (ValueError, lambda: ops.kmeans_fit(torch.rand(10, 2), 11)),
        (ValueError, lambda: ops.kmeans_fit(torch.rand(2, 2, 2), 2)),
        (ValueError, lambda: ops.kmeans_fit(torch.tensor([[float("nan")], [1.0]]), 1)),
        (TypeError, lambda: ops.kmeans_fit(torch.rand(10, 2).double(), 2)),
        (TypeError, lambda: ops.kmeans_fit(torch.rand(10, 2), 2.5)),
        (ValueError, lambda: ops.kmeans_assign(torch.rand(10, 2), torch.rand(3, 3))),
        (ValueError, lambda: ops.kmeans_assign(torch.rand(10, 2), torch.rand(257, 2))),
    ]
    for exc, call in cases:
        with pytest.raises(exc, match=r"\w"):
            call()


@pytest.mark.skipif(not ops.cuda_available(), reason="no CUDA GPU / CUDA build")
def test_device_mix_raises():
    x = torch.zeros(1, 1, 8, 8, device="cuda")
    with pytest.raises(ValueError, match="device"):
        ops.quantize(x, ops.jpeg_quant_table(50))
    with pytest.raises(ValueError, match="device"):
        ops.kmeans_assign(torch.rand(4, 1, device="cuda"), torch.rand(2, 1))
