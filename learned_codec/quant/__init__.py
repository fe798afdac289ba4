"""From a float latent to integers and bytes, and back.

    latent.py     latent quantizers (none, naive, affine, kmeans) for stored codes
    training.py   their differentiable stand-ins during training (straight-through / noise)
    entropy.py    quant "entropy": a latent codec over an entropy-coded model (rANS)
    packing.py    lossless packing of integer symbols (raw / zlib / LZMA, shortest wins)
"""
