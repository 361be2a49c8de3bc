"""`salesctl costs flush` and `salesctl maintenance redact-existing`.

`maintenance flush` is kept, hidden, as an alias of `costs flush` for scripts that use it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import err, out, print_json

if TYPE_CHECKING:
    from salesctl.maintenance import FlushResult, RedactResult

app = typer.Typer(
    help="Keep the tracking record private: redact text stored before.\n\n"
    "Example:\n    salesctl maintenance redact-existing --mode redacted",
    no_args_is_help=True,
)


def flush_command(
    any_database: bool = typer.Option(
        False,
        "--any-database",
        help="Also load records spooled while DATABASE_URL named another database.",
    ),
    import_file: str | None = typer.Option(
        None,
        "--import",
        metavar="FILE",
        help="Also load the salesctl-tracking-record lines saved from a run's stderr "
        "(- reads stdin).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Write tracked calls waiting in the spool to the database (each exactly once).

    Calls are spooled when the database could not take them (down, locked, unwritable);
    every command that opens the database replays them too. A run that could keep a
    record neither in the database nor in the spool (a full disk) prints it on stderr:
    save that and load it with --import. Running it again inserts nothing twice.

    Example:
        salesctl costs flush
        salesctl costs flush --json
        salesctl costs flush --import qualify-stderr.log
    """
    from salesctl.maintenance import flush_spool

    imported = None
    if import_file is not None:
        with _runtime.user_errors():
            imported = _read_import(import_file)

    async def flush(rt: _runtime.Runtime) -> FlushResult:
        return await flush_spool(
            rt.engine, rt.settings, any_database=any_database, imported=imported
        )

    result = _runtime.run(flush, replay_spool=False)
    if json_output:
        print_json(result)
        return
    line = (
        f"[green]✓[/] {result.inserted} tracked call(s) written to the database, "
        f"{result.already_present} already there"
    )
    if result.damaged:
        line += f", {result.damaged} damaged line(s) skipped"
    out().print(line, highlight=False, soft_wrap=True)
    if result.other_database:
        err().print(
            f"{result.other_database} call(s) in {result.spool} belong to another database: "
            "run `salesctl costs flush` with DATABASE_URL set to it, or add --any-database",
            highlight=False,
            soft_wrap=True,
        )


def _read_import(name: str) -> str:
    import sys
    from pathlib import Path

    from salesctl.errors import InvalidInput

    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(errors="replace")
    except OSError as exc:
        raise InvalidInput(f"cannot read --import {name}: {exc.strerror or exc}") from exc


app.command("flush", hidden=True)(flush_command)


@app.command("redact-existing")
def redact_existing(
    mode: str | None = typer.Option(
        None,
        "--mode",
        help="redacted (mask emails, phones, keys) or none (remove the text); "
        "default: the store_prompts setting.",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    json_output: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Apply store_prompts to text stored before: tracking rows, spool, cache, chats.

    Prompts and completions already in `ai_cost_tracking` (and in the spool) are redacted
    or removed; so are stored chat messages and the chat REPL's input history. The response
    cache is emptied, since its entries are answer text. Tokens, costs, chat sessions and
    everything else a report needs stay; with --mode none, resumed chat sessions continue
    without their earlier turns. Cannot be undone.

    Example:
        salesctl maintenance redact-existing --mode redacted --yes
    """
    from salesctl.config import get_settings
    from salesctl.errors import InvalidInput
    from salesctl.maintenance import redact_existing as redact
    from salesctl.maintenance import resolve_mode

    with _runtime.user_errors():
        chosen = resolve_mode(mode, get_settings())
        if not yes and not sys.stdin.isatty():
            raise InvalidInput(
                f"not rewriting stored prompts ({chosen}) without confirmation: pass --yes"
            )
    verb, done = ("Remove", "removed") if chosen == "none" else ("Redact", "redacted")
    if not yes and not typer.confirm(
        f"{verb} every stored prompt, completion and chat message and empty the response cache?"
    ):
        err().print("nothing changed")
        raise typer.Exit(1)

    async def redact_text(rt: _runtime.Runtime) -> RedactResult:
        return await redact(rt.engine, rt.settings, mode=chosen)

    result = _runtime.run(redact_text)
    if json_output:
        print_json(result)
        return
    out().print(
        f"[green]✓[/] text in {result.tracking_rows} tracking row(s), "
        f"{result.chat_messages} chat message(s) and {result.history_entries} chat history "
        f"entr{'y' if result.history_entries == 1 else 'ies'} {done}, "
        f"{result.cache_entries} cached answer(s) removed, "
        f"{result.spool_records} spooled record(s) rewritten",
        highlight=False,
        soft_wrap=True,
    )
    if result.spool_in_use:
        err().print(
            "the spool is in use by another salesctl process and was left as is: "
            "run this again when it has finished",
            highlight=False,
            soft_wrap=True,
        )
