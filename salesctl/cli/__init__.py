"""The `salesctl` command: a thin Typer layer over the library.

Start-up is paid on every cron run, so the root loads lazily: a command's module is imported
and turned into a Click command only when that command runs or help lists it, and command
modules import only Typer at the top (everything heavy is imported inside the command).
Help is Click's plain formatter: Typer's Rich formatter imports rich.markdown and
rich.traceback (markdown-it, pygments), more than doubling the time of `salesctl --help`.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator, MutableMapping
from importlib import import_module
from typing import Any

import typer
import typer.main
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup
from typer.models import CommandInfo, TyperInfo

from salesctl import __version__
from salesctl.cli import _state

AGENT_COMMANDS = ("qualify", "enrich", "grow", "market", "bdr", "converse")

SUMMARY_LIMIT = 200
"""Characters of a command's first sentence shown in its group's help (all of it, in practice)."""

EXAMPLE_HEADING = re.compile(r"^([ \t]*Examples?:[ \t]*)$", re.MULTILINE)

COMMANDS: dict[str, str] = {
    # name: "module:attribute" in salesctl.cli; a function is one command, a Typer app a group.
    "init": "db:init_command",
    "chat": "chat:chat_command",
    "serve": "serve:serve_command",
    "doctor": "doctor:doctor_command",
    "demo": "demo:demo_command",
    "simulator": "simulator:simulator_command",
    "db": "db:app",
    "config": "config:app",
    "leads": "leads:app",
    "deals": "deals:app",
    "pricing": "pricing:app",
    "router": "router:app",
    "feedback": "feedback:feedback_command",
    **{name: "agents:app" for name in AGENT_COMMANDS},  # the agents' app, merged into the root
    "icp": "agents:icp_app",
    "costs": "costs:app",
    "budget": "budget:app",
    "maintenance": "maintenance:app",
}


class _LazyCommands(MutableMapping[str, Any]):
    """The root's commands by name, each built by `load` on first access."""

    def __init__(self, names: list[str], load: Callable[[str], Any]) -> None:
        self._names = names
        self._load = load
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = self._load(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def is_built(self, name: str) -> bool:
        return name in self._built


class HelpGroup(TyperGroup):
    """A group whose help lists each command's whole summary, wrapped, never cut off with
    "..." (Click shortens summaries to fit one line)."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, self.summary(ctx, name)) for name in self.list_commands(ctx)]
        rows = [(name, text) for name, text in rows if text is not None]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def summary(self, ctx: Any, name: str) -> str | None:
        """The command's first sentence for the list, or None if it is hidden."""
        command = self.get_command(ctx, name)
        if command is None or command.hidden:
            return None
        return command.get_short_help_str(limit=SUMMARY_LIMIT)


class OneLineUsageError(UsageError):
    one_line = True
    """A usage mistake told in one line on stderr, with where to read more, exit 2.

    Click prints the usage synopsis, a hint and the message on three lines; salesctl's
    convention is one line per mistake (`error: …`), the same as every other user error.
    """

    def __init__(self, original: UsageError) -> None:
        super().__init__(usage_message(original), original.ctx)
        self.exit_code = original.exit_code

    def show(self, file: Any = None) -> None:
        sys.stderr.write(f"error: {self.message}\n")


_WORDING = (
    (re.compile(r"^Invalid value for '?([^':]+?)'?: "), r"\1: "),
    (re.compile(r"Value error, "), ""),
    (
        re.compile(r"Input should be a valid integer(, unable to parse string as an integer)?"),
        "not a whole number",
    ),
    (
        re.compile(r"Input should be a valid number(, unable to parse string as a number)?"),
        "not a number",
    ),
    (re.compile(r"Input should be greater than or equal to "), "must be at least "),
    (re.compile(r"Input should be less than or equal to "), "must be at most "),
    (re.compile(r"Input should be greater than "), "must be more than "),
    (re.compile(r"Input should be less than "), "must be less than "),
)
"""Click's and pydantic's phrasing, said the way salesctl's own errors say things."""


def usage_message(error: UsageError) -> str:
    """`--lead: not a whole number (see `salesctl costs --help`)`."""
    message = " ".join(error.format_message().split())
    for pattern, words in _WORDING:
        message = pattern.sub(words, message)
    message = message.rstrip(".")
    message = message[:1].lower() + message[1:]
    if error.ctx is not None:
        message += f" (see `{error.ctx.command_path} --help`)"
    return message


class LazyRootGroup(HelpGroup):
    """The root group: builds only the command being run; its help lists the others from
    their docstrings without building them (building all of them doubles `--help`'s time).

    Usage mistakes anywhere under it are told in one line (`OneLineUsageError`).
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            raise one_line(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            raise one_line(exc) from None

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        if self.help and "\b" not in self.help:
            self.help = EXAMPLE_HEADING.sub("\b\n\\1", self.help)
        names = [*self.commands, *(name for name in COMMANDS if name not in self.commands)]
        self._lazy = _LazyCommands(names, self._build)
        for name, command in self.commands.items():
            self._lazy[name] = command
        self.commands = self._lazy

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: listing must not build every command

    def summary(self, ctx: Any, name: str) -> str | None:
        if self._lazy.is_built(name) or name not in COMMANDS:
            return super().summary(ctx, name)
        target = _target(name)
        if isinstance(target, typer.Typer) and name in AGENT_COMMANDS:
            info = next(c for c in target.registered_commands if c.name == name)
            help_text, hidden = info.help or inspect.getdoc(info.callback), info.hidden
        elif isinstance(target, typer.Typer):
            help_text = typer.main.solve_typer_info_help(TyperInfo(target, name=name))
            hidden = target.info.hidden is True
        else:
            help_text, hidden = inspect.getdoc(target), False
        if hidden:
            return None
        return make_default_short_help(help_text or "", SUMMARY_LIMIT)

    def _build(self, name: str) -> Any:
        target = _target(name)
        settings: dict[str, Any] = {
            "pretty_exceptions_short": app.pretty_exceptions_short,
            "rich_markup_mode": self.rich_markup_mode,
        }
        if not isinstance(target, typer.Typer):
            command = typer.main.get_command_from_info(
                CommandInfo(name=name, callback=target), **settings
            )
        elif name in AGENT_COMMANDS:  # one command of the agents' app: not all six built
            info = next(c for c in target.registered_commands if c.name == name)
            command = typer.main.get_command_from_info(info, **settings)
        else:
            command = typer.main.get_group_from_info(
                TyperInfo(target, name=name, cls=target.info.cls or HelpGroup),
                suggest_commands=self.suggest_commands,
                **settings,
            )
        keep_examples_verbatim(command)
        return command


def one_line(error: UsageError) -> UsageError:
    """The error as salesctl tells it (an error that tells itself already is kept)."""
    return error if getattr(error, "one_line", False) else OneLineUsageError(error)


def _target(name: str) -> Any:
    """The function or Typer app behind a root command (imports its module)."""
    module, _, attribute = COMMANDS[name].partition(":")
    return getattr(import_module(f"salesctl.cli.{module}"), attribute)


def keep_examples_verbatim(command: Any) -> None:
    """Mark each `Example:` paragraph with Click's `\\b`, so help keeps its lines as written."""
    if command.help and "\b" not in command.help:
        command.help = EXAMPLE_HEADING.sub("\b\n\\1", command.help)
    for sub in getattr(command, "commands", {}).values():
        keep_examples_verbatim(sub)


app = typer.Typer(
    name="salesctl",
    cls=LazyRootGroup,
    help="Run sales agents on your leads and account for every LLM call they make.\n\n"
    "Example:\n    salesctl demo\n"
    "    salesctl init && salesctl leads import leads.csv && salesctl qualify --all",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"salesctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """salesctl: LangGraph sales agents with exact LLM cost tracking.

    Example:
        salesctl init && salesctl leads import leads.csv && salesctl qualify --all
    """
    _state.debug = debug


def main() -> None:
    """Console entry point: user errors become one line on stderr and an exit code."""
    from salesctl.cli._gc import defer_collections, settle_at_exit
    from salesctl.errors import SalesctlError

    settle_at_exit()
    defer_collections()

    try:
        app(prog_name="salesctl")
    except SalesctlError as exc:
        if _state.debug:
            raise
        _state.fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
