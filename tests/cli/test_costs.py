"""`salesctl costs` and its subcommands, driven through the CLI on both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.models import AICostTracking
from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, insert_leads, make_call, synthetic_calls

runner = CliRunner()
T = TypeVar("T")
SEED_KEYS = {
    "total_cost_usd": (int, Decimal),
    "total_requests": int,
    "by_agent": list,
    "by_lead": list,
    "cache_stats": dict,
    "time_series": list,
}
AGENT_KEYS = {
    "agent_type",
    "agent_mode",
    "total_requests",
    "total_cost_usd",
    "avg_cost_per_request",
    "avg_latency_ms",
    "primary_provider",
    "primary_model",
}
LEAD_KEYS = {"lead_id", "company_name", "total_cost_usd", "total_requests", "agents_used"}
CACHE_KEYS = {"total_requests", "cache_hits", "cache_hit_rate", "estimated_savings_usd"}
POINT_KEYS = {"date", "total_cost_usd", "total_requests"}


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def on_db(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(engine)` against the test database outside the CLI's event loop."""

    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def money(engine, value) -> Decimal:  # type: ignore[no-untyped-def]
    if value is None:
        return Decimal(0)
    return Decimal(int(value)).scaleb(-10) if engine.dialect.name == "sqlite" else Decimal(value)


async def seed(engine) -> datetime:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    await insert_leads(engine, [f"Lead Co {i}" for i in range(1, 6)])
    rows = list(synthetic_calls(400, start=now - timedelta(days=40), days=40, leads=5, seed=11))
    await insert_calls(engine, [r for r in rows if r["timestamp"] < now])
    return now


def test_costs_json_is_the_seed_response_and_matches_sql(db_env: str) -> None:
    on_db(db_env, seed)
    code, out, err = invoke("costs", "--json", "--since", "2000-01-01", "--top", "0")
    assert code == 0, err
    # Every number is a JSON number; parse money as Decimal to compare exactly.
    report = json.loads(out, parse_float=Decimal)
    for key, kind in SEED_KEYS.items():
        assert isinstance(report[key], kind if isinstance(kind, tuple) else (kind,)), key
    assert all(set(agent) >= AGENT_KEYS for agent in report["by_agent"])
    assert all(set(lead) >= LEAD_KEYS for lead in report["by_lead"])
    assert set(report["cache_stats"]) >= CACHE_KEYS
    assert all(set(point) >= POINT_KEYS for point in report["time_series"])

    async def direct(engine):  # type: ignore[no-untyped-def]
        async with engine.connect() as conn:
            table = AICostTracking.__table__
            count, cost = (
                await conn.execute(select(func.count(), func.sum(table.c.cost_usd)))
            ).one()
            lead_sql = (
                "SELECT lead_id, count(*) FROM ai_cost_tracking "
                "WHERE lead_id IS NOT NULL GROUP BY lead_id"
            )
            per_lead = dict((await conn.execute(text(lead_sql))).all())
        return count, cost, per_lead

    count, cost, per_lead = on_db(db_env, direct)
    assert report["total_requests"] == count
    assert report["total_cost_usd"] == cost.normalize()
    assert {lead["lead_id"]: lead["total_requests"] for lead in report["by_lead"]} == per_lead
    assert sum(p["total_requests"] for p in report["time_series"]) == count
    assert report["timezone"] == "UTC"


