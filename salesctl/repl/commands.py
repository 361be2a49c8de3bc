"""Slash commands of the chat REPL (also honoured in line mode): /help /cost /model /good
/bad /history /reset /exit. Each returns lines of text, so the terminal and piped modes print
them alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from salesctl.repl import render

if TYPE_CHECKING:
    from salesctl.agents.chat.conversation import Conversation


@dataclass(slots=True)
class CommandResult:
    lines: list[str] = field(default_factory=list)
    exit: bool = False


Handler = Callable[["Conversation", str], Awaitable[CommandResult]]


async def _help(conversation: Conversation, arg: str) -> CommandResult:
    lines = [f"{conversation.spec.title}: ask in plain words, for example:"]
    lines += [f"  {example}" for example in conversation.spec.examples]
    lines += [
        "",
        "Commands:",
        *(f"  {name:<9} {summary}" for name, (_, summary) in COMMANDS.items()),
        "",
        "Enter sends; Esc Enter (or a line ending in \\) starts a new line.",
        "Ctrl-C cancels an answer in progress; Ctrl-D leaves.",
    ]
    return CommandResult(lines)


async def _cost(conversation: Conversation, arg: str) -> CommandResult:
    usage = await conversation.usage()
    return CommandResult(render.usage_lines(usage, conversation.session_id))


async def _model(conversation: Conversation, arg: str) -> CommandResult:
    question = arg or next(
        (m.content for m in reversed(conversation.history) if m.role == "user"), ""
    )
    decision = conversation.explain(question)
    return CommandResult(render.routing_lines(decision, question))


async def _rate(conversation: Conversation, arg: str, score: float) -> CommandResult:
    from salesctl.errors import SalesctlError
    from salesctl.llm.feedback import describe

    try:
        rating = await conversation.rate(score, note=arg or None)
    except SalesctlError as exc:
        return CommandResult([f"not rated: {exc}"])
    return CommandResult([describe(rating)])


async def _good(conversation: Conversation, arg: str) -> CommandResult:
    return await _rate(conversation, arg, 1.0)


async def _bad(conversation: Conversation, arg: str) -> CommandResult:
    return await _rate(conversation, arg, 0.0)


async def _history(conversation: Conversation, arg: str) -> CommandResult:
    return CommandResult(render.history_lines(conversation.history))


async def _reset(conversation: Conversation, arg: str) -> CommandResult:
    old = conversation.session_id
    new = await conversation.reset()
    return CommandResult([f"Started a new session {new} (the old one, {old}, stays resumable)."])


async def _exit(conversation: Conversation, arg: str) -> CommandResult:
    return CommandResult(exit=True)


COMMANDS: dict[str, tuple[Handler, str]] = {
    "/help": (_help, "this help"),
    "/cost": (_cost, "what this session has cost so far (every run of it)"),
    "/model": (_model, "which model the router would pick next, and why (/model QUESTION)"),
    "/good": (_good, "rate the last answer good (/good NOTE adds why)"),
    "/bad": (_bad, "rate the last answer bad; it teaches `router tune` (/bad NOTE)"),
    "/history": (_history, "the conversation so far"),
    "/reset": (_reset, "forget the conversation and start a new session"),
    "/exit": (_exit, "leave (Ctrl-D works too)"),
}
ALIASES = {"/quit": "/exit", "/q": "/exit", "/?": "/help"}


def is_command(text: str) -> bool:
    return text.startswith("/") and not text.startswith("//")


async def run_command(conversation: Conversation, text: str) -> CommandResult:
    """Run one slash command line (`/model analyse deal 3`)."""
    name, _, arg = text.strip().partition(" ")
    name = ALIASES.get(name.lower(), name.lower())
    entry = COMMANDS.get(name)
    if entry is None:
        return CommandResult([f"unknown command {name!r}: /help lists the commands"])
    handler, _ = entry
    return await handler(conversation, arg.strip())
