"""`costs export`: the tracked calls as CSV or JSON lines, streamed in constant memory."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TextIO

from salesctl.reports.filters import CostFilters

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

ExportFormat = Literal["csv", "jsonl"]
TEXT_COLUMNS = ("prompt_text", "completion_text")
FETCH_ROWS = 2_000
"""Rows per round trip from the server-side cursor."""


def export_columns(with_text: bool) -> list[str]:
    from salesctl.db.models.tracking import AICostTracking

    names = [c.name for c in AICostTracking.__table__.columns]
    return [n for n in names if with_text or n not in TEXT_COLUMNS]


async def stream_calls(
    engine: AsyncEngine, filters: CostFilters, *, with_text: bool = False
) -> AsyncIterator[Sequence[Any]]:
    """The matching detail rows in id order, fetched `FETCH_ROWS` at a time."""
    from sqlalchemy import select

    from salesctl.db.models.tracking import AICostTracking
    from salesctl.reports.filters import verify_agents
    from salesctl.reports.rollups import _filter_conditions, _in_window

    if filters.pending_agents is not None:
        async with engine.connect() as conn:
            filters = await verify_agents(conn, filters)
    t = AICostTracking.__table__
    columns = [t.c[name] for name in export_columns(with_text)]
    query = (
        select(*columns)
        .where(
            *_in_window(t.c.timestamp, filters.since, filters.until),
            *_filter_conditions(t, filters, None),
        )
        .order_by(t.c.id)
        .execution_options(yield_per=FETCH_ROWS)
    )
    async with engine.connect() as conn:
        result = await conn.stream(query)
        async for partition in result.partitions():
            for row in partition:
                yield row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


async def export_calls(
    engine: AsyncEngine,
    filters: CostFilters,
    *,
    fmt: ExportFormat,
    stream: TextIO,
    with_text: bool = False,
) -> int:
    """Write the calls to `stream`; returns how many."""
    from salesctl.jsonout import to_json

    names = export_columns(with_text)
    written = 0
    writer = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(names)
    async for row in stream_calls(engine, filters, with_text=with_text):
        if writer is not None:
            writer.writerow([_cell(v) for v in row])
        else:
            record = {
                name: (value.normalize() if isinstance(value, Decimal) and value else value)
                for name, value in zip(names, row, strict=True)
            }
            stream.write(to_json(record, indent=None) + "\n")
        written += 1
    stream.flush()
    return written
