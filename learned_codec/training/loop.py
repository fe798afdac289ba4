"""Training loop for the autoencoder zoo: presets, validation, checkpoints, resume, DDP.

One function, `train(options)`, used by `learned-codec train` (commands/train.py).

Presets (per arch; explicit --epochs/--batch-size/--lr override them):
  quick      <= 10 minutes on 2 CPU cores: a few epochs over a random subset of the
             training frames (a new subset each epoch), validation on an evenly spaced
             subset of the validation split. fc and fc-deep use the shared-block model
             (one block model for the 16 positions; per-position fc-deep is 830 M
             parameters, far beyond a 10-minute CPU budget). See QUICK below.
  reference  the report's epochs (fc 60, fc-deep 30, conv4/conv5 320, vae 220) over
             the whole training split, batch 64, Adam lr 1e-3, per-position FC
             models; for a GPU. Validation on the whole validation split.
Without --preset: quick on CPU, reference on CUDA.

Initialisation: fc and fc-deep centre their inputs on the mean training frame
and start their decoders' output bias there (BlockwiseFC.init_from_mean; the mean
of up to 1,024 evenly spaced training frames), which keeps the ReLU codes alive;
conv4/conv5 start their sigmoid output at the mean colour (init_from_mean). Losses: MSE on [0, 1] pixels; vae: binary cross-entropy summed over the pixels of
an image + KL divergence averaged over the code dimensions (the reference's two
terms), per image, averaged over the batch (the reference summed BCE over the
batch, which ties the balance of the two terms to the batch size).

Entropy-coded archs (factorized, hyperprior; models/entropy.py): loss = rate +
lambda * 255^2 * MSE (CompressAI's convention), rate = bits per pixel from the
model's likelihoods (additive-noise proxy), lambda = the model config's `lmbda`
(--lmbda). Their EntropyBottleneck's quantile (aux) loss trains only its
`quantiles`, in a second parameter group of the same Adam optimizer (lr 1e-3):
one optimizer keeps the checkpoint format and resume unchanged, and the two
losses touch disjoint parameters, so this equals CompressAI's two optimizers.
Main gradients are clipped to norm 1 (CompressAI's example). Their best weights
are the epoch with the lowest validation rate-distortion loss (estimated bpp +
lambda * 255^2 * MSE of the uint8 reconstruction), not the highest PSNR; the CDF
tables are computed (model.update) before every save, so saved weights can code.

Validation each epoch: PSNR over RGB with peak 255 on uint8 frames, the mean of
per-frame values (a frame reconstructed exactly counts as 100 dB), over
`val_frames` frames; SSIM (skimage, channel_axis=-1, data_range=255) over the
first `ssim_frames` of them (SSIM costs ~10 ms a frame on a CPU). The
reconstruction goes through the training quantizer, i.e. it is what a stored
uint8 code decodes to.

Determinism: on CPU with a fixed seed (and the same thread count) two runs give
identical weights, and a run killed and resumed gives the same weights as an
uninterrupted one: the epoch's sample order comes from seed + epoch, the
checkpoint holds the position inside the epoch, the optimizer state and the torch
RNG state (the VAE's noise). Checkpoints are written at the end of each epoch
(every `checkpoint_every` epochs: 5 for the reference fc-deep, whose state is
~10 GB), on --max-steps, and on SIGINT/SIGTERM (at the next step boundary, then
exit 130). metrics.jsonl keeps only the epochs up to the resumed checkpoint.

Multi-process: under torchrun (WORLD_SIZE > 1) the same command trains with
DistributedDataParallel, gloo on CPU and NCCL on CUDA; --batch-size is per
process; rank 0 alone validates and writes. Mixed precision (bfloat16 autocast)
and torch.compile are used on CUDA only.
"""
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch

