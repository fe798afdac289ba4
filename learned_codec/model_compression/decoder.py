"""Decoder-only compression of a codec run: what a user ships to the receiving side.

The encoder (and, for entropy-coded models, the entropy models and hyper-networks)
stays float32 and unchanged, so a frame's code and its bytes are the same before and
after; only the synthesis transform is pruned / stored in float16 / int8:

    conv4, conv5        decoder
    vae                 from_code, decoder
    fc, fc-deep         blocks.*.decoder
    factorized,         g_s   (the hyperprior's h_s also runs at the decoder, but the
    hyperprior                 encoder computes the same table indexes from it: it is left
                               float32 so that the rANS streams stay decodable)

Pruning fine-tunes the decoder on the very inputs it will see: the encoder's codes of
training frames after the codec's own quantizer round trip (naive/affine/kmeans/none) or,
for entropy models, the rounded latent the rANS decoder reconstructs. The rest of the
model is frozen; the decoder trains in eval mode (fixed BatchNorm statistics, no noise
from batches of 8), and its BatchNorm statistics are re-estimated on the fine-tuning
frames after each pruning step and after the last fine-tuning (recalibrate_batchnorm).
"""
import time

import numpy as np
import torch
import torch.nn.functional as F

DECODER_MODULE_NAMES = ("decoder", "g_s", "from_code")


def decoder_prefixes(model):
    """Qualified names of the decoder-side submodules of a codec model (see module doc)."""
    names = [name for name, _ in model.named_modules()
             if name and name.split(".")[-1] in DECODER_MODULE_NAMES]
    if not names:
        raise ValueError(f"{type(model).__name__} has no decoder submodule ({', '.join(DECODER_MODULE_NAMES)})")
    return names


def decoder_parameters(model, prefixes):
    from learned_codec.model_compression.prune import in_prefixes

    return [p for name, p in model.named_parameters() if in_prefixes(name.rsplit(".", 1)[0], prefixes)]


@torch.no_grad()
def decoder_inputs(codec, frames):
    """The decoder's input for uint8 N x H x W x 3 frames, as the decoding side sees it.

    Returns float32 N x *code_shape (CPU)."""
    model = codec.model
    if codec.quant == "entropy":
        out = []
        for i in range(0, len(frames), 16):
            x = torch.from_numpy(frames[i:i + 16]).permute(0, 3, 1, 2).float().div_(255.0)
            y = model.encode(x.to(codec.device))
            if hasattr(model, "gaussian_conditional"):  # hyperprior: rANS symbols = round(y)
                y_hat = model.gaussian_conditional.quantize(y, "dequantize")
            else:  # factorized: round(y - median) + median
                eb = model.entropy_bottleneck
                y_hat = eb.quantize(y, "dequantize", eb._get_medians())
            out.append(y_hat.float().cpu())
        return torch.cat(out)
    codes = codec.encode_codes(frames)
    payloads, file_params = codec.quantizer.encode(codes)
    return codec.quantizer.decode(payloads, file_params, tuple(codes.shape[1:])).float()


def finetune_decoder(model, prefixes, inputs, targets, batches, batch_size=8, lr=1e-4, seed=0,
                     device="cpu"):
    """`batches` Adam steps of MSE on the decoder only; returns the mean loss of the last 10.

    inputs: float decoder inputs N x ...; targets: uint8 N x H x W x 3 frames."""
    if batches <= 0:
        return None
    params = decoder_parameters(model, prefixes)
    frozen = [p for p in model.parameters() if all(p is not q for q in params)]
    flags = [p.requires_grad for p in frozen]
    for p in frozen:
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(params, lr=lr)
    generator = np.random.default_rng(seed)
    h, w = targets.shape[1:3]
    model.eval()  # BatchNorm statistics stay those of the trained model
    losses = []
    try:
        for _ in range(batches):
            idx = generator.choice(len(inputs), size=min(batch_size, len(inputs)), replace=False)
            code = inputs[idx].to(device)
            x = torch.from_numpy(targets[idx]).to(device).permute(0, 3, 1, 2).float().div_(255.0)
            x_hat = model.decode(code)[..., :h, :w]
            loss = F.mse_loss(x_hat, x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    finally:
        for p, flag in zip(frozen, flags):
            p.requires_grad_(flag)
    return float(np.mean(losses[-10:]))


@torch.no_grad()
def recalibrate_batchnorm(model, prefixes, inputs, batch_size=16):
    """Re-estimate the running statistics of the decoder's BatchNorm layers on `inputs`.

    Pruning changes every activation after a pruned conv, so the statistics the model
    trained with no longer hold (a conv5 decoder at 50 % sparsity loses ~3 dB from that
    alone). Reset, then one pass over the inputs with a cumulative average
    (momentum=None), as torch.optim.swa_utils.update_bn does. Returns the number of
    BatchNorm layers updated (0 for GDN models)."""
    from learned_codec.model_compression.prune import in_prefixes

    bns = [m for name, m in model.named_modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and in_prefixes(name, prefixes)]
    if not bns or not len(inputs):
        return 0
    momenta = [m.momentum for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    try:
        for i in range(0, len(inputs), batch_size):
            model.decode(inputs[i:i + batch_size])
    finally:
        for m, momentum in zip(bns, momenta):
            m.momentum = momentum
            m.eval()
    return len(bns)


@torch.no_grad()
def decoder_latency(model, inputs, batch_size=16, repeats=10, warmup=2):
    """Median seconds to decode one batch of `batch_size` codes (and per frame).

    Returns {"batch", "threads", "repeats", "median_s_per_batch", "ms_per_frame"}."""
    code = inputs[:batch_size]
    model.eval()
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        model.decode(code)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    median = float(np.median(times))
    return {"batch": int(len(code)), "threads": torch.get_num_threads(), "repeats": repeats,
            "median_s_per_batch": median, "ms_per_frame": 1000 * median / len(code)}


__all__ = ["recalibrate_batchnorm", "decoder_prefixes", "decoder_inputs", "finetune_decoder", "decoder_latency",
           "decoder_parameters"]
