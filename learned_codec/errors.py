"""Errors that are the user's to fix (bad input, wrong model, missing data).

The CLI prints these as one line and exits with status 2; anything else is a
bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, files or options, explained in one line."""


class CodecUnavailable(UserError):
    """A codec cannot run here (encoder missing, plugin not built); the reason is the text."""
