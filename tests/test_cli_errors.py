"""One error convention over the whole command tree (README, "Commands").

A mistake in how a command is called (unknown flag, a value of the wrong kind, a missing
argument) is one line on stderr, `error: …`, naming where to read more, exit status 2; nothing
on stdout, no usage block, nothing said twice. `budget check` is a monitoring check: it says
the mistake once, in its own line on stdout (`BUDGET UNKNOWN - …`), and exits 3.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from salesctl.cli import app

USAGE_EXIT = 2
MONITORING = "budget check"
EXIT_THREE = ("costs reconcile",)
"""Commands whose bad flags exit 3, "could not be made", since their 1 is a finding."""


def leaf_commands() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs is None or getattr(command, "invoke_without_command", False):
            found.append((" ".join(path), command))
        for name, sub in (subs or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return [(name, command) for name, command in found if name]


COMMANDS = leaf_commands()


def mistakes(name: str, command: Any) -> list[list[str]]:
    """Ways to call the command wrongly: an unknown flag, and a word where a number goes."""
    calls = [[*name.split(), "--no-such-flag"]]
    for param in command.params:
        opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
        kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        numeric = kind in (int, float, int | None, float | None)
        if opts and not getattr(param, "is_flag", False) and numeric:
            calls.append([*name.split(), opts[0], "abc"])
    return calls


def check_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"{args}: unhandled {result.exception!r}"
    stdout, stderr = result.stdout.splitlines(), result.stderr.splitlines()
    if " ".join(args).startswith(MONITORING):
        assert result.exit_code == 3, (args, result.output)
        assert stderr == [], (args, result.stderr)
        assert len(stdout) == 1, (args, result.stdout)
        assert stdout[0].startswith("BUDGET UNKNOWN - "), (args, result.stdout)
        return
    expected = 3 if " ".join(args).startswith(EXIT_THREE) else USAGE_EXIT
    assert result.exit_code == expected, (args, result.output)
    assert stdout == [], (args, result.stdout)
    assert len(stderr) == 1, (args, result.stderr)
    assert stderr[0].startswith("error: "), (args, result.stderr)
    assert "Usage:" not in result.stderr
    assert "--help`)" in stderr[0], "the line says where to read more"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_tells_a_usage_mistake_in_one_line(name: str, command: Any) -> None:
    for args in mistakes(name, command):
        check_one_line(args)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["chat", "nope"], "error: agent: 'nope' is not one of 'sr-bdr', 'pipeline', 'cs'"),
        (["costs", "--lead", "abc"], "error: --lead: not a whole number"),
        (["qualify", "--lead", "0"], "error: --lead: must be at least 1"),
        (["leads", "add", "--contact", "Dana"], "error: missing option '--company'"),
        (["no-such-command"], "error: no such command 'no-such-command'"),
    ],
)
def test_usage_mistakes_read_as_plain_sentences(args: list[str], says: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == USAGE_EXIT
    assert result.stderr.startswith(says), result.stderr


def test_budget_check_says_a_mistake_once_for_cron() -> None:
    result = CliRunner().invoke(app, ["budget", "check", "--daily", "abc"])
    assert result.exit_code == 3
    assert (
        result.stdout
        == "BUDGET UNKNOWN - --daily 'abc' is not an amount in USD (e.g. --daily 10)\n"
    )
    assert result.stderr == ""


def test_a_group_without_a_command_shows_its_help() -> None:
    result = CliRunner().invoke(app, ["leads"])
    assert "Usage: salesctl leads" in result.output
    assert "Example:" in result.output
