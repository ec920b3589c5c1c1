"""`--help` of every gas command: a description, an example, and help text on every option."""

from __future__ import annotations

import argparse

import pytest

from gas.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, prefix: str = "gas") -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command parser that runs something, by its command line (`gas export best`, ...)."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _commands(sub, f"{prefix} {name}")
    return found or {prefix: parser}


COMMANDS = _commands(build_parser())


def test_all_commands_are_found():
    assert {"gas cost", "gas search", "gas show", "gas runs", "gas bench", "gas calibrate",
            "gas export best", "gas export preset", "gas export file", "gas export refresh", "gas train"} == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_has_description_example_and_help_on_every_option(command):
    parser = COMMANDS[command]
    assert parser.description and len(parser.description) > 20
    assert parser.epilog and parser.epilog.startswith("example") and command in parser.epilog
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction):
            assert action.help, f"{command} {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_option_with_a_default_shows_it(command):
    for action in COMMANDS[command]._actions:
        shown = action.default not in (None, False, [], argparse.SUPPRESS) and action.option_strings
        if shown and not isinstance(action, argparse._HelpAction):
            assert "default" in action.help and str(action.default).split(".")[0] in action.help, action.option_strings


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--trials"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gas: error: gas search: argument --trials")