from learned_codec.devices import resolve_device
from learned_codec.errors import UserError
from learned_codec.fileio import check_writable_dir
from learned_codec.models import build_model, count_parameters
from learned_codec.models import checkpoint as ckpt
from learned_codec.models.registry import get_arch
from learned_codec.quant.training import make_train_quantizer
from learned_codec.training import lr_schedule, run_folder, speed
from learned_codec.training.data import (
    batch_tensor,
    epoch_indices,
    load_data,
    mean_image,
    val_subset,
)
from learned_codec.training.distributed import Dist
from learned_codec.training.losses import compute_loss
from learned_codec.training.presets import (
    AUX_LR,
    check_train_options,
    code_entries,
    is_entropy_arch,
    new_run_config,
)
from learned_codec.training.validation import (
    autocast,
    evaluate_test_split,
    read_metrics,
    validate,
    write_metrics,
)


class StopFlag:
    """SIGINT/SIGTERM set a flag; the loop saves at the next step boundary and stops."""

    def __init__(self):
        self.raised = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        self.raised = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def train(opts):
    """Train per `opts` (dict of the CLI options); returns a JSON-able summary."""
    run = Run(opts)  # validates the run folder before any heavy work, so nothing is lost
    dist = Dist(run.device_kind)
    try:
        run.prepare(dist)
        stopped = run.epochs()
        run.finish(stopped)
        if stopped == "signal":
            raise KeyboardInterrupt
        return run.summary()
    finally:
        dist.close()


