"""A faster copy of a trained model for coding: BatchNorm folded into the convolution
before it, and channels-last memory.

In eval mode a BatchNorm is an affine map per channel, so it folds exactly (up to
float rounding, ~1e-5 on a code) into the preceding Conv2d / ConvTranspose2d's weight
and bias; that removes one pass over every feature map. Channels-last is the layout
oneDNN's convolutions prefer on CPUs, and frames arrive in it anyway (uint8
N x H x W x 3 permuted to N x 3 x H x W is channels-last without a copy). Together
they make conv5 about 1.5x faster to encode and decode on 2 CPU cores
(benchmarks/bench_codecs.py).

The copy is for inference only: the codec keeps the original model for its weights'
SHA-256 and never trains the copy. Encoder and decoder both run the copy, so a file's
codes and pixels are those of the folded model on both sides.
"""
import copy

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)


def fold_batchnorm(model):
    """Eval-mode deep copy of `model` with every (Conv, BatchNorm2d) pair that follows
    each other inside an nn.Sequential replaced by (folded Conv, Identity)."""
    folded = copy.deepcopy(model).eval()
    for seq in [m for m in folded.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if isinstance(conv, _CONVS) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                seq[i] = fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d))
                seq[i + 1] = nn.Identity()
    return folded


def inference_copy(model):
    """fold_batchnorm + channels-last weights; requires_grad off."""
    fast = fold_batchnorm(model).to(memory_format=torch.channels_last)
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast
