"""learned-codec compress-model: prune or quantize a classifier or codec decoder and measure the per-class cost"""
from ..errors import UserError

HELP = "prune or quantize a classifier or codec decoder and measure the per-class cost"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #8."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'compress-model' is not built yet (issue #8)")