class Run:
    """One training run: its folder, model, optimizer and position (`state`, what resume restores)."""

    def __init__(self, opts):
        self.opts = opts
        self.device_kind = resolve_device(opts.get("device")).type
        get_arch(opts["arch"])
        self.entropy = is_entropy_arch(opts["arch"])
        default_quant = "entropy" if self.entropy else opts.get("quant") or "none"
        self.run_dir = Path(opts.get("out") or f"runs/{opts['arch']}-{default_quant}")
        self.resume = bool(opts.get("resume"))
        self.config = self.last = None
        run_dir = self.run_dir
        main = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 alone cleans the folder
        if run_dir.is_dir() and main:
            run_folder.remove_stale_tmp(run_dir)  # left by a killed run
        if self.resume and run_folder.stopped_before_first_checkpoint(run_dir):
            if main:
                run_folder.restart(run_dir)  # nothing to resume: start again (said on stderr)
            self.resume = False
        if self.resume:
            if not run_folder.has_last(run_dir):
                raise UserError(f"--resume: {run_dir} has no checkpoint to resume (no {run_folder.LAST_POINTER})")
            self.config = ckpt.load_config(run_dir)
            if self.config.get("arch") != opts["arch"]:
                raise UserError(f"--resume: {run_dir} holds a {self.config.get('arch')} run, not {opts['arch']}")
            self.last = run_folder.load_last(run_dir)  # corrupt -> UserError, before anything is written
            if opts.get("epochs") is not None:
                self.config["train"]["epochs"] = int(opts["epochs"])
            check_train_options(self.config.get("train"), f"{run_dir}/config.json")
        elif run_folder.has_last(run_dir) or (run_dir / ckpt.BEST_NAME).exists():
            if run_folder.stopped_before_first_checkpoint(run_dir):
                raise UserError(f"{run_dir} holds a run stopped before its first checkpoint (weights, no "
                                f"{run_folder.LAST_POINTER}): pass --resume to start it again, or choose another --out")
            # (A config.json alone, from a run that died before its first checkpoint, holds
            # nothing to lose and is overwritten.)
            raise UserError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --out")

    # ---- set-up ---------------------------------------------------------------------

    def prepare(self, dist):
        opts, run_dir = self.opts, self.run_dir
        self.dist = dist
        if dist.main:
            check_writable_dir(run_dir)
        self.device = torch.device(f"cuda:{dist.local_rank}" if self.device_kind == "cuda" else "cpu")
        data_dir = opts.get("data") or (self.config["data"]["dir"] if self.resume else None)
        self.data_dir, self.train_frames, self.val_frames = load_data(
            data_dir, allow_make=not dist.enabled, main=dist.main)
        frame_size = tuple(self.train_frames.shape[1:3])
        if not self.resume:
            self.config = new_run_config(opts, frame_size, self.data_dir, len(self.train_frames),
                                         len(self.val_frames), self.device_kind)
        elif list(frame_size) != self.config["data"]["frame_size"]:
            raise UserError(f"--resume: the frames in {self.data_dir} are now {frame_size}, the run used "
                            f"{tuple(self.config['data']['frame_size'])}")
        self.tc = self.config["train"]
        torch.manual_seed(self.tc["seed"])
        self.model = self._build_model(frame_size)
        self.optimizer = make_optimizer(self.model, self.tc["lr"], self.entropy)
        self.state = {"epoch": 0, "batch": 0, "step": 0, "best_psnr": None, "best_epoch": None,
                      "seconds": 0.0, "epoch_loss_sum": 0.0, "epoch_loss_n": 0, "best_rd_loss": None}
        self.metrics = []
        if self.resume:
            self.model.load_state_dict(self.last["model"])
            self.optimizer.load_state_dict(self.last["optimizer"])
            run_folder.set_rng_state(self.last["rng"])
            self.state.update({k: self.last["state"][k] for k in self.state if k in self.last["state"]})
            self.metrics = [m for m in read_metrics(run_dir) if m.get("epoch", 0) <= self.state["epoch"]]
        elif dist.main:
            ckpt.save_config(run_dir, self.config)
        self.amp = self.device.type == "cuda" and opts.get("amp") is not False
        speed.set_threads(opts.get("threads"))
        self.train_model = self.model
        if self.device.type == "cuda" and opts.get("compile") is not False:
            self.train_model.compile()  # in place: state_dict keys stay the same
        elif self.device.type == "cpu" and opts.get("compile"):  # CPU: only when asked (training/speed.py)
            self.train_model = speed.maybe_compile(self.model, True)
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.train_model = DistributedDataParallel(
                self.model, device_ids=[dist.local_rank] if self.device.type == "cuda" else None)
        self.model.train()

    def _build_model(self, frame_size):
        config = self.config
        model = build_model(config["model"])
        if getattr(model, "fixed_frame_size", False) and frame_size != model.frame_size:
            h, w = model.frame_size
            raise UserError(
                f"{config['arch']} needs {h}x{w} frames, the data in {self.data_dir} has "
                f"{frame_size[0]}x{frame_size[1]}; use conv4/conv5 (they pad any size) or resize the frames"
            )
        entries = code_entries(model, frame_size)
        config["code"] = {"entries_per_frame": entries,
                          "reference_ratio_float32": entries * 4 / (3 * frame_size[0] * frame_size[1]),
                          "parameters": count_parameters(model)}
        if not self.resume and self.opts.get("init_from"):
            config["train"]["init_from"] = ckpt.init_from_run(model, self.opts["init_from"], config["arch"])
        elif not self.resume and hasattr(model, "init_from_mean"):
            model.init_from_mean(mean_image(self.train_frames))
        if not self.entropy:  # entropy models quantize inside (their entropy model)
            model.code_quantizer = make_train_quantizer(config["quant"], config["train"].get("quant_grad", "ste"))
        return model.to(self.device)

    # ---- the loop -------------------------------------------------------------------

    def epochs(self):
        """Run the remaining epochs; -> None, "max_steps" or "signal" (stopped early)."""
        from tqdm import tqdm

        tc, state, dist = self.tc, self.state, self.dist
        per_epoch = len(epoch_indices(len(self.train_frames), 0, tc["seed"], dist, tc["frames_per_epoch"]))
        total_steps = tc["epochs"] * math.ceil(per_epoch / tc["batch_size"])
        self.val_idx = val_subset(len(self.val_frames), tc["val_frames"])
        self.ssim_count = min(len(self.val_idx), tc["ssim_frames"] or len(self.val_idx))
        self.total_steps = total_steps
        self.bar = tqdm(total=total_steps, initial=state["step"], disable=not dist.main or self.opts.get("quiet"),
                        unit="step", dynamic_ncols=True, desc=f"{self.config['arch']}")
        self.t_start = time.time() - state["seconds"]
        stopped = None
        with StopFlag() as stop:
            for epoch in range(state["epoch"], tc["epochs"]):
                stopped, frames_done, t_epoch = self._epoch(epoch, stop)
                if stopped:
                    break
                self._end_of_epoch(epoch, frames_done, t_epoch)
        self.bar.close()
        return stopped

    def _epoch(self, epoch, stop):
        tc, state, dist, model = self.tc, self.state, self.dist, self.model
        bs, max_steps = tc["batch_size"], self.opts.get("max_steps")
        indices = epoch_indices(len(self.train_frames), epoch, tc["seed"], dist, tc["frames_per_epoch"])
        batches = [indices[i:i + bs] for i in range(0, len(indices), bs)]
        # (a resumed epoch carries on the loss average of its first part)
        loss_sum, loss_n = state["epoch_loss_sum"], state["epoch_loss_n"]
        t_epoch, frames_done = time.time(), 0
        self.crop = tc.get("crop") if speed.use_crop(epoch, tc["epochs"], tc.get("crop"),
                                                     tc.get("crop_fraction", 1.0)) else None
        for b in range(state["batch"], len(batches)):
            lr_schedule.set_lr(self.optimizer, lr_schedule.lr_at(
                state["step"], self.total_steps, tc["lr"], tc.get("lr_schedule", "constant"),
                tc.get("warmup_steps", 0), tc.get("min_lr_ratio", 0.0)))
            if tc.get("fast_batch") or self.crop:
                x = speed.batch_tensor_fast(self.train_frames, batches[b], self.device, self.crop,
                                            speed.crop_rng(tc["seed"], epoch, b))
            else:
                x = batch_tensor(self.train_frames, batches[b], self.device)
            with autocast(self.device, self.amp):
                out = self.train_model(x)
            loss = compute_loss(tc["loss"], out, x, getattr(model, "lmbda", None))
            self.optimizer.zero_grad(set_to_none=True)
            if self.entropy:
                (loss + model.aux_loss()).backward()
                torch.nn.utils.clip_grad_norm_(self.optimizer.param_groups[0]["params"], 1.0)
            else:
                loss.backward()
            self.optimizer.step()
            state["batch"], state["step"] = b + 1, state["step"] + 1
            loss_sum += float(loss.detach())
            loss_n += 1
            state["epoch_loss_sum"], state["epoch_loss_n"] = loss_sum, loss_n
            frames_done += len(batches[b]) * dist.world
            fps = frames_done / max(time.time() - t_epoch, 1e-9)
            self.bar.set_postfix(epoch=f"{epoch + 1}/{tc['epochs']}", loss=f"{loss_sum / loss_n:.5f}",
                                 fps=f"{fps:.1f}")
            self.bar.update(1)
            hit_max = max_steps is not None and state["step"] >= max_steps
            if dist.any_true(stop.raised or hit_max, self.device):
                return ("max_steps" if hit_max else "signal"), frames_done, t_epoch
        return None, frames_done, t_epoch

    def _end_of_epoch(self, epoch, frames_done, t_epoch):
        """Validate, keep the best weights, write metrics.jsonl and the resumable state."""
        tc, state, model, run_dir = self.tc, self.state, self.model, self.run_dir
        loss_sum, loss_n = state["epoch_loss_sum"], state["epoch_loss_n"]
        state["epoch"], state["batch"] = epoch + 1, 0
        state["epoch_loss_sum"], state["epoch_loss_n"] = 0.0, 0
        state["seconds"] = time.time() - self.t_start
        if self.entropy:  # CDF tables into the buffers that get saved (every rank: DDP syncs buffers)
            model.update(force=True)
        if self.dist.main:
            row = {"epoch": epoch + 1, "step": state["step"], "train_loss": loss_sum / max(loss_n, 1),
                   "frames_per_s": frames_done / max(time.time() - t_epoch, 1e-9),
                   "seconds": round(state["seconds"], 2),
                   "frames_seen": state["step"] * tc["batch_size"] * self.dist.world,
                   "lr": self.optimizer.param_groups[0]["lr"], "crop": self.crop}
            row.update(validate(model, self.val_frames, self.val_idx, self.ssim_count, self.device,
                                2 * tc["batch_size"], self.amp))
            self.metrics.append(row)
            self.bar.write(f"epoch {epoch + 1}/{tc['epochs']}: loss {row['train_loss']:.5f}  "
                           f"val PSNR {row['val_psnr']:.2f} dB  SSIM {row['val_ssim']:.4f}", file=sys.stderr)
            if is_better(row, state, self.entropy):
                state["best_psnr"], state["best_epoch"] = row["val_psnr"], epoch + 1
                state["best_rd_loss"] = row.get("val_rd_loss")
                ckpt.save_best(run_dir, model.state_dict(), self.config["model"],
                               {k: row[k] for k in ("epoch", "step", "val_psnr", "val_ssim")})
            write_metrics(run_dir, self.metrics)
            if (epoch + 1) % tc.get("checkpoint_every", 1) == 0 or epoch + 1 == tc["epochs"]:
                run_folder.save_last(run_dir, state["step"], model.state_dict(), self.optimizer.state_dict(), state)
        self.dist.barrier()

    # ---- the end --------------------------------------------------------------------

    def finish(self, stopped):
        state, model, run_dir = self.state, self.model, self.run_dir
        state["seconds"] = time.time() - self.t_start
        if stopped and self.entropy:
            model.update(force=True)
        if stopped and self.dist.main:
            run_folder.save_last(run_dir, state["step"], model.state_dict(), self.optimizer.state_dict(), state)
            if not (run_dir / ckpt.BEST_NAME).exists():
                # No epoch finished yet: still leave a loadable model behind.
                ckpt.save_best(run_dir, model.state_dict(), self.config["model"],
                               {"epoch": state["epoch"], "step": state["step"], "partial": True})
        self.dist.barrier()

    def summary(self):
        config, tc, state, metrics, run_dir = self.config, self.tc, self.state, self.metrics, self.run_dir
        summary = {
            "run_dir": str(run_dir),
            "arch": config["arch"],
            "quant": config["quant"],
            "preset": tc["preset"],
            "device": self.device.type,
            "world_size": self.dist.world,
            "epochs": state["epoch"],
            "steps": state["step"],
            "complete": state["epoch"] >= tc["epochs"],
            "seconds": round(state["seconds"], 2),
            "parameters": config["code"]["parameters"],
            "code_entries_per_frame": config["code"]["entries_per_frame"],
            "best": {"epoch": state["best_epoch"], "val_psnr": state["best_psnr"],
                     "val_ssim": next((m["val_ssim"] for m in metrics if m["epoch"] == state["best_epoch"]), None)},
            "last": metrics[-1] if metrics else None,
        }
        if self.dist.main and (run_dir / ckpt.BEST_NAME).exists():
            summary["weights_sha256"] = ckpt.load_tensors(run_dir / ckpt.BEST_NAME)[1]["weights_sha256"]
            if summary["complete"] and self.opts.get("test") is not False:
                summary["test"] = evaluate_test_split(run_dir, self.data_dir, config, self.device,
                                                      tc["batch_size"], self.amp)
        return summary


def make_optimizer(model, lr, entropy):
    """Adam; entropy models get a second group for their quantile (aux) parameters."""
    if not entropy:
        return torch.optim.Adam(model.parameters(), lr=lr)
    aux = {id(p) for p in model.aux_parameters()}
    main = [p for p in model.parameters() if id(p) not in aux]
    return torch.optim.Adam([{"params": main, "lr": lr},
                             {"params": model.aux_parameters(), "lr": AUX_LR}])


def is_better(row, state, entropy):
    """Best epoch: lowest validation rate-distortion loss (entropy models), else highest PSNR."""
    if state["best_epoch"] is None:
        return True
    if entropy:
        return state.get("best_rd_loss") is None or row["val_rd_loss"] < state["best_rd_loss"]
    return row["val_psnr"] > state["best_psnr"]
