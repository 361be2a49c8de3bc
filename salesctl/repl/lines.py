"""Line mode, for pipes, cron and scripts: one message per input line, one answer per message.

Answers go to stdout as plain text (or one JSON object per line with `--json`); the session id,
what was changed or refused, and errors go to stderr, so stdout stays clean.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from salesctl.errors import SalesctlError
from salesctl.repl.commands import is_command, run_command

if TYPE_CHECKING:
    from salesctl.agents.chat.conversation import Conversation, TurnResult


def json_line(data: Any) -> str:
    """Compact JSON in which Decimal money keeps exactly its digits (a number, never a float)."""
    exact: dict[str, str] = {}

    def prepare(value: Any) -> Any:
        if isinstance(value, Decimal):
            token = f"\x00decimal{len(exact)}\x00"
            exact[json.dumps(token)] = format(value, "f")
            return token
        if isinstance(value, dict):
            return {str(k): prepare(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [prepare(v) for v in value]
        return value

    text = json.dumps(prepare(data), ensure_ascii=False)
    for token, digits in exact.items():
        text = text.replace(token, digits, 1)
    return text


async def stdin_lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines of `stream`, read off the event loop so background tracking keeps flowing."""
    while True:
        line = await asyncio.to_thread(stream.readline)
        if not line:
            return
        yield line


async def _iterate(lines: Iterable[str] | AsyncIterator[str]) -> AsyncIterator[str]:
    if isinstance(lines, AsyncIterator):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


async def _answer(conversation: Conversation, text: str, stderr: TextIO) -> TurnResult:
    """One turn; each write is reported on stderr as it happens, even if the turn then fails."""
    from salesctl.agents.chat.conversation import TurnResult
    from salesctl.agents.chat.graph import ToolFinished

    async for event in conversation.ask(text):
        if isinstance(event, ToolFinished):
            run = event.run
            if run.status == "applied":
                stderr.write(f"changed: {run.detail}\n")
            elif run.status in ("refused", "declined"):
                planned = run.change.describe() if run.change else run.call.name
                stderr.write(f"not changed: {planned}: {run.detail}\n")
            stderr.flush()
        elif isinstance(event, TurnResult):
            return event
    raise AssertionError("a turn always ends with its result")


async def run_lines(
    conversation: Conversation,
    lines: Iterable[str] | AsyncIterator[str],
    *,
    stdout: TextIO,
    stderr: TextIO,
    as_json: bool = False,
) -> int:
    """Answer each non-empty line; returns 0, or 1 when any answer failed."""
    failed = False
    answered = 0
    async for raw in _iterate(lines):
        text = raw.strip()
        if not text:
            continue
        if is_command(text):
            result = await run_command(conversation, text)
            if as_json:
                stdout.write(json_line({"command": text, "lines": result.lines}) + "\n")
            else:
                stdout.writelines(line + "\n" for line in result.lines)
            stdout.flush()
            if result.exit:
                break
            continue
        try:
            turn = await _answer(conversation, text, stderr)
        except SalesctlError as exc:
            failed = True
            stderr.write(f"error: {exc}\n")
            stderr.flush()
            continue
        if as_json:
            stdout.write(json_line(turn.as_json()) + "\n")
        else:
            if answered:
                stdout.write("\n")
            stdout.write(turn.text.rstrip() + "\n")
        answered += 1
        stdout.flush()
        stderr.flush()
    return 1 if failed else 0
