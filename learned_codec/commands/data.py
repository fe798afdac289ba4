"""learned-codec data: make the built-in Pac-Man frame data set or inspect data"""
from ..errors import UserError

HELP = "make the built-in Pac-Man frame data set or inspect data"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #2."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'data' is not built yet (issue #2)")
