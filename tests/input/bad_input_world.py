"""The files and rows the bad-input catalogue runs against."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
HUGE = "x" * 200_000


def write_files(root: Path) -> dict[str, Path]:
    """Every malformed input file the catalogue names, by name."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "binary": root / "image.png",
        "empty": root / "empty.csv",
        "wrong_headers": root / "wrong-headers.csv",
        "duplicates": root / "duplicates.csv",
        "huge_field": root / "huge-field.csv",
        "utf16": root / "utf16.csv",
        "latin1": root / "latin1.csv",
        "ragged": root / "ragged.csv",
        "directory": root / "a-directory.csv",
        "missing": root / "does-not-exist.csv",
        "empty_text": root / "empty.txt",
        "huge_text": root / "huge.txt",
    }
    files["binary"].write_bytes(PNG)
    files["empty"].write_bytes(b"")
    files["wrong_headers"].write_text("colour,flavour\nred,sweet\n")
    files["duplicates"].write_text(
        "company,contact_email\nAcme,ann@acme.example\nAcme,ann@acme.example\n"
    )
    files["huge_field"].write_text(f"company,notes\nAcme,{HUGE}\n")
    files["utf16"].write_bytes("company,industry\nMüller GmbH,Software\n".encode("utf-16"))
    files["latin1"].write_bytes("company,industry\nMüller GmbH,Software\n".encode("latin-1"))
    files["ragged"].write_text('company,industry\nAcme,"Software\n')
    files["directory"].mkdir()
    files["empty_text"].write_text("")
    files["huge_text"].write_text("word " * 3_000_000)
    return files


async def seed(url: str) -> None:
    """Two leads, a deal and a tracked call, so commands have something to refuse to touch."""
    from salesctl.db.models import AICostTracking, Deal, Lead
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            first = Lead(company_name="TechCorp Inc", industry="Software", employees=400)
            second = Lead(company_name="Globex", industry="Retail", employees=50)
            session.add_all([first, second])
            await session.flush()
            session.add(Deal(lead_id=first.id, name="Pilot", amount=Decimal("1200.00")))
            session.add(
                AICostTracking(
                    request_id=str(uuid.uuid4()),
                    timestamp=datetime.now(UTC),
                    agent_type="qualification",
                    agent_mode="passthrough",
                    lead_id=first.id,
                    provider="cerebras",
                    model="llama3.1-8b",
                    prompt_tokens=100,
                    completion_tokens=20,
                    cost_usd=Decimal("0.000012"),
                )
            )
    finally:
        await engine.dispose()


DERIVED = frozenset(
    {
        "ai_cost_rollup_state",
        "ai_cost_rollup_gaps",
        "ai_cost_hourly",
        "ai_cost_daily",
        "ai_cost_hourly_totals",
        "ai_cost_lead_hourly",
        "ai_cost_lead_daily",
        "ai_cost_lead_totals",
        "ai_cost_session_hourly",
    }
)
"""Rollups: caches of `ai_cost_tracking` that any report may bring up to date."""


async def dump(url: str) -> list[str]:
    """Every row of every table but the derived rollups, to tell whether a command wrote."""
    from sqlalchemy import MetaData, select

    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            metadata = MetaData()
            await conn.run_sync(metadata.reflect)
            rows = []
            for table in metadata.sorted_tables:
                if table.name in DERIVED:
                    continue
                for row in (await conn.execute(select(table))).all():
                    rows.append(f"{table.name}: {tuple(row)!r}")
            return rows
    finally:
        await engine.dispose()


def dump_sqlite(url: str) -> list[str]:
    """`dump` for a SQLite file, through the standard library (fast enough to run twice per
    case)."""
    import contextlib
    import sqlite3

    from salesctl.db.session import sqlite_path

    path = sqlite_path(url)
    assert path is not None
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
            if name not in DERIVED
        ]
        return [
            f"{table}: {row!r}"
            for table in tables
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
        ]
