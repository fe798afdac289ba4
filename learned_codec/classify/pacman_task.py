"""Training, prediction and scores of the Pac-Man task models (classify --dataset pacman).

    frames, tasks = load_task_split(root, split)          # uint8 N x 200 x 160 x 3, tasks dict
    model, run = train_task_model(frames, tasks, arch="notebook-cnn", epochs=3)
    scores = task_scores(predict_tasks(model, run, frames), tasks)

Scores (all on held-out frames):
    situation_bacc     mean over the situation labels of their balanced accuracy
                       ((true-positive rate + true-negative rate) / 2; labels with a single
                       class in the evaluated frames are left out of the mean; 0.5 = chance)
    maze_acc           accuracy of the 4-way maze head
    position_err_px    mean Euclidean error in image pixels of the five sprites' positions,
                       over the frames where each is on screen; per sprite too
"""
import time

import numpy as np
import torch

from data_tools import frames as F
from data_tools.pacman.labels import SITUATIONS
from data_tools.pacman.tasks import SPRITES, load_tasks
from learned_codec.classify.pacman_model import PacmanTaskNet, situation_pos_weight, task_loss
from learned_codec.errors import UserError


def load_task_split(root, split):
    frames = F.load_split(root, split, mmap=True)
    tasks = load_tasks(root, split, frames)
    if frames.shape[1:] != (200, 160, 3):
        raise UserError(f"the Pac-Man task takes 200x160 frames; {root} holds {frames.shape[1:3]}")
    return frames, tasks


def _stats(frames):
    sample = np.asarray(frames[:: max(1, len(frames) // 512)], np.float32)
    return sample.mean(axis=(0, 1, 2)).tolist(), (sample.std(axis=(0, 1, 2)) + 1e-3).tolist()


def to_input(frames, mean, std):
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def _target(tasks, idx):
    return {"situations": torch.from_numpy(tasks["situations"][idx]),
            "maze": torch.from_numpy(tasks["maze"][idx]),
            "positions": torch.from_numpy(tasks["positions"][idx]),
            "on_screen": torch.from_numpy(tasks["on_screen"][idx])}


def train_task_model(frames, tasks, arch="notebook-cnn", epochs=3, batch_size=32, lr=1e-3, seed=0,
                     progress=True, max_steps=None):
    """Adam on the sum of the three heads' losses; returns (model in eval mode, run dict)."""
    from tqdm import tqdm

    if len(frames) == 0:
        raise UserError("no training frames")
    torch.manual_seed(seed)
    model = PacmanTaskNet(arch)
    mean, std = _stats(frames)
    pos_weight = situation_pos_weight(tasks["situations"])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    steps_per_epoch = -(-len(frames) // batch_size)
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 1), pct_start=0.15)
    history, step, t0 = [], 0, time.perf_counter()
    bar = tqdm(total=total, desc=f"train {arch}", unit="step", disable=not progress, leave=False)
    model.train()
    for epoch in range(epochs):
        order, losses = rng.permutation(len(frames)), []
        for i in range(0, len(order), batch_size):
            if step >= total:
                break
            idx = np.sort(order[i:i + batch_size])
            loss = task_loss(model(to_input(frames[idx], mean, std)), _target(tasks, idx), pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            bar.update()
        history.append({"epoch": epoch + 1, "steps": step, "train_loss": float(np.mean(losses or [np.nan])),
                        "elapsed_s": time.perf_counter() - t0})
    bar.close()
    model.eval()
    run = {"arch": arch, "mean": mean, "std": std, "epochs": epochs, "batch_size": batch_size, "lr": lr,
           "seed": seed, "steps": step, "train_frames": len(frames),
           "train_s": time.perf_counter() - t0, "history": history}
    return model, run


@torch.no_grad()
def predict_tasks(model, run, frames, batch_size=64):
    """uint8 frames -> numpy predictions: situations (probabilities), maze (class), positions (px)."""
    sit, maze, pos = [], [], []
    for i in range(0, len(frames), batch_size):
        out = model(to_input(frames[i:i + batch_size], run["mean"], run["std"]))
        sit.append(torch.sigmoid(out["situations"]).numpy())
        maze.append(out["maze"].argmax(1).numpy())
        pos.append((out["positions"] * torch.tensor([160.0, 200.0])).numpy())
    return {"situations": np.concatenate(sit), "maze": np.concatenate(maze),
            "positions": np.concatenate(pos)}


def task_scores(pred, tasks):
    """The scores of the module docstring, plus per-label and per-sprite breakdowns."""
    truth = tasks["situations"].astype(bool)
    guess = pred["situations"] >= 0.5
    per_label = {}
    for j, name in enumerate(SITUATIONS):
        pos, neg = truth[:, j], ~truth[:, j]
        if pos.any() and neg.any():
            per_label[name] = float(((guess[pos, j]).mean() + (~guess[neg, j]).mean()) / 2)
    err = np.linalg.norm(pred["positions"] - tasks["positions"], axis=-1)
    on = tasks["on_screen"].astype(bool)
    per_sprite = {name: float(err[on[:, k], k].mean()) if on[:, k].any() else None
                  for k, name in enumerate(SPRITES)}
    return {
        "situation_bacc": float(np.mean(list(per_label.values()))) if per_label else None,
        "maze_acc": float((pred["maze"] == tasks["maze"]).mean()),
        "position_err_px": float(err[on].mean()) if on.any() else None,
        "per_label_bacc": per_label,
        "per_sprite_err_px": per_sprite,
    }
