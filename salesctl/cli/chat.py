"""`salesctl chat AGENT`: talk with a conversational agent (REPL on a terminal, lines otherwise)."""

from __future__ import annotations

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out
from salesctl.vocabulary import ChatAgentName


def chat_command(
    agent: ChatAgentName = typer.Argument(
        ..., help="sr-bdr (leads, outreach, notes), pipeline (deals, stages), cs (won accounts)."
    ),
    session: str | None = typer.Option(
        None, "--session", metavar="ID", help="Resume this session (sess_…) instead of a new one."
    ),
    user: str | None = typer.Option(
        None, "--user", metavar="ID", help="Who is chatting; tagged on every tracked call."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Apply the changes you ask for without confirming each one."
    ),
    once: str | None = typer.Option(
        None, "--once", metavar="QUESTION", help="Answer this one question and exit."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="One JSON object per answer (text, model, cost_usd, session_id…)."
    ),
) -> None:
    """Chat with a sales agent that looks things up (and changes them) in your database.

    On a terminal: a REPL; /help lists its commands, and each change asks for confirmation.

    Otherwise: one question per input line, one plain-text answer each (or --json lines);
    changes are refused unless --yes is given.

    Example:
        salesctl chat sr-bdr
        salesctl chat pipeline --once "Which deals are stalled?"
        printf 'Show me top 3 leads\\n' | salesctl chat sr-bdr --json
        salesctl chat pipeline --session sess_3f9a1c0d2b7e4a51 --yes
    """
    from salesctl.errors import InvalidInput
    from salesctl.repl import ChatOptions, run_chat

    with _runtime.user_errors():
        if once is not None and not once.strip():
            raise InvalidInput("--once needs a question, e.g. --once 'Show me top 3 leads'")
    options = ChatOptions(
        agent=agent,
        session_id=session,
        user_id=user,
        yes=yes,
        once=once,
        json=json_output,
    )

    async def chat(rt: _runtime.Runtime) -> int:
        return await run_chat(
            options,
            llm=rt.gateway,
            sessions=rt.sessions,
            data_dir=rt.settings.data_dir,
            console=out(),
        )

    code = _runtime.run(chat)
    if code:
        raise typer.Exit(code)
