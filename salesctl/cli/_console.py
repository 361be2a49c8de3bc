"""The one place that owns Rich consoles and writes to stdout (JSON from `salesctl.jsonout`)."""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from salesctl.jsonout import to_json

if TYPE_CHECKING:
    from rich.console import Console


@cache
def out() -> Console:
    """Results go to stdout (Rich honours NO_COLOR and plain output when piped)."""
    from rich.console import Console

    return Console(soft_wrap=False)


@cache
def err() -> Console:
    """Messages, warnings and progress go to stderr, so stdout stays parseable."""
    from rich.console import Console

    return Console(stderr=True)


ANSI_STYLES = {"green": "32", "yellow": "33", "bold red": "1;31"}


def print_line(text: str, style: str | None = None) -> None:
    """One line on stdout, coloured only on a terminal (NO_COLOR and TERM=dumb honoured).

    No Rich: a one-line answer (`budget check`, run from cron every few minutes) should not
    pay for importing it.
    """
    code = ANSI_STYLES.get(style or "")
    if code and _colour_allowed(sys.stdout):
        text = f"\x1b[{code}m{text}\x1b[0m"
    sys.stdout.write(text + "\n")


def _colour_allowed(stream: Any) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def print_json(data: Any) -> None:
    sys.stdout.write(to_json(data) + "\n")
