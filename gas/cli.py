"""The `gas` command line: a thin argparse shell over testable library functions.

Each subcommand lives in `gas/commands/<name>.py` with `add_parser(subparsers)`, which registers
the subcommand and sets `func(args) -> int` on it. User mistakes (GasError, pydantic validation,
unknown names) end as one `gas: error: ...` line and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from gas_kernel.errors import GasError
from gas_kernel.errors import one_line as fold_error

COMMAND_MODULES = ("gas.commands.cost", "gas.commands.export", "gas.commands.calibrate", "gas.commands.search", "gas.commands.show", "gas.commands.bench")
USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gas",
        description="Generative architecture search for fast hierarchical vision transformers.",
    )
    parser.add_argument("--version", action="version", version=f"gas {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (GasError, KeyError, ValidationError) as error:
        print(f"gas: error: {one_line(error)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("gas: interrupted", file=sys.stderr)
        return 130


def one_line(error: BaseException) -> str:
    """A single line describing a user error (pydantic's field list folded onto one line)."""
    if isinstance(error, ValidationError):
        parts = [f"{'.'.join(map(str, e['loc'])) or error.title}: {e['msg']}" for e in error.errors()]
        return "invalid blueprint: " + "; ".join(parts)
    return fold_error(error)


def _version() -> str:
    from gas import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
