"""learned-codec eval: rate-distortion evaluation of learned codecs against JPEG, WebP, AVIF, PNG, H.264, AV1"""
from ..errors import UserError

HELP = "rate-distortion evaluation of learned codecs against JPEG, WebP, AVIF, PNG, H.264, AV1"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #6."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'eval' is not built yet (issue #6)")
