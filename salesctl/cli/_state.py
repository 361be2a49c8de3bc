"""Process-wide CLI state set by the root callback (just `--debug` today)."""

from __future__ import annotations

import sys
from typing import NoReturn

debug = False

MAX_ROW_ID = 2**31 - 1
"""The largest id a lead or deal can have (32-bit keys); larger ids are refused as flags."""


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line on stderr and exit; no traceback."""
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)
