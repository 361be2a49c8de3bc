"""Folding, gaps and pruning keep the rollups exact, whatever order rows commit in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from salesctl.config import Settings
from salesctl.db.models import AICostTracking, Lead
from salesctl.db.models.analytics import HourlyCost, RollupGap
from salesctl.db.session import create_engine, session_factory
from salesctl.llm.tracking import RECORD_FIELDS, TrackingRecord, TrackingWriter
from salesctl.reports import costs
from salesctl.reports.costs import ReportOptions, cost_report, read_cost_report
from salesctl.reports.filters import CostFilters, build_filters
from salesctl.reports.rollups import ROLLUPS, fold, prune
from salesctl.reports.synthetic import insert_calls, insert_leads, make_call, synthetic_calls

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TRACKING = AICostTracking.__table__


async def report_totals(engine, filters: CostFilters):  # type: ignore[no-untyped-def]
    async with session_factory(engine)() as session:
        return await read_cost_report(session, filters, ReportOptions(top=0), now=NOW)


async def rollup_requests(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        total = (await conn.execute(select(func.sum(HourlyCost.__table__.c.requests)))).scalar()
    return int(total or 0)


async def open_gaps(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(RollupGap.__table__))).scalar_one()
        )


async def folds_until_gaps_close(engine, seconds: float = 30.0) -> int:  # type: ignore[no-untyped-def]
    """Fold until no gap is open; gaps wait for every older transaction on the server to end."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        await fold(engine, gap_settle=timedelta(0))
        left = await open_gaps(engine)
        if left == 0 or asyncio.get_running_loop().time() > deadline:
            return left
        await asyncio.sleep(0.2)


