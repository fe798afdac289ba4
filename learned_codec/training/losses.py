"""Training losses: MSE, the VAE's BCE + KL, rate + lambda * distortion (entropy models)."""
import math

import torch
import torch.nn.functional as F


def rate_bpp(likelihoods, n_pixels):
    """Bits per pixel of a batch from an entropy model's likelihoods (sum over all terms)."""
    return sum(torch.log(l.float()).sum() for l in likelihoods.values()) / (-math.log(2) * n_pixels)


def compute_loss(kind, out, x, lmbda=None):
    x_hat = out["x_hat"].float()
    if kind == "rate-distortion":
        n_pixels = x.shape[0] * x.shape[2] * x.shape[3]
        return rate_bpp(out["likelihoods"], n_pixels) + lmbda * 255 ** 2 * F.mse_loss(x_hat, x)
    if kind == "vae-bce-kl":
        bce = F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="sum") / x.shape[0]
        mu, logvar = out["mu"].float(), out["logvar"].float()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(dim=1).mean()
        return bce + kl
    return F.mse_loss(x_hat, x)
