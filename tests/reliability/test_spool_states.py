"""The spool is a write-ahead log that cannot forget: its committed-range bookkeeping never
outlives or mismatches the file it describes, whatever is deleted, emptied, damaged or cut
short by a crash, including a `kill -9` at every step of compaction. Each state ends with
every record in the database exactly once: served (simulator ledger) = tracked (table) =
reported (`costs --json`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import (
    accept_tracking,
    assert_served_tracked_reported,
    costs_json,
    refuse_tracking,
    rows,
    salesctl,
    spawn,
)

from salesctl.llm.simulator import Simulator
from salesctl.llm.spool import (
    SpoolLock,
    aside_dir,
    compact,
    is_settled,
    progress_path,
    read_header,
    spool_path,
)

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CONFIG = {"agent_type": "qualification", "provider": "cerebras", "model": "llama3.1-8b"}


async def calls(url: str, count: int, tag: str) -> list[str]:
    """`count` tracked calls through one gateway, closed at the end."""
    from salesctl.db.session import create_engine
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    engine = create_engine(url)
    config = LLMConfig(**CONFIG, session_id=tag, cache=False)
    try:
        async with CostOptimizedLLMProvider(engine=engine, warn=lambda _m: None) as llm:
            return [
                (await llm.complete(f"Qualify company {tag}-{n}", config=config)).tracking_id
                for n in range(count)
            ]
    finally:
        await engine.dispose()


def flush() -> dict[str, Any]:
    result = salesctl("costs", "flush", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def committed_then_kept(url: str, data_dir: Path) -> tuple[list[str], Path]:
    """Five calls in the database with their ranges in the progress file (another process
    holds the spool, so it is not compacted away), then the spool as that leaves it."""
    holder = SpoolLock(spool_path(data_dir))
    holder.shared()
    try:
        first = asyncio.run(calls(url, 5, "first"))
    finally:
        holder.release()
    spool = spool_path(data_dir)
    assert progress_path(spool).stat().st_size > 0
    assert is_settled(spool)
    return first, spool


@pytest.mark.parametrize("damage", ["deleted", "emptied"])
def test_a_spool_deleted_or_emptied_under_its_progress_file_loses_nothing(
    damage: str, sim: Simulator, db_env: str, data_dir: Path
) -> None:
    first, spool = committed_then_kept(db_env, data_dir)
    if damage == "deleted":
        spool.unlink()
    else:
        spool.write_bytes(b"")
    # New calls while the database refuses them: only the spool has them, at byte ranges the
    # old progress file says are committed.
    refuse_tracking(db_env)
    second = asyncio.run(calls(db_env, 12, "second"))
    accept_tracking(db_env)

    result = flush()
    assert (result["inserted"], result["pending"]) == (12, 0)
    assert sorted(r.request_id for r in rows(db_env)) == sorted(first + second)
    assert_served_tracked_reported(db_env, sim.ledger)
    assert flush()["inserted"] == 0


def test_an_old_format_spool_is_set_aside_with_one_warning_and_replayed(
    sim: Simulator, db_env: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    refuse_tracking(db_env)
    ids = asyncio.run(calls(db_env, 6, "old"))
    accept_tracking(db_env)
    spool = spool_path(data_dir)
    # As salesctl wrote it before the spool had a header: no first line, and two-number
    # progress ranges claiming the first record is committed.
    _header, *lines = spool.read_bytes().splitlines(keepends=True)
    spool.write_bytes(b"".join(lines))
    progress_path(spool).write_text(f"0 {len(lines[0])}\n")

    import logging

    with caplog.at_level(logging.WARNING, logger="salesctl.tracking"):
        result = flush()
    said = [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()]
    assert len(said) == 1, said
    assert "replayed by request id" in said[0]
    assert (result["inserted"], result["pending"], result["damaged"]) == (6, 0, 0)
    assert sorted(r.request_id for r in rows(db_env)) == sorted(ids)
    assert_served_tracked_reported(db_env, sim.ledger)
    assert not aside_dir(spool).exists()  # folded back and removed by the compaction
    assert flush()["inserted"] == 0


def test_a_damaged_progress_file_only_costs_a_replay(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    first, spool = committed_then_kept(db_env, data_dir)
    progress_path(spool).write_bytes(b"\x00garbage\nnot a range\n12 x y\n")
    result = flush()
    assert (result["inserted"], result["already_present"], result["pending"]) == (0, 5, 0)
    assert sorted(r.request_id for r in rows(db_env)) == sorted(first)
    assert_served_tracked_reported(db_env, sim.ledger)


def test_the_spool_deleted_under_a_running_gateway_keeps_what_the_database_refused(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    from salesctl.db.session import create_engine
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    async def run() -> list[str]:
        engine = create_engine(db_env)
        config = LLMConfig(**CONFIG, cache=False)
        returned = []
        try:
            async with CostOptimizedLLMProvider(engine=engine, warn=lambda _m: None) as llm:
                for n in range(6):
                    returned.append((await llm.complete(f"Qualify {n}", config=config)).tracking_id)
                    if n == 2:
                        spool_path(data_dir).unlink()  # someone tidies the data directory
        finally:
            await engine.dispose()
        return returned

    refuse_tracking(db_env)
    returned = asyncio.run(run())
    accept_tracking(db_env)
    assert flush()["inserted"] == 6
    assert sorted(r.request_id for r in rows(db_env)) == sorted(returned)
    assert_served_tracked_reported(db_env, sim.ledger)


# --- kill -9 at every step of compaction -------------------------------------------------------

COMPACT = """
import os, signal, sys
from pathlib import Path
from salesctl.llm.spool import compact