def postgres_only(engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a fold never sees an id that could commit later")


async def test_a_late_committing_low_id_is_still_counted(engine) -> None:
    postgres_only(engine)
    filters = build_filters(settings=Settings(), since="7d", now=NOW)
    when = NOW - timedelta(hours=2)
    async with engine.connect() as slow:
        # The slow writer takes the lower id first, then commits after the fast one.
        await slow.begin()
        await slow.execute(insert(TRACKING), [make_call(timestamp=when, cost_usd="0.5")])
        await insert_calls(engine, [make_call(timestamp=when, cost_usd="0.25")])
        folded = await fold(engine)
        assert folded.gaps_open == 1
        assert (await report_totals(engine, filters)).total_cost_usd == Decimal("0.25")
        await slow.commit()

    # Exact before the next fold (the gap is read from the detail table) and after it.
    assert (await report_totals(engine, filters)).total_cost_usd == Decimal("0.75")
    refolded = await fold(engine)
    assert (refolded.rows, refolded.gaps_open) == (1, 0)
    assert await rollup_requests(engine) == 2
    report = await report_totals(engine, filters)
    assert (report.total_requests, report.total_cost_usd) == (2, Decimal("0.75"))


async def test_a_gap_that_never_commits_is_dropped_once_settled(engine) -> None:
    postgres_only(engine)
    async with engine.connect() as doomed:
        await doomed.begin()
        await doomed.execute(insert(TRACKING), [make_call(timestamp=NOW)])
        await insert_calls(engine, [make_call(timestamp=NOW)])
        await fold(engine, gap_settle=timedelta(0))
        # Still in flight: however often folds run, the gap must stay.
        await fold(engine, gap_settle=timedelta(0))
        await fold(engine, gap_settle=timedelta(0))
        assert await open_gaps(engine) == 1
        await doomed.rollback()
    assert await folds_until_gaps_close(engine) == 0
    assert await rollup_requests(engine) == 1


async def test_a_duplicate_insert_leaves_a_gap_that_is_dropped(engine) -> None:
    postgres_only(engine)
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    row = make_call(timestamp=NOW)
    await insert_calls(engine, [row])
    async with engine.begin() as conn:  # a spool replay: the id is taken, the row is not
        await conn.execute(pg_insert(TRACKING).on_conflict_do_nothing(), [row])
    await insert_calls(engine, [make_call(timestamp=NOW)])
    assert (await fold(engine, gap_settle=timedelta(0))).gaps_open == 1
    assert await folds_until_gaps_close(engine) == 0
    assert await rollup_requests(engine) == 2


async def test_folding_in_small_chunks_counts_each_row_once(engine) -> None:
    rows = list(synthetic_calls(120, start=NOW - timedelta(days=2), days=2, leads=0, seed=3))
    await insert_calls(engine, rows)
    result = await fold(engine, chunk=7)
    assert result.rows == 120
    assert (await fold(engine)).rows == 0
    assert await rollup_requests(engine) == 120


async def test_concurrent_folds_do_not_double_count(engine) -> None:
    rows = list(synthetic_calls(300, start=NOW - timedelta(days=2), days=2, leads=0, seed=4))
    await insert_calls(engine, rows[:150])

    async def writer() -> None:
        for start in range(150, 300, 30):
            await insert_calls(engine, rows[start : start + 30])
            await asyncio.sleep(0)

    await asyncio.gather(writer(), *(fold(engine, wait=True) for _ in range(4)))
    await fold(engine, wait=True)
    assert await rollup_requests(engine) == 300


async def test_a_limited_fold_takes_on_at_most_that_many_ids(engine) -> None:
    rows = list(synthetic_calls(50, start=NOW - timedelta(days=1), days=1, leads=0, seed=7))
    await insert_calls(engine, rows)
    assert (await fold(engine, limit=20)).rows == 20
    assert await rollup_requests(engine) == 20
    assert (await fold(engine)).rows == 30
    assert await rollup_requests(engine) == 50


def tracked(call: dict[str, Any]) -> TrackingRecord:
    return TrackingRecord(**{name: call[name] for name in RECORD_FIELDS if name in call})


async def same_report_both_ways(engine) -> Any:  # type: ignore[no-untyped-def]
    filters = build_filters(settings=Settings(timezone="Asia/Kolkata"), since="30d", now=NOW)
    options = ReportOptions(top=3, by_user=True)
    async with session_factory(engine)() as session:
        rolled = await read_cost_report(session, filters, options, now=NOW)
        detail = await read_cost_report(session, filters, options, source="detail", now=NOW)
    assert {**vars(rolled), "source": None} == {**vars(detail), "source": None}
    return rolled


async def test_the_writer_folds_its_batches_so_a_report_folds_nothing(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await insert_leads(engine, [f"Lead {i}" for i in range(10)])
    start = NOW - timedelta(days=2)
    calls = list(synthetic_calls(600, start=start, days=2, leads=10, seed=5))
    await insert_calls(engine, calls[:50])  # rows from elsewhere are folded along
    writer = TrackingWriter(engine, spool=tmp_path / "tracking.jsonl", batch_size=100)
    for call in calls[50:]:
        writer.submit(tracked(call))
    await writer.flush()
    assert writer.stats.batches >= 5
    await writer.aclose()
    assert await rollup_requests(engine) == 600
    assert (await fold(engine)).rows == 0  # the report's own fold finds nothing left
    assert (await same_report_both_ways(engine)).total_requests == 600


async def test_a_flush_folds_only_when_a_fold_is_due_and_closing_always_does(  # type: ignore[no-untyped-def]
    engine, tmp_path, monkeypatch
) -> None:
    """A caller flushing every few calls must not pay a fold each time (issue #17's tail)."""
    from salesctl.llm import tracking

    calls = list(synthetic_calls(30, start=NOW - timedelta(days=1), days=1, leads=0, seed=9))
    monkeypatch.setattr(tracking, "FOLD_EVERY_S", 3600.0)  # not due, however slow the machine
    writer = TrackingWriter(engine, spool=tmp_path / "tracking.jsonl")
    for call in calls[:10]:
        writer.submit(tracked(call))
    await writer.flush()
    assert writer.stats.folds == 0
    assert await rollup_requests(engine) == 0
    monkeypatch.setattr(tracking, "FOLD_EVERY_S", 0.0)  # the fold is due now
    for call in calls[10:20]:
        writer.submit(tracked(call))
    await writer.flush()
    assert await rollup_requests(engine) == 20
    monkeypatch.setattr(tracking, "FOLD_EVERY_S", 3600.0)  # not due again
    for call in calls[20:]:
        writer.submit(tracked(call))
    await writer.flush()
    assert await rollup_requests(engine) == 20
    await writer.aclose()
    assert await rollup_requests(engine) == 30
    assert (await same_report_both_ways(engine)).total_requests == 30


async def test_a_writer_that_does_not_fold_leaves_the_report_a_tail(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls = list(synthetic_calls(80, start=NOW - timedelta(days=1), days=1, leads=0, seed=8))
    writer = TrackingWriter(engine, spool=tmp_path / "tracking.jsonl", fold=False)
    for call in calls:
        writer.submit(tracked(call))
    await writer.aclose()
    assert await rollup_requests(engine) == 0
    assert (await same_report_both_ways(engine)).total_requests == 80
    assert (await fold(engine)).rows == 80


async def test_writers_folding_at_once_count_each_row_once(engine, db_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Writer processes (here: engines of their own) fold their batches concurrently."""
    await insert_leads(engine, [f"Lead {i}" for i in range(10)])
    calls = list(synthetic_calls(900, start=NOW - timedelta(days=2), days=2, leads=10, seed=6))
    engines = [create_engine(db_env) for _ in range(3)]
    writers = [
        TrackingWriter(e, spool=tmp_path / f"w{i}" / "tracking.jsonl", batch_size=40, window=0)
        for i, e in enumerate(engines)
    ]

    async def write(writer: TrackingWriter, part: list[dict[str, Any]]) -> None:
        for n, call in enumerate(part):
            writer.submit(tracked(call))
            if n % 25 == 0:
                await asyncio.sleep(0)
        await writer.aclose()

    try:
        await asyncio.gather(*(write(w, calls[i::3]) for i, w in enumerate(writers)))
    finally:
        for e in engines:
            await e.dispose()
    assert sum(w.stats.written for w in writers) == 900
    # Exact whatever the fold state (PostgreSQL may hold gaps), and once every gap closed.
    assert (await same_report_both_ways(engine)).total_requests == 900
    assert await folds_until_gaps_close(engine) == 0
    assert await rollup_requests(engine) == 900
    assert (await same_report_both_ways(engine)).total_requests == 900


async def test_prune_deletes_old_detail_rows_and_reports_still_add_up(engine) -> None:
    [lead] = await insert_leads(engine, ["Old Corp"])
    old = NOW - timedelta(days=100, minutes=17)
    rows = [
        make_call(agent_type=agent, timestamp=old + timedelta(hours=h, minutes=m), lead_id=lead)
        for h in range(30)
        for m, agent in ((3, "qualification"), (41, "enrichment"))
    ]
    rows += [make_call(timestamp=NOW - timedelta(days=1, minutes=m)) for m in range(5)]
    await insert_calls(engine, rows)
    settings = Settings(timezone="Europe/Berlin")
    filters = build_filters(settings=settings, since="2025-02-15", until="2025-03-01", now=NOW)
    before = await cost_report(engine, filters, ReportOptions(top=0), now=NOW)
    assert before.total_requests == 60

    result = await prune(engine, before=NOW - timedelta(days=90), batch_size=7)
    assert result.deleted == 60
    async with engine.connect() as conn:
        left = (await conn.execute(select(func.count()).select_from(TRACKING))).scalar_one()
    assert left == 5

    after = await cost_report(engine, filters, ReportOptions(top=0), now=NOW)
    assert after.total_requests == before.total_requests
    assert after.total_cost_usd == before.total_cost_usd
    assert after.by_agent == before.by_agent
    assert after.by_lead == before.by_lead
    assert after.time_series == before.time_series
    # A cut in the pruned past is rounded down to the hour, and the report says so.
    ragged = build_filters(
        settings=settings, since=(old + timedelta(minutes=50)).isoformat(), now=NOW
    )
    rounded = await cost_report(engine, ragged, now=NOW)
    # since 12:33 becomes 12:00: the 12:24 call counts, the 11:46 one does not.
    assert rounded.total_requests == 59 + 5
    assert any("rounded down to the hour" in note for note in rounded.notes)


async def test_folded_and_unfolded_rows_in_a_split_hour_are_both_counted(engine) -> None:
    hour = datetime(2025, 5, 20, 10, tzinfo=UTC)
    await insert_calls(engine, [make_call(timestamp=hour + timedelta(minutes=m)) for m in (5, 40)])
    await fold(engine)
    await insert_calls(engine, [make_call(timestamp=hour + timedelta(minutes=m)) for m in (6, 41)])
    # Kolkata is UTC+05:30: its midnight falls at 18:30 UTC, mid-hour.
    settings = Settings(timezone="Asia/Kolkata")
    filters = build_filters(settings=settings, since="2025-05-20T10:30:00+00:00", now=NOW)
    report = await report_totals(engine, filters)
    assert report.total_requests == 2


# --- rollup path == detail path, on random data and random filters -------------------------

BASE = datetime(2025, 5, 20, tzinfo=UTC)
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe"]
AGENTS = ["qualification", "enrichment", "sr_bdr", "customer_success"]
LEADS = [1, 2, 3, 4, 5, 6]
SPAN_MINUTES = 2 * 24 * 60
"""Rows and windows share two days, so window edges and day cuts often split an hour."""


@st.composite
def calls(draw: st.DrawFn) -> dict[str, Any]:
    agent = draw(st.sampled_from(AGENTS))
    chat = agent in ("sr_bdr", "customer_success")
    status = draw(st.sampled_from(["ok", "ok", "ok", "error"]))
    return make_call(
        agent_type=agent,
        timestamp=BASE + timedelta(minutes=draw(st.integers(0, SPAN_MINUTES))),
        lead_id=None if chat else draw(st.sampled_from([None, *LEADS])),
        session_id=draw(st.sampled_from(["s1", "s2", "s3", None])) if chat else None,
        user_id=draw(st.sampled_from(["rep_a", "rep_b", None])) if chat else None,
        model=draw(st.sampled_from([None, "gpt-4o-mini"])),
        cost_usd=draw(st.sampled_from([True, True, True, None, "0.0000000001"])),
        cache_hit=status == "ok" and draw(st.booleans()),
        status=status,
        latency_ms=draw(st.integers(0, 5000)),
        cost_estimated=draw(st.booleans()),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int], dict[str, Any], str]:
    """Random calls, folds and filters; `top` and `walk_first` exercise the top-leads walk
    (a step of one lead total makes it stop, or give way, at every possible point)."""
    rows = draw(st.lists(calls(), max_size=50))
    folds = sorted(draw(st.lists(st.integers(0, len(rows)), min_size=1, max_size=3)))
    start = draw(st.integers(-120, SPAN_MINUTES))
    length = draw(st.one_of(st.none(), st.integers(1, SPAN_MINUTES)))
    stamp = BASE + timedelta(minutes=start)
    options = {
        "since": stamp.isoformat(),
        "until": None if length is None else (stamp + timedelta(minutes=length)).isoformat(),
        "agents": draw(st.lists(st.sampled_from(AGENTS), max_size=2, unique=True)),
        "lead_id": draw(st.sampled_from([None, None, 2])),
        "provider": draw(st.sampled_from([None, None, "claude"])),
        "model": draw(st.sampled_from([None, None, "gpt-4o-mini"])),
        "user_id": draw(st.sampled_from([None, None, "rep_a"])),
        "session_id": draw(st.sampled_from([None, None, "s2"])),
    }
    zone = draw(st.sampled_from(ZONES))
    granularity = draw(st.sampled_from(["day", "week", "month"]))
    extra = {
        "granularity": granularity,
        "top": draw(st.sampled_from([0, 1, 2, 3])),
        "walk_first": draw(st.sampled_from([1, 2, 64])),
        "exact_max": draw(st.sampled_from([1, 3, 2000])),
    }
    return rows, folds, {**options, **extra}, zone


async def _compare(url: str, scenario: Any) -> None:
    rows, folds, options, zone = scenario
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            tables = [
                "ai_cost_rollup_state",
                "ai_cost_rollup_gaps",
                "ai_cost_tracking",
                "ai_cost_lead_totals",
            ]
            for table in [*tables, *(r.table_name for r in ROLLUPS)]:
                await conn.execute(text(f"DELETE FROM {table}"))
            if not (await conn.execute(text("SELECT count(*) FROM leads"))).scalar():
                await conn.execute(
                    insert(Lead.__table__),
                    [
                        {"id": i, "company_name": name, "created_at": BASE, "updated_at": BASE}
                        for i, name in zip(LEADS, "ABCDEF", strict=True)
                    ],
                )
        done = 0
        for cut in folds:  # fold after each batch; rows after the last fold stay in the tail
            await insert_calls(engine, rows[done:cut])
            await fold(engine, chunk=20)
            done = cut
        await insert_calls(engine, rows[done:])
        granularity, top = options.pop("granularity"), options.pop("top")
        walk = {"WALK_FIRST": options.pop("walk_first"), "EXACT_MAX": options.pop("exact_max")}
        filters = build_filters(settings=Settings(timezone=zone), now=NOW, **options)
        report_options = ReportOptions(granularity=granularity, top=top, by_user=True)
        saved = {name: getattr(costs, name) for name in walk}
        try:
            for name, value in walk.items():
                setattr(costs, name, value)
            async with session_factory(engine)() as session:
                rolled = await read_cost_report(session, filters, report_options, now=NOW)
                detail = await read_cost_report(
                    session, filters, report_options, source="detail", now=NOW
                )
        finally:
            for name, value in saved.items():
                setattr(costs, name, value)
        assert {**vars(rolled), "source": None} == {**vars(detail), "source": None}
        assert rolled.total_requests == len(
            [
                r
                for r in rows
                if filters.since <= r["timestamp"]  # type: ignore[operator]
                and (filters.until is None or r["timestamp"] < filters.until)
                and (not filters.agents or r["agent_type"] in filters.agents)
                and (filters.lead_id is None or r["lead_id"] == filters.lead_id)
                and (filters.provider is None or r["provider"] == filters.provider)
                and (filters.model is None or r["model"] == filters.model)
                and (filters.user_id is None or r["user_id"] == filters.user_id)
                and (filters.session_id is None or r["session_id"] == filters.session_id)
            ]
        )
    finally:
        await engine.dispose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_rollup_path_equals_detail_path_on_random_data(database_url: str, scenario: Any) -> None:
    asyncio.run(_compare(database_url, scenario))
