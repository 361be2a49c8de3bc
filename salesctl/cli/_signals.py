"""Process policy for bulk runs: the first Ctrl-C or SIGTERM stops taking leads, another
one aborts the leads in flight. Installed by the commands that start a run."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesctl.agents.bulk import StopSignal


@contextlib.contextmanager
def stop_on_signals(stop: StopSignal) -> Iterator[None]:
    """First Ctrl-C or SIGTERM: stop taking leads. Another one: abort the leads in flight."""
    loop = asyncio.get_running_loop()

    def on_signal(reason: str) -> None:
        if stop.requested and stop.reason != "fatal":
            stop.abort("a second Ctrl-C" if reason == "SIGINT" else f"a second {reason}")
        else:
            stop.request(reason)  # type: ignore[arg-type]

    installed = []
    for signum, reason in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        try:
            loop.add_signal_handler(signum, on_signal, reason)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or no signal support: Ctrl-C raises as usual
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
