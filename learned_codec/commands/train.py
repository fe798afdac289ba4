"""learned-codec train: train an autoencoder codec (--arch fc, fc-deep, conv4, conv5, vae, ...)"""
from ..errors import UserError

HELP = "train an autoencoder codec (--arch fc, fc-deep, conv4, conv5, vae, ...)"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #4."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'train' is not built yet (issue #4)")
