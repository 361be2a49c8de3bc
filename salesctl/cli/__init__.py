"""The `salesctl` command: a thin Typer layer over the library.

Command modules import only Typer at the top; everything heavy is imported inside the
command that needs it, so `salesctl --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from salesctl import __version__
from salesctl.cli import _state
from salesctl.cli.config import app as config_app
from salesctl.cli.db import app as db_app
from salesctl.cli.db import init_command

app = typer.Typer(
    name="salesctl",
    help="Run sales agents on your leads and account for every LLM call they make.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
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


app.command("init")(init_command)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


def main() -> None:
    """Console entry point: user errors become one line on stderr and an exit code."""
    from salesctl.errors import SalesctlError

    try:
        app(prog_name="salesctl")
    except SalesctlError as exc:
        if _state.debug:
            raise
        _state.fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
