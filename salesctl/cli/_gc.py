"""Garbage collection during start-up: postponed, then the start-up objects are frozen.

Importing SQLAlchemy, pydantic, Typer and the models allocates a few hundred thousand
objects that live as long as the process. Python's collector scans them again and again while
they pile up (about 180 collections, 70–90 ms of a ~0.65 s `budget check`), finding nothing
to free. The console entry point raises the first generation's threshold so those scans do
not happen, and once the command has connected (`open_runtime`) the survivors are frozen (never
scanned again) and the usual thresholds come back for whatever the command does next.
Only the console entry point defers: tests and library callers keep Python's defaults.

At exit the interpreter runs full collections over everything still alive (a one-lead
command had 233 k objects: 0.30 s). The console entry point registers `settle_at_exit` first,
so it is the last exit handler to run: it collects what the command left (a short scan, with
start-up's objects frozen), so finalizers of garbage run while the interpreter is whole, then
freezes the rest, which the interpreter's own collections then skip. Nothing is skipped
that flushes: output, the spool and the tracking writer are flushed by their own code (the
command's `finally`, their exit handlers) before this runs.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

START_UP_THRESHOLD = 1_000_000
"""First-generation threshold until the runtime is open: higher than start-up ever
allocates, yet finite, so a command that never opens a runtime is still collected."""

_usual_thresholds: tuple[int, int, int] | None = None
_start_up_frozen = False
"""Set once the console entry point froze start-up's objects (never for library callers)."""


def defer_collections() -> None:
    """Postpone collections for the start-up of this process (console entry point only)."""
    global _usual_thresholds
    if _usual_thresholds is None:
        _usual_thresholds = gc.get_threshold()
        gc.set_threshold(START_UP_THRESHOLD, *_usual_thresholds[1:])


def settle_at_exit() -> None:
    """Have the end of the process skip the collector's scans of what is still alive
    (console entry point only; registered before any other exit handler, so it runs last)."""
    atexit.register(_settle)


def _settle() -> None:
    gc.collect()
    gc.freeze()


def start_collecting() -> None:
    """Start-up is over: freeze what it built and collect as usual from now on."""
    global _usual_thresholds, _start_up_frozen
    if _usual_thresholds is not None:
        gc.freeze()
        _start_up_frozen = True
        gc.set_threshold(*_usual_thresholds)
        _usual_thresholds = None


@contextmanager
def loading() -> Iterator[None]:
    """A command loads what it needs after connecting (an agent loads LangGraph, the
    provider's SDK: over 100 k objects that live as long as the process). On the console
    path the collector waits while they load, as during start-up, then they are frozen too;
    a library caller's collector is left as it is."""
    if not _start_up_frozen:
        yield
        return
    thresholds = gc.get_threshold()
    gc.set_threshold(START_UP_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(*thresholds)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A bulk run allocates thousands of objects per lead, nearly all freed by reference
    counting as soon as the lead is done. With the cycle collector's defaults (a pass every
    700 allocations, full passes over everything imported) it spent 1–2 ms of CPU per lead
    here, a fifth of what the run may spend. During the run, what is loaded already is left
    out of collections (frozen) and collections run a tenth as often."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not _start_up_frozen:
            gc.unfreeze()  # a library caller's objects are its own
        # else start-up's objects stay frozen, and so do what the run loaded (LangGraph,
        # the SDK): unfreezing would put all of them back in the scans, at exit too.
