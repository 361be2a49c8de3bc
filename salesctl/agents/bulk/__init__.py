"""Bulk runs: one agent over many leads, concurrently, resumably, shared between workers.

`run_agent` claims leads (see `claims`), runs up to `concurrency` of them at once, saves
their results in batches (see `writer`), renews its claims while they run, reports each
finished lead as an event, and returns a summary.
A stop request (the first Ctrl-C or SIGTERM, a failure that would repeat for every lead, or
the database becoming unreachable) stops it taking new leads and lets the running ones finish
and be saved; an abort (a second Ctrl-C or SIGTERM) cancels them and closes their claims as
failed, naming the cause. A run that loses its database still ends with its summary: what the
calls in flight were tracked as waits in the spool, and the claims it could not close are
taken over by the next run on this host at once (their process is gone).
"""

from salesctl.agents.bulk.events import LeadFinished, RunEvent, RunStarted, Stopping, StopReason
from salesctl.agents.bulk.options import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, RunOptions
from salesctl.agents.bulk.runner import ABORTED, bulk_scope, count_pending, run_agent
from salesctl.agents.bulk.stop import StopSignal
from salesctl.agents.bulk.summary import RunSummary

__all__ = [
    "ABORTED",
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "LeadFinished",
    "RunEvent",
    "RunOptions",
    "RunStarted",
    "RunSummary",
    "StopReason",
    "StopSignal",
    "Stopping",
    "bulk_scope",
    "count_pending",
    "run_agent",
]
