"""Reading a JSON-lines results file (the reference set, the predictor's feature cache) with one
clear error line when it is missing or corrupt, so every reader of those files fails the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gas_kernel.errors import GasError

__all__ = ["read_jsonl"]


def read_jsonl(path: str | Path, what: str, missing_hint: str) -> list[dict[str, Any]]:
    """The JSON objects of `path`, one per non-blank line.

    GasError naming `what` when the file does not exist (followed by `missing_hint`: how to get it)
    or is not JSON lines.
    """
    path = Path(path)
    if not path.is_file():
        raise GasError(f"{what} {path} does not exist; {missing_hint}")
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GasError(f"{what} {path} is not JSON lines ({error})") from None
