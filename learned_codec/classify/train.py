"""Training and inference of the classifiers on in-memory tensors.

    train_classifier(model, train_x, train_y, val_x, val_y, *, epochs, ...) -> history
        train_x / val_x: float32 N x C x H x W (or N x B x C x H x W for the multi-quality
        model), already normalised by data.to_model_input; *_y: int64 N labels.
        history: one dict per epoch {"epoch", "lr", "train_loss", "train_acc", "val_loss",
        "val_acc", "train_time_s", "elapsed_s"}; train_time_s is the cumulative time spent in
        training steps (what time-to-accuracy counts), elapsed_s includes validation.
    predict(model, x, batch_size) -> int64 N predicted labels (CPU tensor)
    predict_logits(model, x, batch_size) -> float32 N x num_classes logits (CPU tensor)
    time_to_accuracy(history, target) -> seconds of training until val_acc >= target, or None

The loss is cross-entropy (the softmax of the reference's dense softmax head) plus the model's
Keras-style L2 term. Runs on the GPU when one is present (device=None picks it).
"""
import time

import numpy as np
import torch
import torch.nn.functional as F

from learned_codec.devices import resolve_device  # noqa: F401  (classify's callers import it here)
from learned_codec.errors import UserError

OPTIMIZERS = ("rmsprop", "adam", "sgd")


def make_optimizer(params, name, lr):
    """Keras-equivalent optimisers: RMSprop(rho=0.9, eps=1e-7), Adam, SGD(momentum 0.9, Nesterov)."""
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, eps=1e-7)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    raise UserError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def augment_batch(x, generator, shift=0.1, flip=True):
    """Random translation by up to `shift` of the size (edge pixels repeated, like Keras'
    fill_mode='nearest') and random horizontal flips, per image. x: N x C x H x W."""
    n, _, h, w = x.shape
    ph, pw = int(round(shift * h)), int(round(shift * w))
    padded = F.pad(x, (pw, pw, ph, ph), mode="replicate") if (ph or pw) else x
    dy = torch.randint(0, 2 * ph + 1, (n,), generator=generator).tolist()
    dx = torch.randint(0, 2 * pw + 1, (n,), generator=generator).tolist()
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        out[mask] = out[mask].flip(-1)
    return out


def _frozen_to_eval(model, trainable):
    """Stages outside `trainable` run in eval mode (BatchNorm statistics fixed, no dropout):
    a frozen block is a fixed feature extractor, as in transfer learning."""
    if trainable is None or not hasattr(model, "stages"):
        return
    keep = {id(m) for m in trainable}
    for stage in model.stages():
        if id(stage) not in keep:
            stage.eval()


@torch.no_grad()
def evaluate(model, x, y, batch_size=512, device=None):
    """{"loss", "accuracy"} of `model` (eval mode) on normalised inputs x and int64 labels y."""
    logits = predict_logits(model, x, batch_size, device)
    y = torch.as_tensor(y, dtype=torch.int64)
    return {"loss": float(F.cross_entropy(logits, y)), "accuracy": float((logits.argmax(1) == y).float().mean())}


