"""learned-codec train: train an autoencoder codec (--arch fc, fc-deep, conv4, conv5, vae,
factorized, hyperprior)"""
import argparse
import json
import os

HELP = "train a codec model (--arch fc, fc-deep, conv4, conv5, vae, factorized, hyperprior, palette, palette-generic)"
DESCRIPTION = HELP + """

Writes RUN_DIR (default runs/ARCH-QUANT): config.json, model.safetensors (best by
validation PSNR), checkpoints/ + last.json (last state, for --resume), metrics.jsonl
(one line per epoch: train loss, val PSNR/SSIM, frames/s), test_metrics.json (best
weights on the whole test split, through the quantizer). Prints a JSON summary.

Presets: quick (<= 10 min on 2 CPU cores, random frame subsets, shared-block FC
models) and reference (the report's epochs: fc 60, fc-deep 30, conv4/conv5 320,
vae 220, per-position FC models; for a GPU). Default: quick on CPU, reference on CUDA.
--code-size: code entries per block (fc, fc-deep; 1000), per frame (vae; 2048), or
per 200x160 frame for conv4/conv5 (a multiple of 130 / 35; 16640 / 8960).
Frames: conv4/conv5 take any size (replicate-padded to a multiple of 16 / 32 and
cropped back); fc, fc-deep and vae need 200x160.
Entropy-coded archs (factorized, hyperprior): trained for rate + lambda * 255^2 * MSE
(--lmbda, default 0.025; larger = higher quality and rate), coded with rANS (quant
"entropy"); the best weights are those with the lowest validation rate-distortion loss.
One run per lambda gives one point of a rate-distortion curve.
The palette model (--arch palette, lossless, for emulator frames) is fitted by counting:
it inverts every training frame to its palette screen (~10 frames/s; --frames-per-epoch N
fits on an evenly spaced subset), learns backgrounds and context tables, and picks the
back-off threshold on validation frames; --resume reuses the screens already inverted.
Under `torchrun --nproc-per-node N` the same command trains with DDP (gloo on CPU,
NCCL on CUDA); --batch-size is then per process.
The generic palette model (--arch palette-generic, lossless, any game) is fitted on the
data sets of several games (--data DIR1,DIR2,..., made by `learned-codec data atari`):
the starting state of its adaptive coder, in seconds; it needs no fitting for a new game.

Examples:
  learned-codec train --arch conv5
  learned-codec train --arch fc --quant naive --preset quick --out runs/fc-naive
  learned-codec train --arch conv5 --out runs/conv5 --resume
  learned-codec train --arch hyperprior --lmbda 0.0483 --out runs/hyperprior-0.0483
  learned-codec train --arch palette --out runs/palette
  learned-codec train --arch palette-generic --data data/atari-breakout,data/atari-pong --out runs/generic
"""


