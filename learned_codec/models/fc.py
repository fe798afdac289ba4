"""Blockwise fully connected autoencoders `fc` (reference "Vanilla") and `fc-deep`
(reference "Multilayer").

A 200 x 160 frame is cut into a 4 x 4 grid of 50 x 40 x 3 blocks (6,000 values
each). Each block goes through a fully connected autoencoder:

    fc:       6000 -> code (ReLU) | code -> 6000
              12,007,000 parameters per block at code 1000 (reference: 12,007,000)
    fc-deep:  6000 -> 3200 -> 1600 -> code | code -> 1600 -> 3200 -> 6000,
              ReLU between layers, linear code and output (as the reference)
              51,856,600 parameters per block at code 1000 (reference: 51.86 M)

blocks="per-position" (the reference): 16 independent block models, one per grid
position (fc 192 M, fc-deep 830 M parameters in all). blocks="shared": one block
model for all 16 positions (16x fewer parameters, 16x more samples per weight).

Output: linear as in the reference (its best model, 36 dB, had no output
activation); in eval mode decode() clamps to [0, 1] so the result is an image.
Training does not clamp, so that out-of-range outputs still get a gradient.

Frame size: the grid must tile the frame exactly (200 x 160 by default); other
sizes raise UserError rather than being silently padded (blocks would no longer
line up with what the per-position models learned).
"""
import torch
import torch.nn as nn

from learned_codec.errors import UserError
from learned_codec.models.conv import REFERENCE_FRAME_SIZE, check_images
from learned_codec.models.registry import register

BLOCK_SHARING = ("per-position", "shared")


def mlp(widths, last_activation):
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2 or last_activation:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BlockAutoencoder(nn.Module):
    """One block's autoencoder: encoder widths in -> hidden... -> code, mirrored decoder."""

    def __init__(self, block_values, hidden, code_size, code_relu):
        super().__init__()
        widths = [block_values, *hidden, code_size]
        self.encoder = mlp(widths, last_activation=code_relu)
        self.decoder = mlp(widths[::-1], last_activation=False)


class BlockwiseFC(nn.Module):
    """Frame <-> grid of blocks, each block through a BlockAutoencoder.

    code = encode(x): float N x 16 x code_size (grid positions in row-major order).
    """

    fixed_frame_size = True  # the grid must tile the frame: no padding

    def __init__(self, hidden, code_size, code_relu, blocks, frame_size, grid):
        super().__init__()
        if blocks not in BLOCK_SHARING:
            raise ValueError(f"blocks must be one of {BLOCK_SHARING}, not {blocks!r}")
        self.frame_size = tuple(int(s) for s in frame_size)
        self.grid = tuple(int(g) for g in grid)
        if any(f % g for f, g in zip(self.frame_size, self.grid)):
            raise ValueError(f"grid {self.grid} does not tile frame size {self.frame_size}")
        self.block_size = (self.frame_size[0] // self.grid[0], self.frame_size[1] // self.grid[1])
        self.positions = self.grid[0] * self.grid[1]
        self.block_values = 3 * self.block_size[0] * self.block_size[1]
        self.shared = blocks == "shared"
        count = 1 if self.shared else self.positions
        self.blocks = nn.ModuleList(
            BlockAutoencoder(self.block_values, hidden, int(code_size), code_relu) for _ in range(count)
        )
        # Subtracted from each block before the encoder (zeros = the reference). Set to
        # the mean training block by init_from_mean: with inputs all >= 0, Adam's first
        # steps shift every weight of a code unit the same way and can kill all the
        # ReLU codes at once; centred inputs avoid that. A buffer, not a parameter.
        self.register_buffer("input_mean", torch.zeros(count, self.block_values))
        self.code_quantizer = nn.Identity()

    def to_blocks(self, x):
        """N x 3 x H x W -> N x positions x block_values (each block is C x bh x bw flattened)."""
        check_images(x)
        if tuple(x.shape[-2:]) != self.frame_size:
            h, w = self.frame_size
            raise UserError(
                f"blockwise FC models need {h}x{w} frames (a {self.grid[0]}x{self.grid[1]} grid of "
                f"{self.block_size[0]}x{self.block_size[1]} blocks), got {x.shape[-2]}x{x.shape[-1]}; "
                f"resize the frames or use a conv model"
            )
        n = x.shape[0]
        (gh, gw), (bh, bw) = self.grid, self.block_size
        blocks = x.reshape(n, 3, gh, bh, gw, bw).permute(0, 2, 4, 1, 3, 5)
        return blocks.reshape(n, self.positions, self.block_values)

    def from_blocks(self, blocks):
        n = blocks.shape[0]
        (gh, gw), (bh, bw) = self.grid, self.block_size
        x = blocks.reshape(n, gh, gw, 3, bh, bw).permute(0, 3, 1, 4, 2, 5)
        return x.reshape(n, 3, gh * bh, gw * bw)

    @torch.no_grad()
    def init_from_mean(self, mean_image):
        """Centre the encoder inputs on, and start the decoder outputs at, the mean
        training image (3 x H x W in [0, 1]).

        The default init outputs ~0 and Adam moves a bias ~lr per step, so a short
        run would spend hundreds of steps just reaching the mean colour; this way
        training starts from the mean frame and learns the rest."""
        blocks = self.to_blocks(mean_image[None].float())[0]  # positions x block_values
        if self.shared:
            blocks = blocks.mean(dim=0, keepdim=True)
        self.input_mean.copy_(blocks)
        for block, mean in zip(self.blocks, blocks):
            block.decoder[-1].bias.copy_(mean)

    def _per_block(self, part, values):
        if self.shared:
            return getattr(self.blocks[0], part)(values)
        return torch.stack(
            [getattr(block, part)(values[:, i]) for i, block in enumerate(self.blocks)], dim=1
        )

    def encode(self, x):
        return self._per_block("encoder", self.to_blocks(x) - self.input_mean)

    def decode(self, code):
        x_hat = self.from_blocks(self._per_block("decoder", code))
        return x_hat if self.training else x_hat.clamp(0, 1)

    def forward(self, x):
        code = self.encode(x)
        return {"x_hat": self.decode(self.code_quantizer(code)), "code": code}


FC_DEFAULTS = {
    "code_size": 1000,
    "blocks": "per-position",
    "frame_size": list(REFERENCE_FRAME_SIZE),
    "grid": [4, 4],
}


@register("fc", FC_DEFAULTS, "vanilla FC per 50x40 block: 6000 -> 1000 (ReLU) -> 6000; 12,007,000 params per block")
class VanillaFC(BlockwiseFC):
    def __init__(self, code_size=1000, blocks="per-position", frame_size=REFERENCE_FRAME_SIZE, grid=(4, 4)):
        # The ReLU on the code keeps it >= 0 (the reference's naive quantization relied on it).
        super().__init__((), code_size, True, blocks, frame_size, grid)


@register(
    "fc-deep",
    {**FC_DEFAULTS, "hidden": [3200, 1600]},
    "multilayer FC per 50x40 block: 6000-3200-1600-1000-1600-3200-6000; 51.86 M params per block",
)
class DeepFC(BlockwiseFC):
    def __init__(self, code_size=1000, blocks="per-position", frame_size=REFERENCE_FRAME_SIZE,
                 grid=(4, 4), hidden=(3200, 1600)):
        super().__init__(tuple(int(h) for h in hidden), code_size, False, blocks, frame_size, grid)