def test_human_report_has_tables_chart_and_says_where_days_are_cut(
    db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_db(db_env, seed)
    monkeypatch.setenv("SALESCTL_TIMEZONE", "Europe/Berlin")
    from salesctl.config import get_settings

    get_settings.cache_clear()
    code, out, _ = invoke("costs", "--since", "7d")
    assert code == 0
    assert "By agent" in out
    assert "By model" in out
    assert "Daily cost (days cut in Europe/Berlin)" in out
    assert "█" in out
    assert "From cache" in out


def test_unpriced_calls_show_as_unknown_never_zero(db_env: str) -> None:
    now = datetime.now(UTC) - timedelta(minutes=1)
    row = make_call(agent_type="growth", model="brand-new", cost_usd=None, timestamp=now)
    on_db(db_env, lambda engine: insert_calls(engine, [row]))
    code, out, _ = invoke("costs", "--since", "1d", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["unpriced_requests"] == 1
    assert report["by_agent"][0]["total_cost_usd"] is None
    code, out, _ = invoke("costs", "--since", "1d")
    assert "Total cost  —" in out
    assert any(line.split()[:4] == ["growth", "pass", "1", "—"] for line in out.splitlines())
    assert "* leaves out unpriced calls: 1 call had no known price" in out


def test_estimated_costs_are_in_the_total_and_said_to_be(db_env: str) -> None:
    now = datetime.now(UTC) - timedelta(minutes=1)
    rows = [
        make_call(agent_type="growth", cost_usd="0.002", timestamp=now),
        make_call(agent_type="growth", cost_usd="0.0005", cost_estimated=True, timestamp=now),
        make_call(agent_type="growth", model="brand-new", cost_usd=None, timestamp=now),
    ]
    on_db(db_env, lambda engine: insert_calls(engine, rows))
    code, out, _ = invoke("costs", "--since", "1d", "--json")
    assert code == 0
    report = json.loads(out, parse_float=Decimal)
    assert report["total_cost_usd"] == Decimal("0.0025")
    assert (report["estimated_cost_usd"], report["estimated_requests"]) == (Decimal("0.0005"), 1)
    assert report["unpriced_requests"] == 1
    [growth] = report["by_agent"]
    assert (growth["estimated_cost_usd"], growth["estimated_requests"]) == (Decimal("0.0005"), 1)
    code, out, _ = invoke("costs", "--since", "1d")
    assert "~$0.0005 of the total, for 1 call served without a usage report" in out
    assert "3 (1 unpriced, 1 estimated)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agent", "qualifcation"), "did you mean 'qualification'"),
        (("--since", "last tuesday"), "--since 'last tuesday' is not a date or time"),
        (("--since", "2025-02-01", "--until", "2025-01-01"), "is not after --since"),
        (("--by", "hour"), "--by 'hour' is not one of"),
        (("--provider", "acme"), "unknown provider 'acme'"),
    ],
)
def test_bad_flags_are_one_line_and_exit_1(
    db_env: str, args: tuple[str, ...], message: str
) -> None:
    code, out, err = invoke("costs", *args)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_per_rep_view_lists_users_sessions_and_costliest_sessions(db_env: str) -> None:
    when = datetime.now(UTC) - timedelta(minutes=5)
    rows = [
        make_call(
            agent_type="sr_bdr",
            session_id="s-big",
            user_id="rep_a",
            timestamp=when,
            cost_usd="0.05",
        ),
        make_call(
            agent_type="sr_bdr",
            session_id="s-big",
            user_id="rep_a",
            timestamp=when,
            cost_usd="0.05",
        ),
        make_call(
            agent_type="sr_bdr",
            session_id="s-small",
            user_id="rep_a",
            timestamp=when,
            cost_usd="0.01",
        ),
        make_call(
            agent_type="customer_success",
            session_id="s-b",
            user_id="rep_b",
            timestamp=when,
            cost_usd="0.02",
        ),
    ]
    on_db(db_env, lambda engine: insert_calls(engine, rows))
    code, out, _ = invoke("costs", "--by", "user", "--json", "--since", "1d")
    assert code == 0
    users = {u["user_id"]: u for u in json.loads(out)["by_user"]}
    assert users["rep_a"]["sessions"] == 2
    assert users["rep_a"]["total_cost_usd"] == 0.11
    assert [s["session_id"] for s in users["rep_a"]["top_sessions"]] == ["s-big", "s-small"]
    assert users["rep_b"]["total_requests"] == 1
    code, out, _ = invoke("costs", "--by", "user", "--since", "1d")
    assert "By rep (chat agents)" in out
    assert "rep_a" in out


def test_export_streams_every_matching_row_as_csv_and_jsonl(db_env: str) -> None:
    when = datetime.now(UTC) - timedelta(hours=1)
    rows = [make_call(agent_type="qualification", timestamp=when) for _ in range(25)]
    rows += [
        make_call(
            agent_type="enrichment",
            timestamp=when,
            cost_usd="0.0000000750",
            cost_estimated=True,
            configured_model="claude-3-haiku",
            cache_write_1h_tokens=64,
            reasoning_tokens=12,
        )
    ]
    on_db(db_env, lambda engine: insert_calls(engine, rows))

    code, out, err = invoke("costs", "export", "--format", "csv", "--since", "1d")
    assert code == 0
    records = list(csv.DictReader(io.StringIO(out)))
    assert len(records) == 26
    assert "26 call(s) exported" in err
    assert "prompt_text" not in records[0]
    enrichment = next(r for r in records if r["agent_type"] == "enrichment")
    assert enrichment["cost_usd"] == "0.000000075"
    assert (enrichment["cost_estimated"], enrichment["configured_model"]) == (
        "true",
        "claude-3-haiku",
    )
    assert (enrichment["cache_write_1h_tokens"], enrichment["reasoning_tokens"]) == ("64", "12")

    code, out, _ = invoke(
        "costs", "export", "--format", "jsonl", "--agent", "enrichment", "--since", "1d"
    )
    lines = [json.loads(line, parse_float=Decimal) for line in out.splitlines()]
    assert [line["agent_type"] for line in lines] == ["enrichment"]
    assert lines[0]["cost_usd"] == Decimal("0.000000075")


