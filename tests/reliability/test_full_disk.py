"""No record, no call: when a call's tracking record can be kept neither in the database nor
in the spool (a full disk), salesctl makes no further provider call, and the calls already
made are written to stderr in lines `salesctl costs flush --import` loads once there is room.

The disk is a real 2 MiB tmpfs, filled to its last byte."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from reliability_kit import (
    SmallDisk,
    accept_tracking,
    assert_served_tracked_reported,
    refuse_tracking,
    rows,
    salesctl,
    seed_leads,
    spawn,
)

from salesctl.llm.simulator import Simulator
from salesctl.llm.tracking import STDERR_MARKER

CALLS = """
import asyncio, sys

from salesctl.core.cost_optimized_llm import CostOptimizedLLMProvider, LLMConfig
from salesctl.errors import TrackingUnavailable

async def main() -> int:
    config = LLMConfig(agent_type="qualification", provider="cerebras",
                       model="llama3.1-8b", cache=False)
    async with CostOptimizedLLMProvider() as llm:
        for n in range(10):
            try:
                await llm.complete(f"Qualify company {n}", config=config)
            except TrackingUnavailable as exc:
                print(f"refused: {exc}", file=sys.stderr)
                return 1
    return 0

sys.exit(asyncio.run(main()))
"""


def import_stderr(stderr: str, tmp_path: Path) -> dict[str, int]:
    saved = tmp_path / "stderr.log"
    saved.write_text(stderr)
    result = salesctl("costs", "flush", "--import", str(saved), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_full_disk_stops_the_calls_and_loses_none_of_them(
    sim: Simulator,
    small_disk: SmallDisk,
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from salesctl.config import get_settings

    # The database and the data directory (so the spool) share the full disk.
    database = small_disk.root / "salesctl.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SALESCTL_HOME", str(small_disk.root / "home"))
    get_settings.cache_clear()
    script = tmp_path / "calls.py"
    script.write_text(CALLS)
    small_disk.fill()

    proc = spawn(str(script))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    [refused] = [line for line in stderr.splitlines() if line.startswith("refused: ")]
    assert "cannot keep tracking records" in refused
    assert "No space left on device" in refused
    assert "free disk space" in refused
    served = sim.ledger
    assert len(served) == 1, "no call after the first record found no home"
    kept = [line for line in stderr.splitlines() if line.startswith(STDERR_MARKER)]
    assert len(kept) == len(served)

    small_disk.free()
    flushed = import_stderr(stderr, tmp_path)
    assert (flushed["inserted"], flushed["damaged"]) == (1, 0)
    assert_served_tracked_reported(url, served)
    assert import_stderr(stderr, tmp_path)["inserted"] == 0  # nothing twice


def test_a_bulk_run_on_a_full_disk_stops_taking_leads(
    sim: Simulator,
    db_env: str,
    small_disk: SmallDisk,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from salesctl.config import get_settings

    asyncio.run(seed_leads(db_env, 40))
    refuse_tracking(db_env)  # the database cannot take tracking rows either
    monkeypatch.setenv("SALESCTL_HOME", str(small_disk.root / "home"))
    get_settings.cache_clear()
    small_disk.fill()

    concurrency = 4
    proc = spawn("-m", "salesctl", "qualify", "--all", "--concurrency", str(concurrency))
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "cannot keep tracking records" in errors[0]
    assert "No space left on device" in errors[0]
    assert "stopped by" in stdout  # the run's summary is still printed
    served = sim.ledger
    assert 0 < len(served) <= concurrency, "leads kept calling after records had no home"
    kept = [line for line in stderr.splitlines() if line.startswith(STDERR_MARKER)]
    assert len(kept) == len(served)
    assert rows(db_env) == []

    small_disk.free()
    accept_tracking(db_env)
    flushed = import_stderr(stderr, tmp_path)
    assert flushed["inserted"] == len(served)
    assert_served_tracked_reported(db_env, served)
