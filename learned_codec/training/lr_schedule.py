"""Learning-rate schedules for `train` (option `lr_schedule`).

    constant  lr at every step (the loop before issue 16)
    cosine    linear warm-up from 0 over `warmup_steps`, then half-cosine decay from
              `lr` to `lr * min_lr_ratio` at the last step (`total_steps`)

The lr is a pure function of the global step, so a resumed run sets the same lr as
an uninterrupted one (nothing extra in the checkpoint).
"""
import math

SCHEDULES = ("constant", "cosine")


def lr_at(step, total_steps, base_lr, schedule="constant", warmup_steps=0, min_lr_ratio=0.0):
    """lr for optimizer step `step` (0-based: the step about to be taken)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"lr schedule must be one of {SCHEDULES}, not {schedule!r}")
    if schedule == "constant":
        return base_lr
    warmup_steps = max(0, int(warmup_steps))
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    decay = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / decay)
    floor = base_lr * min_lr_ratio
    return floor + (base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


def set_lr(optimizer, lr, group=0):
    """Set the lr of one parameter group (group 0: the model; entropy models keep
    their aux group's fixed lr)."""
    optimizer.param_groups[group]["lr"] = lr
