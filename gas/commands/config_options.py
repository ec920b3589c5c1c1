"""`gas search`'s options, generated from the fields of `gas.config.SearchConfig`.

Each field becomes one flag (`--field-name`, or the name its `Flag` gives) whose help is the
field's description plus its real default. Values are passed on as the strings typed and converted
by the model, so a bad value ends as the model's one-line error naming the flag, and a flag not
typed is simply absent: the model's default applies, defined once.
"""

from __future__ import annotations

import argparse
import json
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from gas.config import Flag, SearchConfig, field_default

__all__ = ["add_config_options", "given_options"]


class _SetKey(argparse.Action):
    """Set one key of a dict option: `--space-option KEY=VALUE`, or `--img-size N` for a fixed key."""

    def __init__(self, option_strings: Sequence[str], dest: str, key: str | None = None, **kwargs: Any):
        super().__init__(option_strings, dest, **kwargs)
        self.key = key

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any,
                 option_string: str | None = None) -> None:
        key, text = (self.key, value) if self.key else _split(parser, option_string, value)
        setattr(namespace, self.dest, {**getattr(namespace, self.dest, {}), key: _parse_value(text)})


def add_config_options(parser: argparse.ArgumentParser, model: type[BaseModel] = SearchConfig) -> None:
    """One flag per field of `model` (none for `Flag(cli=False)`); absent flags stay absent."""
    for name, info in model.model_fields.items():
        flag = Flag.of(info)
        if not flag.cli:
            continue
        option = flag.name or "--" + name.replace("_", "-")
        help_text = f"{info.description}{_shown_default(info)}"
        if flag.keys:
            _add_dict_option(parser, name, option, flag, help_text)
        elif info.annotation is bool:  # --name / --no-name
            parser.add_argument(option, dest=name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            action = "append" if flag.repeat else "store"
            parser.add_argument(option, dest=name, action=action, metavar=flag.metavar or _metavar(info),
                                default=argparse.SUPPRESS, help=help_text)


def given_options(args: argparse.Namespace, model: type[BaseModel] = SearchConfig) -> dict[str, Any]:
    """The config options typed on the command line, as `{field: value}`."""
    return {name: getattr(args, name) for name, info in model.model_fields.items()
            if Flag.of(info).cli and hasattr(args, name)}


def _add_dict_option(parser: argparse.ArgumentParser, name: str, option: str, flag: Flag, help_text: str) -> None:
    parser.add_argument(option, dest=name, action=_SetKey, metavar=flag.metavar, default=argparse.SUPPRESS,
                        help=help_text)
    for key in flag.keys:
        parser.add_argument("--" + key.replace("_", "-"), dest=name, action=_SetKey, key=key, metavar="N",
                            default=argparse.SUPPRESS, help=f"same as {option} {key}=N")


def _split(parser: argparse.ArgumentParser, option: str | None, text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        parser.error(f"argument {option}: {text!r} is not KEY=VALUE, e.g. {option} in_chans=1")
    return key.strip(), value.strip()


def _parse_value(text: str) -> Any:
    """A dict option's value: a JSON number, boolean or list where it parses as one, else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _metavar(info: FieldInfo) -> str:
    """`{a,b}` for a choice, N for an integer, X for a number, else the value's kind."""
    kinds = [kind for kind in typing.get_args(info.annotation) or (info.annotation,) if kind is not type(None)]
    if typing.get_origin(info.annotation) is typing.Literal:
        return "{" + ",".join(map(str, kinds)) + "}"
    return {int: "N", float: "X"}.get(kinds[0], "TEXT") if len(kinds) == 1 else "TEXT"


def _shown_default(info: FieldInfo) -> str:
    """` (default: X)` for a default worth showing; None and empty defaults are explained in the help."""
    default = field_default(info)
    if default is None or default == {}:
        return ""
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return f" (default: {shown})"
