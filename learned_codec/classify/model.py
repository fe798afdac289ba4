"""Classifiers of the downstream experiments, built from a JSON-able config.

    NotebookCNN        the CIFAR-10 notebook's CNN (reference/cifar10-jpeg-webp-training-notebook.txt):
                       [Conv3x3 -> ELU -> BatchNorm] x 2 -> MaxPool 2 -> Dropout, three times
                       (32, 64, 128 channels; dropout 0.2, 0.3, 0.4), Flatten, Dense -> softmax.
                       309,290 parameters at 32 x 32 x 3 in Keras' count (which includes the
                       BatchNorm moving mean/variance: 308,394 trainable + 896 running stats).
    HelmholtzCNN       the six CIFAR-10 architectures ("settings" 0..5) of the perceptual-compression
                       study (Helmholtz-DL, cifar/models.py): all-cnns, cnns-dense-64, all-cnnsx2,
                       cnns-x2-dense-128, cnns-dense-128, cnns-dense-128-256.
    MultiQualityClassifier
                       the multi-quality topology of the thesis: B versions of an image (original +
                       JPEG QF 10..100) through ONE shared backbone, features concatenated, linear head.

Every classifier maps float N x C x H x W (normalised, see data.to_model_input) to logits
N x num_classes; the softmax of the reference "dense softmax" head lives in the loss
(cross-entropy) and in predict_proba, which is numerically the same model.

Keras defaults are matched where they change training: Glorot-uniform weights, zero biases,
BatchNorm momentum 0.99 (PyTorch momentum 0.01) and epsilon 1e-3. Keras' L2(1e-4) kernel
regulariser is a loss term 1e-4 * sum(w^2) (not decoupled weight decay); `l2_penalty()` returns
it for the weights the reference regularised.
"""
import torch
from torch import nn

from learned_codec.errors import UserError

# Keras BatchNormalization defaults (momentum is the moving-average keep factor there).
KERAS_BN_MOMENTUM = 0.01
KERAS_BN_EPS = 1e-3

NOTEBOOK_DEFAULTS = {
    "widths": [32, 64, 128],
    "dropouts": [0.2, 0.3, 0.4],
    "activation": "elu",
    "batchnorm": True,
    "l2": 1e-4,
    "bn_momentum": KERAS_BN_MOMENTUM,
}

HELMHOLTZ_SETTINGS = {
    # setting: (name, second conv group repeated?, head: "gap" or dense widths)
    0: ("all-cnns", 1, "gap"),
    1: ("cnns-dense-64", 1, [64, 256]),
    2: ("all-cnnsx2", 2, "gap"),
    3: ("cnns-x2-dense-128", 2, [128, 256]),
    4: ("cnns-dense-128", 1, [128, 256]),
    5: ("cnns-dense-128-256", 1, [128, 256, 256]),
}

ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU}


