"""The stop request a bulk run obeys, whoever makes it (a signal, a fatal failure, an outage).

Turning process signals into requests is the entry point's policy: see `salesctl.cli._signals`.
"""

from __future__ import annotations

import asyncio

from salesctl.agents.bulk.events import StopReason


class StopSignal:
    """Asks a run to stop taking leads (`request`) or to cancel what is running (`abort`)."""

    def __init__(self) -> None:
        self.reason: StopReason | None = None
        self.message = ""
        self.aborted = False
        self.abort_cause = ""
        self._requested = asyncio.Event()
        self._abort = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def request(self, reason: StopReason, message: str = "") -> None:
        if self.reason is None:
            self.reason = reason
            self.message = message
            self._requested.set()

    def abort(self, cause: str = "a second Ctrl-C") -> None:
        if not self.aborted:
            self.aborted = True
            self.abort_cause = cause
        self._abort.set()

    async def wait_requested(self) -> None:
        await self._requested.wait()

    async def wait_aborted(self) -> None:
        await self._abort.wait()
