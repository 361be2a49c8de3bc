"""`run_chat()`: open the session and pick the mode (terminal REPL, line mode, one question)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.agents.chat.context import ConfirmWrite
    from salesctl.llm.gateway import LLMGateway


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """What `salesctl chat` was asked for."""

    agent: str
    session_id: str | None = None
    user_id: str | None = None
    yes: bool = False
    once: str | None = None
    json: bool = False


def write_policy(*, yes: bool, stdin_is_terminal: bool, console: Console) -> ConfirmWrite:
    """`--yes` approves; a terminal asks; anything else (pipes, cron) refuses writes."""
    from salesctl.agents.chat.context import approve_all, refuse_unattended
    from salesctl.repl.terminal import terminal_confirm

    if yes:
        return approve_all
    return terminal_confirm(console) if stdin_is_terminal else refuse_unattended


async def run_chat(
    options: ChatOptions,
    *,
    llm: LLMGateway,
    sessions: async_sessionmaker[AsyncSession],
    data_dir: Path,
    console: Console,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run a chat with `options.agent`; returns the exit code.

    A terminal on stdin (and neither `--once` nor `--json`) gets the interactive REPL;
    otherwise each input line (or the `--once` question) is answered in line mode.
    """
    from salesctl.agents.chat import load_agent
    from salesctl.agents.chat.conversation import Conversation
    from salesctl.repl.history import open_history
    from salesctl.repl.lines import run_lines, stdin_lines
    from salesctl.repl.render import not_stored_line
    from salesctl.repl.terminal import run_repl

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    spec = load_agent(options.agent)
    on_terminal = stdin.isatty()
    interactive = on_terminal and options.once is None and not options.json
    conversation = await Conversation.open(
        spec,
        llm=llm,
        sessions=sessions,
        session_id=options.session_id,
        user_id=options.user_id,
        confirm=write_policy(yes=options.yes, stdin_is_terminal=on_terminal, console=console),
        stream=interactive,
    )
    if interactive:
        history = open_history(data_dir, llm.settings.store_prompts)
        return await run_repl(conversation, console=console, history=history)
    state = "resumed" if conversation.resumed else "new"
    stderr.write(f"session {conversation.session_id} ({spec.name}, {state})\n")
    if conversation.turns_not_stored:
        stderr.write(not_stored_line(conversation.turns_not_stored) + "\n")
    stderr.flush()
    lines = [options.once] if options.once is not None else stdin_lines(stdin)
    return await run_lines(conversation, lines, stdout=stdout, stderr=stderr, as_json=options.json)
