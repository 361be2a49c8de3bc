"""Process-wide CLI state set by the root callback (just `--debug` today)."""

from __future__ import annotations

import sys
from typing import NoReturn

debug = False


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line on stderr and exit; no traceback."""
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)
