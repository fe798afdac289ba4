"""classify experiments (parsers are light: nothing heavy is imported at module level)."""
from ..errors import UserError


def add_experiment_parsers(sub, add_data_arguments, add_train_arguments):
    pass


def run_experiment(args):
    raise UserError(f"classify {args.action} is not built yet")
