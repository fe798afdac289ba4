"""learned-codec decode: decode an .lcf file into PNG frames or an mp4"""
from ..errors import UserError

HELP = "decode an .lcf file into PNG frames or an mp4"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #5."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'decode' is not built yet (issue #5)")