@torch.no_grad()
def predict_logits(model, x, batch_size=512, device=None):
    """float32 N x num_classes logits, computed in eval mode in batches; returned on the CPU."""
    device = resolve_device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [model(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    if not out:
        return torch.zeros((0, model.head.out_features if hasattr(model.head, "out_features") else 0))
    return torch.cat(out)


def predict(model, x, batch_size=512, device=None):
    """int64 N predicted labels (CPU tensor)."""
    return predict_logits(model, x, batch_size, device).argmax(1).to(torch.int64)


def train_classifier(model, train_images, train_labels, val_images, val_labels, *, epochs, batch_size=64,
                     lr=1e-3, seed=0, optimizer="rmsprop", lr_decay=0.0, augment=False, trainable=None,
                     target_accuracy=None, stop_at_target=False, patience=None, restore_best=False,
                     device=None, progress=True, desc="train", eval_batch_size=512, on_epoch=None):
    """Train `model` in place; returns the per-epoch history (list of dicts).

    lr_decay: Keras' per-step decay, lr_t = lr / (1 + lr_decay * step) (the notebook: 1e-6).
    trainable: the stages (modules) to train; the others are frozen (requires_grad off, eval
        mode). None trains everything.
    target_accuracy: stop_at_target=True ends training at the first epoch whose validation
        accuracy reaches it (time-to-accuracy runs).
    patience: stop when the validation loss has not improved for `patience` epochs (a plateau).
    restore_best: load back the weights of the epoch with the lowest validation loss at the end.
    on_epoch: optional callback(row) after each epoch.
    """
    from tqdm import tqdm

    if epochs < 1:
        raise UserError(f"epochs must be at least 1, got {epochs}")
    if batch_size < 1:
        raise UserError(f"batch size must be at least 1, got {batch_size}")
    if len(train_images) == 0 or len(val_images) == 0:
        raise UserError("training and validation sets must not be empty")
    device = resolve_device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(device)
    if trainable is not None:
        keep = {id(p) for m in trainable for p in m.parameters()}
        for p in model.parameters():
            p.requires_grad_(id(p) in keep)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise UserError("nothing to train: every parameter is frozen")
    opt = make_optimizer(params, optimizer, lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1.0 + lr_decay * step))
    train_labels = torch.as_tensor(train_labels, dtype=torch.int64)
    val_labels = torch.as_tensor(val_labels, dtype=torch.int64)
    n = len(train_images)
    history, train_time, start = [], 0.0, time.perf_counter()
    best_loss, best_state, since_best = float("inf"), None, 0
    bar = tqdm(total=epochs * ((n + batch_size - 1) // batch_size), desc=desc, disable=not progress,
               leave=False, unit="step")
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        _frozen_to_eval(model, trainable)
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb, yb = train_images[idx], train_labels[idx]
            if augment:
                xb = _augment_any(xb, gen)
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            total = loss + model.l2_penalty().to(device) if hasattr(model, "l2_penalty") else loss
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            bar.update(1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_time += time.perf_counter() - t0
        val = evaluate(model, val_images, val_labels, eval_batch_size, device)
        row = {"epoch": epoch, "lr": opt.param_groups[0]["lr"], "train_loss": loss_sum / n,
               "train_acc": correct / n, "val_loss": val["loss"], "val_acc": val["accuracy"],
               "train_time_s": train_time, "elapsed_s": time.perf_counter() - start}
        history.append(row)
        bar.set_postfix(val_acc=f"{val['accuracy']:.3f}")
        if on_epoch is not None:
            on_epoch(row)
        if val["loss"] < best_loss - 1e-6:
            best_loss, since_best = val["loss"], 0
            if restore_best:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
        if stop_at_target and target_accuracy is not None and val["accuracy"] >= target_accuracy:
            break
        if patience is not None and since_best >= patience:
            break
    bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return history


def _augment_any(x, gen):
    """augment_batch for N x C x H x W, or N x B x C x H x W with one shift/flip per image
    shared by its B versions (they are views of the same picture)."""
    if x.dim() == 4:
        return augment_batch(x, gen)
    n, b = x.shape[:2]
    flat = x.permute(0, 2, 1, 3, 4).reshape(n, -1, *x.shape[-2:])  # N x (C*B) x H x W
    out = augment_batch(flat, gen)
    return out.reshape(n, x.shape[2], b, *x.shape[-2:]).permute(0, 2, 1, 3, 4).contiguous()


def time_to_accuracy(history, target):
    """Training seconds until the first epoch with val_acc >= target; None if never reached."""
    for row in history:
        if row["val_acc"] >= target:
            return row["train_time_s"]
    return None


def per_class_accuracy(labels, predictions, num_classes):
    """List of per-class accuracies (NaN for a class absent from `labels`)."""
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    out = []
    for c in range(num_classes):
        mask = labels == c
        out.append(float((predictions[mask] == c).mean()) if mask.any() else float("nan"))
    return out
