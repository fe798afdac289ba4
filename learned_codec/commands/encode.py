"""learned-codec encode: encode an image, a folder of frames or a video into an .lcf file"""
from ..errors import UserError

HELP = "encode an image, a folder of frames or a video into an .lcf file"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #5."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'encode' is not built yet (issue #5)")
