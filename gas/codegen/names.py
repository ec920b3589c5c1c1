"""Model names: what `gas export --name` accepts, and how a name is derived from free text.

An exported name is at once a file name (`generated_archs/<name>.py`), a Python module name, the
constructor function defined in that module and the timm model name. So it must be a plain,
lowercase Python identifier: no path separators (no traversal), no quotes or dots (no code
injection into the emitted source), no keyword, and no name the model code itself defines.
"""

from __future__ import annotations

import keyword
import re

from gas_kernel.errors import GasError

__all__ = ["MAX_NAME_LENGTH", "check_name", "sanitize_name"]

MAX_NAME_LENGTH = 48  # keeps every generated line of the file within 110 columns
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def sanitize_name(text: str, fallback: str = "turbovit") -> str:
    """A valid model name made from free text: lowercase, runs of other characters become '_'."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:MAX_NAME_LENGTH].rstrip("_")
    if not name:
        return fallback
    if not name[0].isalpha():
        name = f"{fallback}_{name}"[:MAX_NAME_LENGTH].rstrip("_")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = f"{name}_model"
    return name


def check_name(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """`name` itself if it is a valid model name; otherwise a GasError suggesting one that is.

    `reserved` holds the top-level names of the emitted module (`Hiera`, `unroll`, ...), which the
    constructor function must not shadow.
    """
    problem = _name_problem(name, reserved)
    if problem:
        suggestion = sanitize_name(name)
        if suggestion in reserved:
            suggestion = f"{suggestion}_model"
        raise GasError(f"invalid model name {name!r}: {problem} (for example {suggestion!r})")
    return name


def _name_problem(name: str, reserved: frozenset[str]) -> str:
    """Why `name` cannot be used, or '' when it can."""
    if not _NAME.fullmatch(name):
        return "use lowercase letters, digits and '_', starting with a letter"
    if len(name) > MAX_NAME_LENGTH:
        return f"use at most {MAX_NAME_LENGTH} characters"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "it is a Python keyword"
    if name in reserved:
        return "the model code already defines that name"
    return ""
