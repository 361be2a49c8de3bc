"""The one place that owns Rich consoles and JSON output."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

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


def jsonable(data: Any) -> Any:
    """Plain JSON types, except Decimal, which `to_json` writes with its exact digits."""
    if isinstance(data, Decimal | str | int | float | bool) or data is None:
        return data
    if isinstance(data, datetime | date):
        return data.isoformat()
    if isinstance(data, dict):
        return {str(k): jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [jsonable(v) for v in data]
    if is_dataclass(data) and not isinstance(data, type):
        return {f.name: jsonable(getattr(data, f.name)) for f in fields(data)}
    if hasattr(data, "model_dump"):
        return jsonable(data.model_dump(mode="python"))
    raise TypeError(f"cannot serialise {type(data).__name__} as JSON")


def to_json(data: Any, indent: int | None = 2) -> str:
    """JSON where money (Decimal) is a number with exactly its digits, never a float's."""
    return _write(jsonable(data), indent, 0)


def _write(value: Any, indent: int | None, depth: int) -> str:
    if isinstance(value, Decimal):
        return (
            format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
        )
    if isinstance(value, dict):
        items = [
            f"{json.dumps(k, ensure_ascii=False)}: {_write(v, indent, depth + 1)}"
            for k, v in value.items()
        ]
        return _join("{", items, "}", indent, depth)
    if isinstance(value, list):
        return _join("[", [_write(v, indent, depth + 1) for v in value], "]", indent, depth)
    return json.dumps(value, ensure_ascii=False)


def _join(open_: str, items: list[str], close: str, indent: int | None, depth: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ", ".join(items) + close
    pad, inner = " " * indent * depth, " " * indent * (depth + 1)
    return open_ + "\n" + ",\n".join(inner + item for item in items) + "\n" + pad + close


def print_json(data: Any) -> None:
    sys.stdout.write(to_json(data) + "\n")
