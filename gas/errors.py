"""The one exception type for mistakes a user can fix (bad budget, unknown space, missing data).

The CLI turns a GasError into a single `gas: error: ...` line and exit code 2; anything else is a
bug and keeps its traceback.
"""

__all__ = ["GasError"]


class GasError(Exception):
    """A user-fixable problem; the message says what is wrong and how to fix it."""
