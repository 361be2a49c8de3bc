"""Every command documents itself with an example, as users expect from `--help`."""

from __future__ import annotations

from typing import Any

import typer.main

from salesctl.cli import app


def is_group(command: Any) -> bool:
    """Typer vendors its own click, so recognise groups by shape rather than class."""
    return hasattr(command, "commands")


def walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    found = [(" ".join(path), command)]
    if is_group(command):
        for name, sub in command.commands.items():
            found.extend(walk(sub, (*path, name)))
    return found


def test_every_command_and_group_has_help_with_an_example() -> None:
    root = typer.main.get_command(app)
    missing = [
        name or "salesctl" for name, command in walk(root) if "Example" not in (command.help or "")
    ]
    assert missing == []


NOT_READ_COMMANDS = {
    "init",
    "serve",
    "demo",
    "simulator",
    "db upgrade",
    "db downgrade",
    "leads delete",
    "costs export",  # streams CSV or JSON lines itself (--format jsonl)
}
"""Commands that change things, serve or stream; every other command prints data, so takes
--json."""


def test_every_read_command_has_json() -> None:
    root = typer.main.get_command(app)
    missing = []
    for name, command in walk(root):
        runs = not is_group(command) or getattr(command, "invoke_without_command", False)
        if not runs or command.hidden or name in NOT_READ_COMMANDS or not name:
            continue
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if "--json" not in options:
            missing.append(name)
    assert missing == []


def test_every_group_has_a_summary() -> None:
    root = typer.main.get_command(app)
    groups = [(n, c) for n, c in walk(root) if is_group(c)]
    assert all((c.help or "").strip() for _, c in groups)


def test_the_root_lists_every_command_the_modules_define() -> None:
    """The root loads commands lazily from a table; a command added to a module but not to
    the table would silently vanish from the CLI."""
    from salesctl.cli import AGENT_COMMANDS, COMMANDS, _target

    agents = _target("qualify")
    assert [c.name for c in agents.registered_commands] == list(AGENT_COMMANDS)
    root = typer.main.get_command(app)
    assert list(root.commands) == list(COMMANDS)
    assert all(root.commands[name].name == name for name in COMMANDS)


def test_root_help_summaries_match_the_built_commands() -> None:
    """`salesctl --help` lists summaries from docstrings without building the commands; they
    must read exactly as each built command's own."""
    import typer._click as click

    from salesctl.cli import COMMANDS, SUMMARY_LIMIT

    lazy = typer.main.get_command(app)
    context = click.Context(lazy, info_name="salesctl")
    listed = {name: lazy.summary(context, name) for name in COMMANDS}
    built = typer.main.get_command(app)
    for name in COMMANDS:
        assert listed[name] == built.commands[name].get_short_help_str(limit=SUMMARY_LIMIT)
        assert listed[name]


def test_help_shows_every_summary_whole_and_examples_line_by_line() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    root = runner.invoke(app, ["--help"], terminal_width=80)
    assert root.exit_code == 0
    commands = root.output.split("Commands:")[1]
    assert "..." not in commands
    assert "(idempotent)." in root.output  # the end of a summary longer than one line

    export = runner.invoke(app, ["costs", "export", "--help"], terminal_width=80)
    assert export.exit_code == 0
    lines = [line.strip() for line in export.output.splitlines()]
    assert "Example:" in lines
    assert "salesctl costs export --format csv --since this-month > calls.csv" in lines
