"""Every table a newcomer sees reads at 80, 120 and 200 columns: no line is wider than the
terminal, and no agent name, model id or amount is broken across lines.

The renderers are drawn to fixed-width consoles; then the real commands run piped (no
terminal: Rich takes the width from COLUMNS, 80 by default) against a seeded database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console, RenderableType
from typer.testing import CliRunner

from salesctl.money import usd

WIDTHS = (80, 120, 200)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
AGENTS = (
    "qualification",
    "enrichment",
    "growth",
    "marketing",
    "bdr",
    "conversation",
    "sr_bdr",
    "pipeline_manager",
    "customer_success",
)
SERVED = {
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "gemini-1.5-flash": "gemini-1.5-flash-002",
    "deepseek/deepseek-chat": "deepseek/deepseek-chat-v3-0324",
}
CONFIGURED = [
    ("cerebras", "llama3.1-8b"),
    ("claude", "claude-3-haiku-20240307"),
    ("claude", "claude-sonnet-4-5"),
    ("gemini", "gemini-1.5-flash"),
    ("openrouter", "deepseek/deepseek-chat"),
]


def lines_of(renderable: RenderableType, width: int, *, crop: bool = True) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable, crop=crop)
    return console.export_text().splitlines()


def assert_fits(lines: list[str], width: int, whole: Iterable[str]) -> None:
    too_wide = [line for line in lines if len(line.rstrip()) > width]
    assert not too_wide, f"wider than {width}: {too_wide[:3]}"
    broken = [token for token in whole if not any(token in line for line in lines)]
    assert not broken, f"split across lines (or missing) at {width} columns: {broken}"


# --- the cost report ------------------------------------------------------------------------


def cost_report() -> Any:
    from salesctl.reports.costs import (
        AgentCost,
        AgentPercentiles,
        CacheStats,
        CostReport,
        LeadCost,
        ModelShare,
        ProviderModelCost,
        SessionCost,
        TimePoint,
        Tokens,
        UserCost,
        Window,
    )

    def agent(name: str, index: int) -> AgentCost:
        router = name in {"sr_bdr", "pipeline_manager", "customer_success"}
        cost = Decimal("0.0000665733") * (index + 1) ** 3
        models = (
            [
                ModelShare("claude", SERVED["claude-sonnet-4-5"], 3, cost * Decimal("0.7")),
                ModelShare("gemini", SERVED["gemini-1.5-flash"], 30, cost * Decimal("0.3")),
            ]
            if router
            else [ModelShare("claude", "claude-3-haiku-20240307", 12, cost)]
        )
        return AgentCost(
            name,
            "smart_router" if router else "passthrough",
            1234 * (index + 1),
            cost,
            cost / 1234,
            645.2 * (index + 1),
            models[0].provider,
            models[-1].model,
            unpriced_requests=1 if name == "growth" else 0,
            cache_hits=30 if name == "qualification" else 0,
            success_rate=0.99,
            models=models,
        )

    by_agent = [agent(name, i) for i, name in enumerate(AGENTS)]
    return CostReport(
        total_cost_usd=Decimal("1234.5678901234"),
        total_requests=123_456,
        by_agent=by_agent,
        by_lead=[
            LeadCost(
                i,
                "Vantage Cloud Security International Holdings",
                Decimal("0.00123456") * i,
                5 * i,
                list(AGENTS[:6]),
            )
            for i in range(1, 11)
        ],
        cache_stats=CacheStats(123_456, 30, 0.0002, Decimal("0.0020")),
        time_series=[
            TimePoint(
                (date(2026, 11, 8) + timedelta(days=i)).isoformat(),
                Decimal("0") if i < 24 else Decimal("12.3456789") * i,
                0 if i < 24 else 100 * i,
                2 if i == 29 else 0,
            )
            for i in range(30)
        ],
        window=Window(NOW - timedelta(days=30), None, "Europe/Berlin", "day"),
        filters={},
        timezone="Europe/Berlin",
        unpriced_requests=2,
        failed_requests=3,
        refused_requests=1,
        tokens=Tokens(31_656_000, 2_623_000, 1000, 0),
        by_provider_model=[
            ProviderModelCost(p, SERVED.get(m, m), 7, Decimal("0.026925"), 0, 6775, 440, 10, 0)
            for p, m in CONFIGURED
        ],
        leads_total=25,
        by_user=[
            UserCost(
                "rep-dana.ruiz@example.com",
                Decimal("0.5"),
                40,
                3,
                0,
                [SessionCost("sess_3c1cece1a712df5b", Decimal("0.009402"), 4)],
            )
        ],
        percentiles=[
            AgentPercentiles("pipeline_manager", "smart_router", 70, 900, Decimal("0.0019"), None)
        ],
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_cost_report_fits_and_splits_nothing(width: int) -> None:
    from salesctl.reports.render import render_cost_report

    report = cost_report()
    lines = lines_of(render_cost_report(report, models=CONFIGURED), width)

    whole = [*AGENTS, "claude-sonnet-4-5 70%", "gemini-1.5-flash 30%", "llama3.1-8b"]
    whole += [usd(report.total_cost_usd)]
    whole += [usd(a.total_cost_usd) for a in report.by_agent]
    whole += [usd(lead.total_cost_usd) for lead in report.by_lead]
    whole += [usd(p.total_cost_usd) for p in report.time_series if p.total_requests]
    whole += ["claude-sonnet-4-5-20250929", "deepseek/deepseek-chat-v3-0324"]
    whole += ["30 of 123,456 calls", "saved $0.002", "24 days with no spend"]
    assert_fits(lines, width, whole)
    text = "\n".join(lines)
    assert "+1?" not in text
    assert "unpriced calls:" in text


def test_the_wide_report_shows_every_column_at_full_width() -> None:
    from salesctl.reports.render import render_cost_report

    report = render_cost_report(cost_report(), models=CONFIGURED, wide=True)
    lines = lines_of(report, 80, crop=False)
    header = next(line for line in lines if line.startswith("agent "))
    for column in ("avg/call", "latency", "ok", "cached", "model"):
        assert column in header
    assert any("claude-sonnet-4-5-20250929 70%" in line for line in lines)


# --- leads, deals, prices, budgets, runs -----------------------------------------------------


def leads() -> list[Any]:
    from salesctl.crm.records import LeadRecord

    return [
        LeadRecord(
            id=1000 + i,
            company_name="Vantage Cloud Security International Holdings",
            contact_name="Anastasia Papadopoulou-Whitfield",
            contact_email=None,
            contact_title="Senior Vice President, Revenue Operations",
            phone=None,
            industry="Healthcare technology",
            employees=12_500,
            website=None,
            region="North America",
            notes=None,
            status="qualified",
            qualification_score=97,
            qualification_tier="hot",
            qualification_reasoning=None,
            qualified_at=None,
            enrichment=None,
            insights=None,
            created_at=NOW,
            updated_at=NOW,
        )
        for i in range(3)
    ]


def pipeline() -> Any:
    from salesctl.crm.records import DealRecord, Pipeline, StageTotal

    deal = DealRecord(
        id=1,
        lead_id=1,
        company_name="Ledgerline",
        name="Ledgerline lead-scoring replacement",
        stage="negotiation",
        amount=Decimal("1236000"),
        close_date=date(2026, 12, 21),
        next_step="Send revised order form with annual discount",
        stage_changed_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    return Pipeline(
        deals=[deal],
        by_stage=[StageTotal(stage="negotiation", deals=1, total_amount=Decimal("1236000"))],
        total_amount=Decimal("1236000"),
    )


def budget_check() -> Any:
    from salesctl.reports.budget import BudgetCheck, BudgetStatus
    from salesctl.reports.forecast import Anomaly, Driver, Forecast

    return BudgetCheck(
        severity="warning",
        summary="",
        budgets=[
            BudgetStatus(
                "agent customer_success",
                "monthly",
                Decimal("0.0313998"),
                Decimal("250"),
                12.5,
                "info",
                [],
                44,
                1,
            )
        ],
        forecast=Forecast(Decimal("0.0412"), Decimal("1.2745"), None),
        anomalies=[
            Anomaly(
                "last_hour",
                "hour-spike",
                "2026-12-07T11",
                NOW - timedelta(hours=1),
                NOW,
                Decimal("1.25"),
                Decimal("0.0429"),
                7,
                Decimal("29.1"),
                True,
                Driver(
                    "customer_success",
                    "claude",
                    "claude-sonnet-4-5-20250929",
                    Decimal("1.2"),
                    Decimal("0.03"),
                ),
            )
        ],
        agent=None,
        timezone="UTC",
        warn_at=[80.0],
        checked_at=NOW,
    )


def reconciliation() -> Any:
    from salesctl.reports.reconcile import ReconcileCell, Reconciliation

    cell = ReconcileCell(
        date="2026-12-06",
        provider="openrouter",
        model="deepseek/deepseek-chat-v3-0324",
        tracked_usd=Decimal("1234.5678"),
        billed_usd=Decimal("1301.25"),
        difference_usd=Decimal("-66.6822"),
        within_tolerance=False,
        tracked_requests=48_211,
        unpriced_requests=3,
        estimated_requests=2,
        flagged_request_ids=[],
        tracked_models=["deepseek-chat-v3-0324"],
        billed_models=["deepseek/deepseek-chat"],
    )
    return Reconciliation(
        file="invoice.csv",
        format="openrouter-activity",
        timezone="UTC",
        first_day="2026-12-06",
        last_day="2026-12-06",
        providers=["openrouter"],
        tolerance="0.01",
        tracked_total_usd=Decimal("1234.5678"),
        billed_total_usd=Decimal("1301.25"),
        difference_usd=Decimal("-66.6822"),
        cells_compared=1,
        cells_outside_tolerance=1,
        unpriced_requests=3,
        cells=[cell],
    )


def quality() -> Any:
    from salesctl.reports.quality import QualityReport, QualityRow

    row = QualityRow(
        "customer_success",
        "complex",
        "claude",
        "claude-sonnet-4-5-20250929",
        1_204,
        311,
        0.82,
        0.9,
        Decimal("12.3456"),
        Decimal("0.0102538"),
        Decimal("0.0113931"),
    )
    return QualityReport(None, None, [row], [row], 311)


def run_summary() -> Any:
    from salesctl.agents.bulk import RunSummary
    from salesctl.agents.outcome import AgentOutcome, CallRecord

    call = CallRecord(
        "claude", "claude-3-haiku-20240307", Decimal("0.00033525"), 900, 300, 3900, False, "t"
    )
    return RunSummary(
        agent="enrichment",
        provider="claude",
        model="claude-3-haiku-20240307",
        selection="3 named leads",
        worker_id="w",
        total=1,
        outcomes=[
            AgentOutcome("enrichment", 1, "ok", 1, "claude", "claude-3-haiku-20240307", [call])
        ],
    )


def tables() -> list[tuple[str, Any, list[str]]]:
    from salesctl.agents.render import summary_table
    from salesctl.cli.pricing import _price_table
    from salesctl.config import Settings
    from salesctl.crm.render import leads_table, pipeline_view
    from salesctl.llm.pricing import price_list
    from salesctl.reports.render import (
        render_budget_check,
        render_quality,
        render_reconciliation,
    )

    prices = price_list(Settings())
    return [
        ("leads list", leads_table(leads()), ["1000", "97", "hot"]),
        ("deals list", pipeline_view(pipeline()), ["$1,236,000.00", "negotiation"]),
        (
            "pricing list",
            _price_table(prices),
            [f"{e.provider}:{e.model}" for e in prices.entries],
        ),
        (
            "budget check",
            render_budget_check(budget_check()),
            ["$0.0314*", "$250.00", "$1.27", "customer_success"],
        ),
        (
            "costs reconcile",
            render_reconciliation(reconciliation()),
            ["~$1,234.57*", "$1,301.25", "-$66.68"],
        ),
        ("costs quality", render_quality(quality()), ["customer_success", "$0.0103", "$0.0114"]),
        ("run summary", summary_table(run_summary()), ["claude:claude-3-haiku-20240307"]),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_table_fits_and_splits_nothing(width: int) -> None:
    for name, renderable, whole in tables():
        lines = lines_of(renderable, width)
        try:
            assert_fits(lines, width, whole)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


# --- the real commands, piped ----------------------------------------------------------------


@pytest.fixture
def seeded(db_env: str) -> str:
    from salesctl.db.session import create_engine
    from salesctl.reports.synthetic import insert_calls, insert_leads, make_call, synthetic_calls

    async def go() -> None:
        engine = create_engine(db_env)
        try:
            await insert_leads(engine, ["Vantage Cloud Security", "Northwind Analytics"])
            now = datetime.now(UTC)
            rows = list(synthetic_calls(300, start=now - timedelta(days=20), days=20, leads=2))
            rows = [r for r in rows if r["timestamp"] < now]
            for served, share in (
                (SERVED["claude-sonnet-4-5"], 3),
                (SERVED["gemini-1.5-flash"], 9),
            ):
                provider = "claude" if served.startswith("claude") else "gemini"
                rows += [
                    make_call(
                        agent_type="sr_bdr",
                        agent_mode="smart_router",
                        provider=provider,
                        model=served,
                        timestamp=now - timedelta(hours=1),
                    )
                    for _ in range(share)
                ]
            await insert_calls(engine, rows)
        finally:
            await engine.dispose()

    asyncio.run(go())
    return db_env


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width", WIDTHS)
def test_the_commands_fit_when_piped(
    seeded: str, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.cli import app
    from salesctl.cli._console import err, out

    monkeypatch.setenv("COLUMNS", str(width))
    for console in (out, err):
        console.cache_clear()
    try:
        runner = CliRunner()
        for args in (["costs"], ["leads", "list"], ["pricing", "list"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
            lines = result.stdout.splitlines()
            whole = ["sr_bdr", "qualification", "claude-sonnet-4-5"] if args == ["costs"] else []
            assert_fits(lines, width, whole)
    finally:
        for console in (out, err):
            console.cache_clear()


def test_a_table_that_leaves_columns_out_says_which_and_how_to_see_them() -> None:
    from salesctl.crm.render import leads_table

    narrow = lines_of(leads_table(leads()), 80)
    assert narrow[-1] == "(Industry, Employees, Region: left out at this width; --wide shows them)"
    assert all("left out" not in line for line in lines_of(leads_table(leads()), 200))
