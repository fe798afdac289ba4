"""learned-codec bench: run the pytest-benchmark throughput suites and save their results"""
from ..errors import UserError

HELP = "run the pytest-benchmark throughput suites and save their results"
DESCRIPTION = HELP + "\n\nNot built yet: this subcommand is the subject of issue #3."


def add_arguments(parser):
    pass


def run(args):
    raise UserError("'bench' is not built yet (issue #3)")