def test_prune_keeps_report_totals_and_deletes_detail_rows(db_env: str) -> None:
    old = datetime.now(UTC) - timedelta(days=120)
    rows = [make_call(timestamp=old + timedelta(minutes=i)) for i in range(30)]
    rows.append(make_call(timestamp=datetime.now(UTC) - timedelta(minutes=2)))
    on_db(db_env, lambda engine: insert_calls(engine, rows))
    since = (old - timedelta(days=1)).date().isoformat()
    _, before, _ = invoke("costs", "--json", "--since", since)
    code, out, _ = invoke("costs", "prune", "--older-than", "90d")
    assert code == 0
    assert "deleted 30 detail row(s)" in out
    _, after, _ = invoke("costs", "--json", "--since", since)
    keys = ("total_cost_usd", "total_requests", "by_agent", "time_series")
    assert {k: json.loads(after)[k] for k in keys} == {k: json.loads(before)[k] for k in keys}

    async def left(engine):  # type: ignore[no-untyped-def]
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(AICostTracking))).scalar()

    assert on_db(db_env, left) == 1


def test_savings_reprices_routed_calls_and_counts_cache_hits(
    db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESCTL_ROUTER__COMPLEX", '["claude:premium-x"]')
    monkeypatch.setenv(
        "SALESCTL_PRICING",
        '{"claude:premium-x": {"input_per_mtok": "10", "output_per_mtok": "20"}}',
    )
    from salesctl.config import get_settings

    get_settings.cache_clear()
    when = datetime.now(UTC) - timedelta(minutes=3)
    rows = [
        # 1,000 + 500 tokens: $0.02 at the premium model, $0.0003 actually spent.
        make_call(
            agent_type="sr_bdr",
            timestamp=when,
            prompt_tokens=1000,
            completion_tokens=500,
            cost_usd="0.0003",
        ),
        make_call(
            agent_type="qualification", timestamp=when, cache_hit=True, saved_usd=Decimal("0.004")
        ),
    ]
    on_db(db_env, lambda engine: insert_calls(engine, rows))
    code, out, _ = invoke("costs", "savings", "--since", "1d", "--json")
    assert code == 0
    report = json.loads(out, parse_float=Decimal)
    by_agent = {row["agent_type"]: row for row in report["by_agent"]}
    assert by_agent["sr_bdr"]["router_saved_usd"] == Decimal("0.0197")
    assert by_agent["sr_bdr"]["without_router_usd"] == Decimal("0.02")
    assert report["total"]["cache_saved_usd"] == Decimal("0.004")
    assert report["premium_model"] == "premium-x"


def test_outcomes_divide_spend_by_sales_results(db_env: str) -> None:
    now = datetime.now(UTC)

    async def world(engine):  # type: ignore[no-untyped-def]
        from salesctl.db.models import Deal

        ids = await insert_leads(engine, ["Hot Co", "Warm Co", "Cold Co"])
        tiers = (("hot", "qualified"), ("warm", "qualified"), ("cold", "disqualified"))
        async with engine.begin() as conn:
            for lead_id, (tier, status) in zip(ids, tiers, strict=True):
                await conn.execute(
                    text(
                        "UPDATE leads SET qualification_tier = :tier, status = :status, "
                        "qualified_at = :at WHERE id = :id"
                    ),
                    {
                        "tier": tier,
                        "status": status,
                        "at": now - timedelta(minutes=1),
                        "id": lead_id,
                    },
                )
            deal = {"stage_changed_at": now, "created_at": now, "updated_at": now}
            await conn.execute(
                Deal.__table__.insert(),
                [
                    {**deal, "lead_id": ids[0], "name": "Hot deal", "stage": "closed_won"},
                    {**deal, "lead_id": ids[1], "name": "Warm deal", "stage": "proposal"},
                ],
            )
        calls = [make_call(timestamp=now - timedelta(minutes=2), cost_usd="0.03") for _ in range(2)]
        await insert_calls(engine, calls)

    on_db(db_env, world)
    code, out, _ = invoke("costs", "outcomes", "--since", "1d", "--json")
    assert code == 0
    total = json.loads(out, parse_float=Decimal)["total"]
    assert (total["qualified"], total["hot"], total["meetings"], total["won"]) == (2, 1, 2, 1)
    assert total["per_qualified_usd"] == Decimal("0.03")
    assert total["per_won_usd"] == Decimal("0.06")
    code, out, _ = invoke("costs", "outcomes", "--since", "1d")
    assert "Unit economics by agent" in out
