"""The one exception type for mistakes a user can fix (bad budget, unknown space, missing data).

The CLI turns a GasError into a single `gas: error: ...` line and exit code 2; anything else is a
bug and keeps its traceback.
"""

__all__ = ["GasError", "one_line"]


class GasError(Exception):
    """A user-fixable problem; the message says what is wrong and how to fix it."""


def one_line(error: BaseException) -> str:
    """The error's message folded onto one line (a KeyError's own text, without repr quotes)."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split())
