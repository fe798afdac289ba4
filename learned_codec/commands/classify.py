"""learned-codec classify: downstream classifier experiments on compressed images"""
from ..errors import UserError

HELP = "downstream classifier experiments on compressed images"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #7."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'classify' is not built yet (issue #7)")