def add_arguments(parser):
    parser.add_argument("--arch", required=True,
                        help="fc, fc-deep, conv4, conv5, vae, factorized, hyperprior, palette or "
                             "palette-generic")
    parser.add_argument("--data", default=None,
                        help="frame data set folder (default data/pacman; made if missing)")
    parser.add_argument("--code-size", type=int, default=None, help="code size (see above)")
    parser.add_argument("--quant", default="none", choices=["none", "naive", "affine", "entropy"],
                        help="latent quantization learned in training (straight-through); "
                             "factorized/hyperprior: always entropy")
    parser.add_argument("--lmbda", type=float, default=None,
                        help="factorized/hyperprior: rate-distortion trade-off lambda (default 0.025)")
    parser.add_argument("--blocks", default=None, choices=["per-position", "shared"],
                        help="fc/fc-deep: 16 per-position block models or one shared model")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs to train (default: the preset's; with --resume: a new total)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="frames per step (per process under torchrun; default: the preset's)")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    parser.add_argument("--frames-per-epoch", type=int, default=None,
                        help="train on a random subset of this many frames each epoch")
    parser.add_argument("--val-frames", type=int, default=None,
                        help="validate on this many evenly spaced validation frames")
    parser.add_argument("--ssim-frames", type=int, default=None,
                        help="compute SSIM on this many of the validation frames")
    parser.add_argument("--checkpoint-every", type=int, default=None,
                        help="write the resumable state every N epochs (default 1)")
    parser.add_argument("--preset", default=None, choices=["quick", "cpu-long", "reference"],
                        help="quick (CPU minutes; default on CPU), cpu-long (~2 h of one CPU core: crops, "
                             "warm-up + cosine), reference (the report's epochs; default on CUDA)")
    parser.add_argument("--lr-schedule", default=None, choices=["constant", "cosine"],
                        help="constant, or linear warm-up then cosine decay (cpu-long: cosine)")
    parser.add_argument("--warmup-steps", type=int, default=None, help="cosine: warm-up steps")
    parser.add_argument("--quant-grad", default=None, choices=["ste", "inward"],
                        help="backward of --quant naive's clamp to [0, 1]: ste passes every gradient "
                             "(default; the shipped models), inward blocks the ones that push an entry "
                             "outside further out (the code then stops drifting into saturation)")
    parser.add_argument("--min-lr-ratio", type=float, default=None, help="cosine: final lr / --lr")
    parser.add_argument("--crop", type=int, nargs=2, default=None, metavar=("H", "W"),
                        help="conv4/conv5: train on random HxW crops (first --crop-fraction of the epochs)")
    parser.add_argument("--crop-fraction", type=float, default=None,
                        help="share of the epochs trained on crops, the rest on whole frames (default 1)")
    parser.add_argument("--fast-batch", action=argparse.BooleanOptionalAction, default=None,
                        help="contiguous NCHW batches (faster on CPU; cpu-long: on)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", default=None, help="run folder (default runs/ARCH-QUANT)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--init-from", metavar="RUN_DIR|NAME",
                        help="start from the weights of this run or shipped model (same architecture "
                             "and shapes; e.g. fine-tune the shipped hyperprior at another --lmbda)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initialisation and the epochs' shuffles (default: 0)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="auto (default: CUDA when available), cpu or cuda")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                        help="bfloat16 autocast (CUDA only; default on)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile (CUDA: default on; CPU: only with --compile)")
    parser.add_argument("--test", action=argparse.BooleanOptionalAction, default=None,
                        help="at the end, evaluate the best weights on the whole test split "
                             "(RUN_DIR/test_metrics.json; default on)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    # Internal: stop after this many optimizer steps (checkpointed as after a kill); tests use it.
    parser.add_argument("--max-steps", type=int, default=None, help=argparse.SUPPRESS)


def check_args(args):
    """Range checks of the numeric options, before any data is loaded or epoch is spent."""
    from learned_codec.errors import UserError

    for name, lo in (("epochs", 1), ("batch_size", 1), ("frames_per_epoch", 1), ("val_frames", 1),
                     ("ssim_frames", 0), ("checkpoint_every", 1), ("code_size", 1), ("max_steps", 1)):
        v = getattr(args, name, None)
        if v is not None and v < lo:
            raise UserError(f"--{name.replace('_', '-')} must be >= {lo}, got {v}")
    for name in ("lr", "lmbda"):
        v = getattr(args, name, None)
        if v is not None and not v > 0:
            raise UserError(f"--{name} must be > 0, got {v}")


def run(args):
    check_args(args)
    opts = {k: v for k, v in vars(args).items() if not k.startswith("_") and k != "command"}
    if args.arch == "palette":  # fitted by counting, not by gradient steps
        from learned_codec.palette.fit import fit

        summary = fit(opts)
    elif args.arch == "palette-generic":  # the adaptive coder's starting state, over several games
        from learned_codec.palette.generic_fit import fit

        summary = fit(opts)
    else:
        from learned_codec.training.loop import train

        summary = train(opts)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 alone reports
        print(json.dumps(summary, indent=2, sort_keys=True))
    return 0
