"""Training the autoencoders: presets, data, losses, distributed set-up, the loop, run folders.

    presets.py      quick (CPU) and reference (GPU) presets; the run config
    data.py         the frame splits, per-epoch shuffles, batches
    losses.py       MSE, BCE + KL (vae), rate + lambda * distortion (entropy models)
    distributed.py  torchrun / DDP (gloo on CPU, NCCL on CUDA)
    validation.py   validation and test metrics, metrics.jsonl
    run_folder.py   the resumable last state (last.json, checkpoints/)
    loop.py         train(opts): the loop itself
"""
