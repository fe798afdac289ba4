"""Models of the Pac-Man downstream task: one backbone, three heads.

    situations   12 logits (multi-label, sigmoid; data_tools.pacman.SITUATIONS), the rare
                 labels' positives weighted up by their training frequency (pos_weight)
    maze          4 logits (softmax)
    positions    (x, y) of Ms. Pac-Man and the four ghosts, in units of the image size
                 (x / 160, y / 200), trained only where the sprite is on screen: a heat map
                 per sprite on the backbone's 50 x 40 feature grid (trained as a 2,000-way
                 classification of the cell holding the sprite) and its soft-argmax (the
                 expected cell centre). A dense head regressing coordinates from flattened
                 features, and the soft-argmax trained on squared error alone, both stayed
                 near the mean position (56-59 px error) after 190 steps.

Backbones (input float N x 3 x 200 x 160, z-scored with the training frames' stats):

    notebook-cnn   the CIFAR-10 notebook's CNN adapted to 200 x 160: its [Conv3x3 -> ELU ->
                   BatchNorm] x 2 -> MaxPool 2 -> Dropout blocks, four of them at 16, 32, 64, 64
                   channels (the notebook's 32/64/128 at 200 x 160 cost ~4x the CPU time; the
                   fourth block brings the features to 12 x 10 before the dense head)
    small-resnet   a stronger small backbone: a stride-1 stem (small sprites and pellets are
                   2-4 px), three stages of two residual blocks (24, 48, 96 channels, each
                   stage halving), two coordinate channels (x, y in [-1, 1]) at the input so
                   that position regression need not be learned from padding; GAP-free
                   (flattened 13 x 10 features), since where a sprite is is the task.
"""
import torch
from torch import nn
from torch.nn import functional as fn

from learned_codec.classify.model import ConvBlock, _keras_init
from learned_codec.errors import UserError

SITUATION_COUNT, MAZE_CLASSES, SPRITE_COUNT = 12, 4, 5
FRAME_H, FRAME_W = 200, 160
PACMAN_ARCHS = ("notebook-cnn", "small-resnet")


class NotebookBackbone(nn.Module):
    def __init__(self, widths=(16, 32, 64, 64), dropouts=(0.2, 0.3, 0.4, 0.4)):
        super().__init__()
        blocks, c = [], 3
        for w, d in zip(widths, dropouts):
            blocks.append(ConvBlock(c, w, d, "elu", True, 0.1))
            c = w
        self.blocks = nn.ModuleList(blocks)
        h, w = FRAME_H, FRAME_W
        for _ in widths:
            h, w = h // 2, w // 2
        self.feature_dim = c * h * w
        self.grid_channels = widths[1]

    def forward(self, x):
        """-> (flattened features, the 50 x 40 feature grid after the second block)"""
        grid = None
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i == 1:
                grid = x
        return torch.flatten(x, 1), grid


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        y = fn.relu(self.bn1(self.conv1(x)))
        return fn.relu(self.bn2(self.conv2(y)) + self.skip(x))