def die_at(step):
    if step == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)

compact(Path(sys.argv[1]), on_step=die_at)
print("finished")
"""
REWRITE_STEPS = ["locked", "read", "written", "replaced", "progress-removed", "aside-removed"]
SETTLED_STEPS = ["locked", "read", "spool-removed", "progress-removed"]


def record_line(database: str) -> tuple[str, bytes]:
    from salesctl.llm.tracking import TrackingRecord

    record = TrackingRecord(
        request_id=str(uuid.uuid4()),
        timestamp=datetime.now(UTC),
        agent_type="qualification",
        provider="cerebras",
        model="llama3.1-8b",
        prompt_tokens=120,
        completion_tokens=30,
        cost_usd=Decimal("0.0000150"),
    )
    return record.request_id, record.to_json_line(database)


async def prepare(url: str, data_dir: Path, *, pending: int, aside: int) -> list[str]:
    """Four records committed (in the database, ranges marked), `pending` only in the spool,
    `aside` in a set-aside spool of the old format."""
    from salesctl.db.session import create_engine
    from salesctl.llm.spool import Spool, database_tag, private_dirs
    from salesctl.llm.tracking import TrackingRecord, TrackingWriter

    path = spool_path(data_dir)
    tag = database_tag(url)
    engine = create_engine(url)
    holder = SpoolLock(path)
    holder.shared()
    ids: list[str] = []
    try:
        writer = TrackingWriter(engine, spool=path)
        for _ in range(4):
            request_id, line = record_line(tag)
            writer.submit(TrackingRecord.from_json(json.loads(line)))
            ids.append(request_id)
        await writer.aclose()
        spool = Spool(path)
        for _ in range(pending):
            request_id, line = record_line(tag)
            assert spool.append(line) is not None
            ids.append(request_id)
        spool.close()
        if aside:
            private_dirs(aside_dir(path))
            lines = []
            for _ in range(aside):
                request_id, line = record_line(tag)
                lines.append(line)
                ids.append(request_id)
            (aside_dir(path) / "tracking-old.jsonl").write_bytes(b"".join(lines))
    finally:
        holder.release()
        await engine.dispose()
    return ids


@sqlite_only
@pytest.mark.parametrize(
    ("path", "step"),
    [("rewrite", step) for step in REWRITE_STEPS] + [("settled", step) for step in SETTLED_STEPS],
)
def test_kill_9_at_every_step_of_compaction_loses_nothing(
    path: str, step: str, db_env: str, data_dir: Path, tmp_path: Path
) -> None:
    rewrite = path == "rewrite"
    ids = asyncio.run(prepare(db_env, data_dir, pending=3 if rewrite else 0, aside=2 * rewrite))
    spool = spool_path(data_dir)
    generation = read_header(spool)
    script = tmp_path / "compact.py"
    script.write_text(COMPACT)

    proc = spawn(str(script), str(spool), step)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, stderr
    assert "finished" not in stdout
    if step != "locked" and step != "read" and rewrite and step != "written":
        assert read_header(spool) != generation  # the rewritten spool has a new generation

    result = flush()  # the next command's replay
    assert result["pending"] == 0
    tracked = sorted(r.request_id for r in rows(db_env))
    assert tracked == sorted(ids), "a record was lost or tracked twice"
    assert costs_json()["total_requests"] == len(ids)
    assert is_settled(spool)
    assert flush()["inserted"] == 0
    assert compact(spool).done  # as the next run that closes does: nothing is left behind
    leftovers = {p.name for p in spool.parent.iterdir()} - {"tracking.lock", "tracking.open.lock"}
    assert not leftovers


@sqlite_only
@pytest.mark.parametrize("which", ["spool", "progress"])
@pytest.mark.parametrize("how", ["no permission", "a directory in its place"])
def test_an_unreadable_spool_file_is_one_line_from_costs_flush(
    which: str, how: str, sim: Simulator, db_env: str, data_dir: Path
) -> None:
    if how == "no permission" and os.geteuid() == 0:
        pytest.skip("root reads any file")
    refuse_tracking(db_env)
    asyncio.run(calls(db_env, 2, "locked-out"))
    accept_tracking(db_env)
    spool = spool_path(data_dir)
    target = spool if which == "spool" else progress_path(spool)
    target.touch()
    aside = target.with_name("saved")
    if how == "no permission":
        os.chmod(target, 0)
    else:
        target.rename(aside)
        target.mkdir()

    proc = spawn("-m", "salesctl", "costs", "flush")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    [line] = stderr.strip().splitlines()[-1:]
    assert line.startswith(f"error: cannot read the tracking spool file {target}")
    assert "mode 600" in line

    if how == "no permission":
        os.chmod(target, 0o600)
    else:
        target.rmdir()
        aside.rename(target)
    assert flush()["inserted"] == 2
    assert_served_tracked_reported(db_env, sim.ledger)
