"""`salesctl demo`: the scripted tour, in a throwaway workspace against simulated providers."""

from __future__ import annotations

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out


def demo_command(
    keep: bool = typer.Option(
        False, "--keep", help="Leave the demo workspace afterwards, to explore it."
    ),
    here: bool = typer.Option(
        False,
        "--here",
        help="Use your own data directory and database instead of a temporary one "
        "(providers are still simulated).",
    ),
) -> None:
    """Tour salesctl in about a minute: import leads, run every agent and chat, see the costs.

    Runs real salesctl commands, printing each one, in a temporary workspace with its own
    SQLite database, against salesctl's local provider simulator: no keys, no network, no
    charges. The costs shown are what the real models would charge for the simulated tokens.

    Example:
        salesctl demo
        salesctl demo --keep
    """
    from salesctl.demo.narrate import RichNarrator
    from salesctl.demo.tour import run_demo

    with _runtime.user_errors():
        result = run_demo(RichNarrator(out()), keep=keep, here=here)
    if not result.ok:
        raise typer.Exit(1)
