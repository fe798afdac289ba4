"""Models of the Pac-Man downstream task: one backbone, three heads.

    situations   12 logits (multi-label, sigmoid; data_tools.pacman.SITUATIONS)
    maze          4 logits (softmax)
    positions    10 outputs: (x, y) of Ms. Pac-Man and the four ghosts, in units of the
                 image size (x / 160, y / 200), trained only where the sprite is on screen

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
        self.blocks = nn.Sequential(*blocks)
        h, w = FRAME_H, FRAME_W
        for _ in widths:
            h, w = h // 2, w // 2
        self.feature_dim = c * h * w

    def forward(self, x):
        return torch.flatten(self.blocks(x), 1)


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
        ys = torch.linspace(-1, 1, FRAME_H).view(1, 1, FRAME_H, 1).expand(1, 1, FRAME_H, FRAME_W)
        xs = torch.linspace(-1, 1, FRAME_W).view(1, 1, 1, FRAME_W).expand(1, 1, FRAME_H, FRAME_W)
        self.register_buffer("coords", torch.cat([xs, ys], 1), persistent=False)

    def forward(self, x):
        x = torch.cat([x, self.coords.expand(len(x), -1, -1, -1)], 1)
        return torch.flatten(fn.relu(self.reduce(self.layers(self.stem(x)))), 1)


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
        self.positions = nn.Linear(256, 2 * SPRITE_COUNT)
        _keras_init(self)

    def forward(self, x):
        if x.shape[1:] != (3, FRAME_H, FRAME_W):
            raise UserError(f"the Pac-Man task models take N x 3 x {FRAME_H} x {FRAME_W} frames, "
                            f"got {tuple(x.shape)}")
        h = self.hidden(self.backbone(x))
        return {"situations": self.situations(h), "maze": self.maze(h),
                "positions": self.positions(h).view(-1, SPRITE_COUNT, 2)}


POSITION_SCALE = torch.tensor([FRAME_W, FRAME_H], dtype=torch.float32)


def task_loss(out, target):
    """Sum of the three heads' losses (BCE + CE + masked MSE on unit-scaled positions)."""
    loss = fn.binary_cross_entropy_with_logits(out["situations"], target["situations"].float())
    loss = loss + fn.cross_entropy(out["maze"], target["maze"])
    mask = target["on_screen"].float().unsqueeze(-1)
    err = (out["positions"] - target["positions"] / POSITION_SCALE.to(out["positions"])) ** 2
    return loss + 10.0 * (err * mask).sum() / mask.sum().clamp(min=1) / 2
