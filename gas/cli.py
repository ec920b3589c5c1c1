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
from typing import NoReturn

from pydantic import ValidationError

from gas_kernel.errors import GasError
from gas_kernel.errors import one_line as fold_error

COMMAND_MODULES = ("gas.commands.cost", "gas.commands.export", "gas.commands.calibrate", "gas.commands.search", "gas.commands.show",
                   "gas.commands.bench", "gas.commands.train")
USAGE_ERROR = 2
EXAMPLES = """examples:
  gas cost                                   # params and GMACs of the presets
  gas search --budget flops=1G --trials 40   # search; the run goes to runs/<name>/
  gas show                                   # the Pareto table of the latest run
  gas export best                            # its best blueprint as generated_archs/<name>.py
  gas <command> --help                       # each command's options and examples"""


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one `gas: error:` line (subcommands inherit the class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"gas: error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gas",
        description="Generative architecture search for fast hierarchical vision transformers.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