def _keras_init(module):
    """Glorot-uniform kernels and zero biases, as Keras initialises Conv2D/Dense."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def keras_param_count(model):
    """Parameters as Keras counts them: trainable + BatchNorm moving mean and variance."""
    n = sum(p.numel() for p in model.parameters())
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            n += m.running_mean.numel() + m.running_var.numel()
    return n


class ConvBlock(nn.Sequential):
    """[Conv3x3 'same' -> activation -> BatchNorm] x 2 -> MaxPool 2 -> Dropout.

    The notebook puts BatchNorm AFTER the activation (ELU then BN); kept as in the reference."""

    def __init__(self, in_channels, out_channels, dropout, activation="elu", batchnorm=True,
                 bn_momentum=KERAS_BN_MOMENTUM):
        act = ACTIVATIONS[activation]
        layers = []
        for i in range(2):
            layers.append(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1))
            layers.append(act())
            if batchnorm:
                layers.append(nn.BatchNorm2d(out_channels, eps=KERAS_BN_EPS, momentum=bn_momentum))
        layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
        super().__init__(*layers)


class NotebookCNN(nn.Module):
    """The CIFAR-10 notebook's CNN.

    Input float N x in_channels x image_size x image_size; output logits N x num_classes.
    `blocks` (three ConvBlocks) and `head` (Linear on the flattened features) are separate
    attributes so that block-by-block training can freeze and unfreeze them;
    `features(x)` returns the flattened N x feature_dim activations the head reads.
    """

    def __init__(self, in_channels=3, num_classes=10, image_size=32, widths=(32, 64, 128),
                 dropouts=(0.2, 0.3, 0.4), activation="elu", batchnorm=True, l2=1e-4,
                 bn_momentum=KERAS_BN_MOMENTUM):
        super().__init__()
        if len(widths) != len(dropouts):
            raise UserError(f"widths {list(widths)} and dropouts {list(dropouts)} differ in length")
        if activation not in ACTIVATIONS:
            raise UserError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        side = image_size
        for _ in widths:
            side //= 2
        if side < 1:
            raise UserError(f"image_size {image_size} is too small for {len(widths)} pooling stages")
        self.l2 = float(l2)
        blocks, c = [], in_channels
        for w, d in zip(widths, dropouts):
            blocks.append(ConvBlock(c, w, d, activation, batchnorm, bn_momentum))
            c = w
        self.blocks = nn.ModuleList(blocks)
        self.feature_dim = c * side * side
        self.head = nn.Linear(self.feature_dim, num_classes)
        _keras_init(self)

    def features(self, x):
        for block in self.blocks:
            x = block(x)
        return torch.flatten(x, 1)

    def forward(self, x):
        return self.head(self.features(x))

    def l2_penalty(self):
        """Keras L2: l2 * sum(w^2) over the conv kernels (the notebook regularised those only)."""
        if not self.l2:
            return torch.zeros(())
        return self.l2 * sum((m.weight ** 2).sum() for m in self.modules() if isinstance(m, nn.Conv2d))

    def stages(self):
        """Trainable stages from the input to the output: the conv blocks, then the head."""
        return list(self.blocks) + [self.head]


class HelmholtzCNN(nn.Module):
    """One of the six CIFAR-10 architectures of the perceptual-compression study (setting 0..5).

    ReLU convs, stride-2 convs instead of pooling, dropout 0.5, no BatchNorm; the head is
    global average pooling over a 10-channel 1x1 conv (all-cnns) or dense layers. The reference
    put a ReLU on the last Dense before the softmax (logits clipped at 0, which can stall
    training: a class whose logit is negative for every input gets no gradient);
    final_relu=True reproduces that, the default leaves it out.
    """

    def __init__(self, setting=0, in_channels=3, num_classes=10, image_size=32, final_relu=False, l2=0.0):
        super().__init__()
        if setting not in HELMHOLTZ_SETTINGS:
            raise UserError(f"Helmholtz setting must be 0..5, got {setting!r}")
        self.setting_name, groups, head = HELMHOLTZ_SETTINGS[setting]
        self.l2 = float(l2)

        def conv(cin, cout, k=3, stride=1):
            return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)

        stem = nn.Sequential(conv(in_channels, 32), nn.ReLU(), conv(32, 64), nn.ReLU(),
                             conv(64, 128, stride=2), nn.Dropout(0.5))
        blocks = [stem]
        for _ in range(groups):
            blocks.append(nn.Sequential(conv(128, 128), nn.ReLU(), conv(128, 128), nn.ReLU(),
                                        conv(128, 128, stride=2), nn.Dropout(0.5)))
        self.blocks = nn.ModuleList(blocks)
        side = image_size
        for _ in range(1 + groups):
            side = (side + 1) // 2
        if head == "gap":
            layers = [conv(128, 128), nn.ReLU(), conv(128, 128, k=1), nn.ReLU(), conv(128, num_classes, k=1),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        else:
            layers, width = [nn.Flatten()], 128 * side * side
            for w in head:
                layers += [nn.Linear(width, w), nn.ReLU(), nn.Dropout(0.5)]
                width = w
            layers.append(nn.Linear(width, num_classes))
        if final_relu:
            layers.append(nn.ReLU())
        self.head = nn.Sequential(*layers)
        self.feature_dim = None  # the head is not a single linear layer over flat features
        _keras_init(self)

    def features(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x):
        return self.head(self.features(x))

    def l2_penalty(self):
        if not self.l2:
            return torch.zeros(())
        return self.l2 * sum((m.weight ** 2).sum() for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))

    def stages(self):
        return list(self.blocks) + [self.head]


class MultiQualityClassifier(nn.Module):
    """The thesis' multi-quality topology: B versions of each image through ONE backbone.

    Input float N x B x C x H x W (branch 0 = original, then JPEG QF 10, 20, ..., 100);
    every branch goes through the same conv blocks (the very same parameter objects, taken
    from `backbone`, so the parameter count is one backbone's blocks plus the new head), the
    B feature vectors are concatenated (N x B*feature_dim) and a linear head gives the logits.
    The backbone's own single-input head is not part of this model.
    """

    def __init__(self, backbone, num_branches=11, num_classes=10):
        super().__init__()
        if getattr(backbone, "feature_dim", None) is None:
            raise UserError("the multi-quality topology needs a backbone with a flat feature vector "
                            "(arch notebook-cnn)")
        self.blocks = backbone.blocks  # shared: the same modules as the backbone's
        self.feature_dim = backbone.feature_dim
        self.l2 = backbone.l2
        self.num_branches = int(num_branches)
        self.head = nn.Linear(self.num_branches * backbone.feature_dim, num_classes)
        _keras_init(self.head)

    def features(self, x):
        """Per-branch features: x float M x C x H x W -> M x feature_dim."""
        for block in self.blocks:
            x = block(x)
        return torch.flatten(x, 1)

    def forward(self, x):
        if x.dim() != 5 or x.shape[1] != self.num_branches:
            raise ValueError(f"expected N x {self.num_branches} x C x H x W, got {tuple(x.shape)}")
        n, b = x.shape[:2]
        # One pass over all branches at once (N*B images): the same weights for every branch
        # by construction, and one large batch instead of B small ones. BatchNorm statistics
        # in training mode are therefore taken over all branches together.
        feats = self.features(x.reshape(n * b, *x.shape[2:]))
        return self.head(feats.reshape(n, b * feats.shape[1]))

    l2_penalty = NotebookCNN.l2_penalty

    def stages(self):
        return list(self.blocks) + [self.head]


ARCHS = ("notebook-cnn", "helmholtz-0", "helmholtz-1", "helmholtz-2", "helmholtz-3", "helmholtz-4",
         "helmholtz-5")


def default_model_config(arch="notebook-cnn", in_channels=3, image_size=32, num_classes=10):
    config = {"arch": arch, "in_channels": in_channels, "image_size": image_size, "num_classes": num_classes}
    if arch == "notebook-cnn":
        config.update(NOTEBOOK_DEFAULTS)
    elif arch.startswith("helmholtz-"):
        config.update({"final_relu": False, "l2": 0.0})
    return config


def build_classifier(config):
    """A classifier from its config: {"arch", "in_channels", "image_size", "num_classes", options}.

    A whole run config (with a "model" section) is accepted too. Unknown arch -> UserError.
    """
    if isinstance(config, dict) and isinstance(config.get("model"), dict):
        config = config["model"]
    if not isinstance(config, dict) or "arch" not in config:
        raise UserError("classifier config must be a dict with an 'arch' key")
    arch = config["arch"]
    if arch not in ARCHS:
        raise UserError(f"unknown classifier architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    common = {k: int(config.get(k, d)) for k, d in
              (("in_channels", 3), ("image_size", 32), ("num_classes", 10))}
    if arch == "notebook-cnn":
        opts = {**NOTEBOOK_DEFAULTS, **{k: config[k] for k in NOTEBOOK_DEFAULTS if k in config}}
        return NotebookCNN(**common, widths=tuple(opts["widths"]), dropouts=tuple(opts["dropouts"]),
                           activation=opts["activation"], batchnorm=bool(opts["batchnorm"]), l2=opts["l2"],
                           bn_momentum=float(opts["bn_momentum"]))
    setting = int(arch.split("-")[1])
    return HelmholtzCNN(setting, **common, final_relu=bool(config.get("final_relu", False)),
                        l2=float(config.get("l2", 0.0)))
