"""Variational autoencoder `vae` (the reference report's VAE, 102.45 M parameters).

    encoder: 4 x [Conv3x3 s2 -> BN -> ReLU], 3 -> 16 -> 32 -> 64 -> 128: 128 x 13 x 10
    mu, logvar = Linear(16,640 -> 2048) each; z = mu + sigma * eps (training only)
    decoder: Linear(2048 -> 16,640) -> 128 x 13 x 10 ->
             3 x [ConvT3x3 s2 -> BN -> ReLU], 128 -> 64 -> 32 -> 16, then
             ConvT3x3 s2 (16 -> 3) -> BN -> sigmoid

Parameters: 97,920 (convs) + 2 x 34,080,768 (mu, logvar) + 34,095,360 (code -> map)
+ 97,545 (transposed convs) = 102,452,361.

The code that is stored is mu (N x code_size): at inference the model decodes from
the mean, never from a sample (the reference sampled at test time too). The
fully connected bottleneck fixes the frame size: 200 x 160 by default (padded
to 208 x 160 so that every level halves exactly); other sizes -> UserError.
"""
import torch
import torch.nn as nn

from learned_codec.errors import UserError
from learned_codec.models.conv import (
    REFERENCE_FRAME_SIZE,
    check_images,
    pad_to_multiple,
)
from learned_codec.models.registry import register

WIDTHS = (3, 16, 32, 64, 128)


def conv_bn_relu(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def convt_bn(c_in, c_out, activation):
    return [
        nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(c_out),
        activation,
    ]


@register(
    "vae",
    {"code_size": 2048, "frame_size": list(REFERENCE_FRAME_SIZE)},
    "VAE: conv encoder to 128x13x10, mu/logvar of 2048, decoded from mu at inference (102.45 M params)",
)
class VAE(nn.Module):
    fixed_frame_size = True  # the fully connected bottleneck fixes H x W

    def __init__(self, code_size=2048, frame_size=REFERENCE_FRAME_SIZE):
        super().__init__()
        if int(code_size) < 1:
            raise ValueError("code_size must be >= 1")
        self.frame_size = tuple(int(s) for s in frame_size)
        self.multiple = 2 ** (len(WIDTHS) - 1)
        grid_h = -(-self.frame_size[0] // self.multiple)
        grid_w = -(-self.frame_size[1] // self.multiple)
        self.map_shape = (WIDTHS[-1], grid_h, grid_w)
        map_size = WIDTHS[-1] * grid_h * grid_w
        self.encoder = nn.Sequential(
            *[m for a, b in zip(WIDTHS[:-1], WIDTHS[1:]) for m in conv_bn_relu(a, b)]
        )
        self.to_mu = nn.Linear(map_size, code_size)
        self.to_logvar = nn.Linear(map_size, code_size)
        self.from_code = nn.Linear(code_size, map_size)
        ups = list(zip(WIDTHS[:0:-1], WIDTHS[-2::-1]))
        layers = []
        for i, (a, b) in enumerate(ups):
            last = i == len(ups) - 1
            layers += convt_bn(a, b, nn.Sigmoid() if last else nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(*layers)
        self.code_quantizer = nn.Identity()

    # Initial posterior log-variance: with PyTorch's default init (bias ~ 0) the
    # training sample's noise (sigma ~ 1) swamps mu (|mu| ~ 0.1 at init), the decoder
    # learns to ignore the code, and a short run ends at the mean frame (13 dB in the
    # quick preset before this). Starting at sigma = e^-3 ~ 0.05 lets the code carry
    # the image from the first step; the KL term then decides how much noise to keep.
    INITIAL_LOGVAR = -6.0

    def init_from_mean(self, mean_image):
        """Start the output at the mean colour of the training frames (the final
        BatchNorm's bias = logit(colour), as conv4/conv5) and the posterior noise
        small (INITIAL_LOGVAR). mean_image: float 3 x H x W in [0, 1]."""
        colour = mean_image.float().mean(dim=(1, 2)).clamp(0.02, 0.98)
        final_bn = self.decoder[-2]
        with torch.no_grad():
            final_bn.bias.copy_(torch.log(colour / (1 - colour)))
            self.to_logvar.bias.fill_(self.INITIAL_LOGVAR)

    def _check_size(self, x):
        check_images(x)
        if tuple(x.shape[-2:]) != self.frame_size:
            h, w = self.frame_size
            raise UserError(
                f"vae needs {h}x{w} frames (its fully connected bottleneck is built for that "
                f"size), got {x.shape[-2]}x{x.shape[-1]}; resize the frames or train a conv model"
            )

    def encode_distribution(self, x):
        """(mu, logvar), each N x code_size."""
        self._check_size(x)
        h = self.encoder(pad_to_multiple(x, self.multiple)).flatten(1)
        return self.to_mu(h), self.to_logvar(h)

    def encode(self, x):
        """The stored code: the posterior mean mu, N x code_size (unbounded floats)."""
        return self.encode_distribution(x)[0]

    def decode(self, code):
        h = self.from_code(code).view(-1, *self.map_shape)
        x_hat = self.decoder(h)
        return x_hat[..., : self.frame_size[0], : self.frame_size[1]]

    @staticmethod
    def reparameterize(mu, logvar):
        # randn_like: the noise lives on mu's device (the reference drew it on the CPU).
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x):
        mu, logvar = self.encode_distribution(x)
        code = self.reparameterize(mu, logvar) if self.training else mu
        x_hat = self.decode(self.code_quantizer(code))
        return {"x_hat": x_hat, "code": mu, "mu": mu, "logvar": logvar}
