"""JSON output for machines (`--json`, exports, the HTTP API): one writer for every layer.

Money (Decimal) is written as a JSON number with exactly its digits, never through a float;
dates and datetimes as ISO 8601; dataclasses and pydantic models as objects.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


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
