"""The chat REPL, usable without Typer: `run_chat()` picks the terminal REPL or line mode."""

from salesctl.repl.driver import ChatOptions, run_chat

__all__ = ["ChatOptions", "run_chat"]
