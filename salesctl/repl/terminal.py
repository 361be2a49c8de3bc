"""The interactive REPL: prompt_toolkit line editing, streamed Markdown answers, Ctrl-C to cancel.

prompt_toolkit and Rich's live display are imported inside the functions that use them.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Any

from salesctl.agents.chat.context import PlannedChange, WriteVerdict
from salesctl.errors import SalesctlError
from salesctl.repl import render
from salesctl.repl.commands import is_command, run_command

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import History
    from prompt_toolkit.key_binding import KeyBindings
    from rich.console import Console
    from rich.live import Live

    from salesctl.agents.chat.context import ConfirmWrite
    from salesctl.agents.chat.conversation import Conversation


def _key_bindings() -> KeyBindings:
    """Enter sends; Esc Enter, or Enter after a trailing backslash, starts a new line."""
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    def _send(event: Any) -> None:
        buffer = event.current_buffer
        if buffer.document.text_before_cursor.endswith("\\"):
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


def make_prompt(history: History | None) -> PromptSession[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory

    return PromptSession(
        history=history or InMemoryHistory(),
        multiline=True,
        key_bindings=_key_bindings(),
        prompt_continuation=lambda width, line, wrap: "… ".rjust(width),
        enable_open_in_editor=False,
    )


def terminal_confirm(console: Console) -> ConfirmWrite:
    """Show a planned change and ask on the terminal; anything but yes declines."""

    async def confirm(change: PlannedChange) -> WriteVerdict:
        from prompt_toolkit import PromptSession
        from rich.markup import escape

        console.print(f"[bold yellow]About to change[/] {escape(change.target)}:", highlight=False)
        for name, before, after in change.changes:
            old, new = escape(before or "—"), escape(after or "—")
            console.print(f"  {name}: {old} → [bold]{new}[/]", highlight=False)
        try:
            answer = await PromptSession[str]().prompt_async("Apply this change? [y/N] ")
        except (KeyboardInterrupt, EOFError):
            answer = ""
        return WriteVerdict(answer.strip().lower() in {"y", "yes"})

    return confirm


class _TurnView:
    """Draws one turn: streamed Markdown segments, tool lines, and the footer."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self.live: Live | None = None
        self.waiting: Live | None = None

    def wait(self) -> None:
        """A transient spinner while the model thinks (gone as soon as anything arrives)."""
        from rich.live import Live
        from rich.spinner import Spinner

        self.stop_waiting()
        self.waiting = Live(
            Spinner("dots", "thinking…", style="dim"),
            console=self.console,
            refresh_per_second=8,
            transient=True,
        )
        self.waiting.start()

    def stop_waiting(self) -> None:
        if self.waiting is not None:
            self.waiting.stop()
            self.waiting = None

    def add_text(self, piece: str) -> None:
        from rich.live import Live
        from rich.markdown import Markdown

        self.stop_waiting()
        self.text += piece
        if self.live is None:
            self.live = Live(
                Markdown(self.text),
                console=self.console,
                refresh_per_second=12,
                vertical_overflow="visible",
            )
            self.live.start()
        else:
            self.live.update(Markdown(self.text))

    def end_text(self) -> None:
        self.stop_waiting()
        if self.live is not None:
            from rich.markdown import Markdown

            self.live.update(Markdown(self.text), refresh=True)
            self.live.stop()
        self.live = None
        self.text = ""


async def _show_turn(conversation: Conversation, question: str, console: Console) -> None:
    from rich.markup import escape

    from salesctl.agents.chat.conversation import TurnResult
    from salesctl.agents.chat.graph import TextChunk, ToolFinished, ToolStarted

    view = _TurnView(console)
    view.wait()
    try:
        async for event in conversation.ask(question):
            if isinstance(event, TextChunk):
                view.add_text(event.text)
            elif isinstance(event, ToolStarted):
                view.end_text()
                call = escape(render.describe_call(event.call))
                console.print(f"[dim]→ {call}[/]", highlight=False)
            elif isinstance(event, ToolFinished):
                run = event.run
                detail = escape(run.detail)
                if run.status == "applied":
                    console.print(f"[green]✓ changed:[/] {detail}", highlight=False)
                elif run.status in ("refused", "declined"):
                    console.print(f"[yellow]✗ not changed:[/] {detail}", highlight=False)
                elif run.status == "error":
                    console.print(f"[dim red]  tool error: {detail}[/]", highlight=False)
                view.wait()
            elif isinstance(event, TurnResult):
                view.end_text()
                console.print(f"[dim]{escape(render.footer(event))}[/]", highlight=False)
    finally:
        view.end_text()


async def answer_with_cancel(conversation: Conversation, question: str, console: Console) -> None:
    """Answer one question; Ctrl-C cancels it (the session keeps only completed turns)."""
    loop = asyncio.get_running_loop()
    task = loop.create_task(_show_turn(conversation, question, console))
    previous = signal.getsignal(signal.SIGINT)
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        console.print("[yellow]cancelled[/] (this question is not kept in the session)")
    except SalesctlError as exc:
        _print_error(console, exc)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, previous)


def _print_error(console: Console, exc: SalesctlError) -> None:
    from rich.markup import escape

    console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)


async def run_repl(
    conversation: Conversation, *, console: Console, history: History | None = None
) -> int:
    """The interactive loop; returns the exit code."""
    spec = conversation.spec
    state = (
        f"resumed, {len(conversation.history)} earlier messages" if conversation.resumed else "new"
    )
    console.print(
        f"[bold]{spec.title}[/] · session [cyan]{conversation.session_id}[/] ({state})",
        highlight=False,
    )
    if conversation.turns_not_stored:
        notice = render.not_stored_line(conversation.turns_not_stored)
        console.print(f"[yellow]{notice}[/]", highlight=False)
    console.print("[dim]/help for commands · Esc Enter for a new line · Ctrl-D to leave[/]")
    prompt = make_prompt(history)
    while True:
        try:
            text = await prompt.prompt_async(f"{spec.name}› ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        text = text.strip()
        if not text:
            continue
        if is_command(text):
            try:
                result = await run_command(conversation, text)
            except SalesctlError as exc:
                _print_error(console, exc)
                continue
            for line in result.lines:
                console.print(line, highlight=False, markup=False)
            if result.exit:
                break
            continue
        await answer_with_cancel(conversation, text, console)
    for line in render.summary_lines(conversation.summaries(), spec.name):
        console.print(line, highlight=False, markup=False)
    return 0
