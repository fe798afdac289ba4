"""Block-by-block training (the thesis' transfer-learning schedule), with cached bottlenecks.

Stage 0 trains the head alone at `head_lr` with every conv block frozen; stage s unfreezes
one more block from the tail and divides the learning rate by 10 again; each stage stops
on a validation-loss plateau (`patience` epochs without improvement, at most `stage_epochs`)
and keeps its best epoch. Frozen blocks run in eval mode, so their output for an image never
changes during a stage: it is computed once (the thesis' "bottleneck") and only the tail is
run per step. That makes the 11-branch multi-quality model affordable on a CPU.

Works for NotebookCNN (input N x C x H x W) and MultiQualityClassifier (N x B x C x H x W).
"""
import torch
from torch import nn

from learned_codec.classify.train import train_classifier


class Tail(nn.Module):
    """blocks[first:] and the head of `model` (the same modules, not copies)."""

    def __init__(self, model, first):
        super().__init__()
        self.blocks = nn.ModuleList(list(model.blocks)[first:])
        self.head = model.head
        self.l2 = getattr(model, "l2", 0.0)

    def forward(self, h):
        multi = h.dim() == 5
        if multi:
            n, b = h.shape[:2]
            h = h.reshape(n * b, *h.shape[2:])
        for block in self.blocks:
            h = block(h)
        h = torch.flatten(h, 1)
        return self.head(h.reshape(n, -1) if multi else h)

    def l2_penalty(self):
        convs = [m.weight for m in self.blocks.modules() if isinstance(m, nn.Conv2d)]
        if not self.l2 or not convs:
            return torch.zeros(())
        return self.l2 * sum((w ** 2).sum() for w in convs)


@torch.no_grad()
def bottleneck(model, x, first, batch_size=256, device="cpu"):
    """Output of model.blocks[:first] (eval mode) for x (N x C x H x W or N x B x C x H x W), on CPU."""
    blocks = list(model.blocks)[:first]
    if not blocks:
        return x
    for b in blocks:
        b.eval()
    lead = x.shape[:-3]
    flat = x.reshape(-1, *x.shape[-3:])
    out = []
    for i in range(0, len(flat), batch_size):
        h = flat[i:i + batch_size].to(device)
        for b in blocks:
            h = b(h)
        out.append(h.cpu())
    out = torch.cat(out)
    return out.reshape(*lead, *out.shape[1:])


def train_block_by_block(model, train_x, train_y, val_x, val_y, *, stages=4, head_lr=0.01, stage_epochs=5,
                         patience=1, batch_size=100, optimizer="sgd", seed=0, device="cpu", progress=True,
                         desc="blockwise"):
    """Train `model` in place, stage by stage; returns a list of per-stage dicts with histories."""
    n_blocks = len(model.blocks)
    stages = min(stages, n_blocks + 1)
    model.to(device)
    log, lr = [], head_lr
    for s in range(stages):
        first = n_blocks - s
        tail = Tail(model, first)
        ctrain = bottleneck(model, train_x, first, device=device)
        cval = bottleneck(model, val_x, first, device=device)
        history = train_classifier(tail, ctrain, train_y, cval, val_y, epochs=stage_epochs, batch_size=batch_size,
                                   lr=lr, optimizer=optimizer, seed=seed + 1000 * s, patience=patience,
                                   restore_best=True, device=device, progress=progress,
                                   desc=f"{desc} stage {s} (lr {lr:g})")
        best = min(history, key=lambda r: r["val_loss"])
        log.append({"stage": s, "trainable": ["head"] + [f"block{b + 1}" for b in range(first, n_blocks)][::-1],
                    "lr": lr, "epochs_run": len(history), "best_epoch": best["epoch"],
                    "best_val_loss": best["val_loss"], "best_val_acc": best["val_acc"],
                    "train_time_s": history[-1]["train_time_s"], "history": history})
        lr /= 10.0
    model.eval()
    return log
