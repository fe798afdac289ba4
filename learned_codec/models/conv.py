"""Convolutional autoencoders conv4 and conv5 (the reference report's "CNN 4/5 layers").

Down block (one level, halves H and W):
    Conv3x3 s1 (c_in -> c_out) -> BN -> ReLU -> Conv3x3 s2 (c_out -> c_out) -> BN -> ReLU
Up block (mirror, doubles H and W):
    ConvT3x3 s2 (c_out -> c_out) -> BN -> ReLU -> ConvT3x3 s1 (c_out -> c_in) -> BN -> act
with act = ReLU inside the decoder and, on the last block, a sigmoid (the reference
used ReLU there, which cannot reach 1 from below smoothly and lets outputs exceed 1).

Channels 3 -> 16 -> 32 -> 64 -> 128 (conv4) and -> 256 (conv5). Parameter counts
(every conv with bias, every BN affine): conv4 588,585; conv5 2,360,745 - the
reference numbers exactly.

Sizes: the input is padded (replicate) on the bottom/right to a multiple of
2**levels (16 for conv4, 32 for conv5) and the output cropped back, so every
transposed conv uses output_padding=1 and any frame size works. For 200x160 this
gives 208x160 -> code 128x13x10 = 16,640 (conv4) and 224x160 -> 256x7x5 = 8,960
(conv5): the reference bottlenecks.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from learned_codec.models.registry import register

REFERENCE_FRAME_SIZE = (200, 160)


def pad_to_multiple(x, multiple):
    """Replicate-pad N x C x H x W on the bottom/right to multiples of `multiple`."""
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x


def check_images(x):
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images N x 3 x H x W, got {tuple(x.shape)}")


def down_block(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=1, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, stride=2, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def up_block(c_in, c_out, last=False):
    """Mirror of down_block(c_out, c_in): c_in channels at half size -> c_out at full size."""
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_in, 3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(c_in),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(c_in, c_out, 3, stride=1, padding=1),
        nn.BatchNorm2d(c_out),
        nn.Sigmoid() if last else nn.ReLU(inplace=True),
    )


class ConvAutoencoder(nn.Module):
    """Symmetric conv autoencoder with `len(channels)` down and up levels.

    code = encode(x): float N x code_channels x ceil(H/2^L) x ceil(W/2^L), >= 0
    (it comes out of a ReLU; the naive quantizer also needs it <= 1).
    """

    fixed_frame_size = False  # pads to a multiple of 2**levels, crops back

    def __init__(self, channels=(16, 32, 64, 128), code_channels=128,
                 frame_size=REFERENCE_FRAME_SIZE):
        super().__init__()
        widths = [3, *channels[:-1], code_channels]
        self.levels = len(widths) - 1
        self.multiple = 2 ** self.levels
        self.frame_size = tuple(frame_size)
        self.encoder = nn.Sequential(*[down_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        ups = list(zip(widths[:0:-1], widths[-2::-1]))
        self.decoder = nn.Sequential(
            *[up_block(a, b, last=i == len(ups) - 1) for i, (a, b) in enumerate(ups)]
        )
        self.code_quantizer = nn.Identity()

    def init_from_mean(self, mean_image):
        """Start the output at the mean colour of the training frames.

        The last layer is BatchNorm -> sigmoid, whose initial output is mid-grey;
        Pac-Man frames are mostly black, so a short (CPU) run would spend its first
        hundreds of steps just moving the colour. Setting the final BatchNorm's
        bias to logit(mean colour) removes that detour; parameter counts are unchanged.
        mean_image: float 3 x H x W in [0, 1]."""
        colour = mean_image.float().mean(dim=(1, 2)).clamp(0.02, 0.98)
        final_bn = self.decoder[-1][4]
        with torch.no_grad():
            final_bn.bias.copy_(torch.log(colour / (1 - colour)))

    def code_shape(self, height, width):
        m = self.multiple
        return (self.encoder[-1][3].out_channels, -(-height // m), -(-width // m))

    def encode(self, x):
        check_images(x)
        return self.encoder(pad_to_multiple(x, self.multiple))

    def decode(self, code, size=None):
        """Images from codes; cropped to `size` (H, W), by default to frame_size when
        the code has its shape, else left at the padded size."""
        x_hat = self.decoder(code)
        if size is None:
            fh, fw = self.frame_size
            if tuple(code.shape[-2:]) == self.code_shape(fh, fw)[1:]:
                size = self.frame_size
        if size is not None:
            x_hat = x_hat[..., : size[0], : size[1]]
        return x_hat

    def forward(self, x):
        code = self.encode(x)
        x_hat = self.decode(self.code_quantizer(code), size=x.shape[-2:])
        return {"x_hat": x_hat, "code": code}


@register(
    "conv4",
    {"code_channels": 128, "frame_size": list(REFERENCE_FRAME_SIZE)},
    "4 conv levels 3-16-32-64-128, code 128x13x10 = 16,640 for 200x160 (588,585 params)",
)
class Conv4(ConvAutoencoder):
    def __init__(self, code_channels=128, frame_size=REFERENCE_FRAME_SIZE):
        super().__init__((16, 32, 64, 128), code_channels, frame_size)


@register(
    "conv5",
    {"code_channels": 256, "frame_size": list(REFERENCE_FRAME_SIZE)},
    "5 conv levels 3-16-32-64-128-256, code 256x7x5 = 8,960 for 200x160 (2,360,745 params)",
)
class Conv5(ConvAutoencoder):
    def __init__(self, code_channels=256, frame_size=REFERENCE_FRAME_SIZE):
        super().__init__((16, 32, 64, 128, 256), code_channels, frame_size)


def code_positions(levels, frame_size):
    """Number of spatial code positions of a `levels`-level conv model on frame_size."""
    m = 2 ** levels
    return -(-frame_size[0] // m) * -(-frame_size[1] // m)


__all__ = ["Conv4", "Conv5", "ConvAutoencoder", "pad_to_multiple", "code_positions"]
