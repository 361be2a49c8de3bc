"""The `salesctl` command: a thin Typer layer over the library.

Command modules import only Typer at the top; everything heavy is imported inside the
command that needs it, so `salesctl --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from salesctl import __version__
from salesctl.cli import _state
from salesctl.cli.agents import app as agents_app
from salesctl.cli.agents import icp_app
from salesctl.cli.budget import app as budget_app
from salesctl.cli.chat import chat_command
from salesctl.cli.config import app as config_app
from salesctl.cli.costs import app as costs_app
from salesctl.cli.db import app as db_app
from salesctl.cli.db import init_command
from salesctl.cli.deals import app as deals_app
from salesctl.cli.demo import demo_command
from salesctl.cli.doctor import doctor_command
from salesctl.cli.leads import app as leads_app
from salesctl.cli.maintenance import app as maintenance_app
from salesctl.cli.pricing import app as pricing_app
from salesctl.cli.router import app as router_app
from salesctl.cli.serve import serve_command

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
app.add_typer(leads_app, name="leads")
app.add_typer(deals_app, name="deals")
app.add_typer(pricing_app, name="pricing")
app.add_typer(router_app, name="router")
app.command("chat")(chat_command)
app.add_typer(agents_app)
app.add_typer(icp_app, name="icp")
app.add_typer(costs_app, name="costs")
app.add_typer(budget_app, name="budget")
app.command("serve")(serve_command)
app.command("doctor")(doctor_command)
app.add_typer(maintenance_app, name="maintenance")
app.command("demo")(demo_command)


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