class SmallResNet(nn.Module):
    def __init__(self, widths=(24, 48, 96)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(5, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                                  nn.MaxPool2d(2))
        layers, c = [], 16
        for w in widths:
            layers += [ResidualBlock(c, w, 2), ResidualBlock(w, w, 1)]
            c = w
        self.layers = nn.Sequential(*layers)
        h, w = FRAME_H // 2, FRAME_W // 2
        for _ in widths:
            h, w = (h + 1) // 2, (w + 1) // 2
        self.reduce = nn.Conv2d(c, 32, 1)
        self.feature_dim = 32 * h * w
        self.grid_channels = widths[0]
        ys = torch.linspace(-1, 1, FRAME_H).view(1, 1, FRAME_H, 1).expand(1, 1, FRAME_H, FRAME_W)
        xs = torch.linspace(-1, 1, FRAME_W).view(1, 1, 1, FRAME_W).expand(1, 1, FRAME_H, FRAME_W)
        self.register_buffer("coords", torch.cat([xs, ys], 1), persistent=False)

    def forward(self, x):
        """-> (flattened features, the 50 x 40 feature grid after the first stage)"""
        x = torch.cat([x, self.coords.expand(len(x), -1, -1, -1)], 1)
        grid = self.layers[:2](self.stem(x))
        return torch.flatten(fn.relu(self.reduce(self.layers[2:](grid))), 1), grid


class PacmanTaskNet(nn.Module):
    """Backbone + three heads; forward -> dict(situations, maze, positions)."""

    def __init__(self, arch="notebook-cnn"):
        super().__init__()
        if arch not in PACMAN_ARCHS:
            raise UserError(f"unknown Pac-Man task model {arch!r}; choose one of {', '.join(PACMAN_ARCHS)}")
        self.arch = arch
        self.backbone = NotebookBackbone() if arch == "notebook-cnn" else SmallResNet()
        d = self.backbone.feature_dim
        self.hidden = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Dropout(0.3))
        self.situations = nn.Linear(256, SITUATION_COUNT)
        self.maze = nn.Linear(256, MAZE_CLASSES)
        c = self.backbone.grid_channels
        self.heat = nn.Sequential(nn.Conv2d(c, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, SPRITE_COUNT, 3, 1, 1))
        _keras_init(self)

    def forward(self, x):
        if x.shape[1:] != (3, FRAME_H, FRAME_W):
            raise UserError(f"the Pac-Man task models take N x 3 x {FRAME_H} x {FRAME_W} frames, "
                            f"got {tuple(x.shape)}")
        flat, grid = self.backbone(x)
        h = self.hidden(flat)
        heat = self.heat(grid)
        return {"situations": self.situations(h), "maze": self.maze(h), "heat": heat,
                "positions": soft_argmax(heat)}


def soft_argmax(logits):
    """N x K x H x W heat-map logits -> N x K x 2 expected (x, y) cell centres in [0, 1]."""
    n, k, h, w = logits.shape
    p = torch.softmax(logits.flatten(2), -1).view(n, k, h, w)
    xs = (torch.arange(w, dtype=p.dtype, device=p.device) + 0.5) / w
    ys = (torch.arange(h, dtype=p.dtype, device=p.device) + 0.5) / h
    return torch.stack([(p.sum(2) * xs).sum(-1), (p.sum(3) * ys).sum(-1)], -1)


POSITION_SCALE = torch.tensor([FRAME_W, FRAME_H], dtype=torch.float32)


def situation_pos_weight(situations):
    """BCE pos_weight per label from training labels (uint8 N x 12): negatives / positives,
    clipped to [1, 100] (a label absent from training gets 1)."""
    pos = torch.as_tensor(situations, dtype=torch.float32).sum(0)
    neg = len(situations) - pos
    return torch.where(pos > 0, (neg / pos.clamp(min=1)).clamp(1, 100), torch.ones_like(pos))


def task_loss(out, target, pos_weight=None):
    """Sum of the three heads' losses (BCE + CE + masked MSE on unit-scaled positions)."""
    loss = fn.binary_cross_entropy_with_logits(out["situations"], target["situations"].float(),
                                               pos_weight=pos_weight)
    loss = loss + fn.cross_entropy(out["maze"], target["maze"])
    # Positions: cross-entropy of each sprite's heat map against the grid cell that holds its
    # true centre (a strong signal from the first step; the soft-argmax's own squared error
    # starts with a near-uniform map whose gradient is ~1/cells and did not learn in 190
    # steps), plus the squared error of the soft-argmax for sub-cell precision.
    mask = target["on_screen"].float()
    unit = target["positions"] / POSITION_SCALE.to(out["positions"])
    heat = out["heat"]
    gh, gw = heat.shape[-2:]
    cell = ((unit[..., 1] * gh).long().clamp(0, gh - 1) * gw + (unit[..., 0] * gw).long().clamp(0, gw - 1))
    ce = fn.cross_entropy(heat.flatten(2).transpose(1, 2), cell, reduction="none")   # N x K
    err = ((out["positions"] - unit) ** 2).sum(-1)
    return loss + ((ce + 100.0 * err) * mask).sum() / mask.sum().clamp(min=1)
