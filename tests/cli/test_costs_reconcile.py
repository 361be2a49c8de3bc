"""`salesctl costs reconcile FILE`: the table, the JSON and the exit codes (0, 1, 3)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, make_call

runner = CliRunner()
INVOICES = Path(__file__).parent.parent / "reports" / "invoices"
SONNET = "claude-sonnet-4-5-20250929"


def track(url: str) -> None:
    rows = [
        make_call(provider="claude", model=SONNET, cost_usd="0.5", timestamp=_at(10)),
        make_call(provider="claude", model=SONNET, cost_usd="0.25", timestamp=_at(10)),
        make_call(
            provider="claude", model="claude-3-haiku-20240307", cost_usd="0.03", timestamp=_at(10)
        ),
        make_call(provider="claude", model=SONNET, cost_usd="1.20", timestamp=_at(11)),
        make_call(provider="claude", model=SONNET, cost_usd=None, timestamp=_at(11)),
    ]

    async def go() -> None:
        engine = create_engine(url)
        try:
            await insert_calls(engine, rows)
        finally:
            await engine.dispose()

    asyncio.run(go())


def _at(day: int) -> datetime:
    return datetime(2025, 3, day, 12, tzinfo=UTC)


def reconcile(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["costs", "reconcile", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_matching_cost_report_exits_0_with_one_line(db_env: str) -> None:
    track(db_env)
    code, out, err = reconcile(str(INVOICES / "anthropic_cost_report.json"))
    assert code == 0, err
    assert out.splitlines() == [
        "all 4 cell(s) within the $0.01 tolerance, 2025-03-10..2025-03-11 (UTC)",
        "tracked $1.98, billed $1.98, difference $0.00",
    ]


def test_a_csv_that_differs_in_one_cell_exits_1_and_shows_that_cell(
    db_env: str, tmp_path: Path
) -> None:
    track(db_env)
    path = tmp_path / "invoice.csv"
    path.write_text(
        "date,provider,model,cost_usd\n"
        "2025-03-10,anthropic,claude-sonnet-4-5,0.75\n"
        "2025-03-10,claude,claude-3-haiku-20240307,0.03\n"
        "2025-03-11,claude,claude-sonnet-4-5,1.50\n"
    )
    code, out, _ = reconcile(str(path))
    assert code == 1
    lines = out.splitlines()
    row = next(line for line in lines if line.lstrip().startswith("2025-"))
    assert row.replace("│", " ").split() == [
        "2025-03-11",
        "claude:claude-sonnet-4-5",
        "$1.20*",
        "$1.50",
        "-$0.30",
    ]
    assert sum(1 for line in lines if line.lstrip().startswith("2025-")) == 1
    assert lines[-4].startswith("* leaves out unpriced calls: 1 call had no known price")
    assert lines[-2] == "1 of 3 cell(s) outside the $0.01 tolerance, 2025-03-10..2025-03-11 (UTC)"
    assert lines[-1] == "tracked $1.98, billed $2.28, difference -$0.30"
    assert max(len(line) for line in lines) <= 120  # the test terminal's COLUMNS

    code, out, _ = reconcile(str(path), "--json")
    assert code == 1
    result = json.loads(out, parse_float=Decimal)
    assert result["cells_outside_tolerance"] == 1
    first = result["cells"][0]
    assert first["difference_usd"] == Decimal("-0.3")
    assert first["tracked_models"] == [SONNET]
    assert first["billed_models"] == ["claude-sonnet-4-5"]
    assert first["unpriced_requests"] == 1
    assert len(first["flagged_request_ids"]) == 1
    assert first["estimated_requests"] == 0
    assert result["tracked_total_usd"] == Decimal("1.98")

    assert reconcile(str(path), "--tolerance", "25%")[0] == 0


def test_files_and_flags_it_cannot_use_exit_3_with_one_line(db_env: str, tmp_path: Path) -> None:
    bad = tmp_path / "bill.csv"
    bad.write_text("date,provider,model,cost_usd,project\n")
    for args, message in [
        ((str(tmp_path / "missing.csv"),), "cannot read"),
        (
            (str(bad),),
            "unknown column(s) project: expected the header date,provider,model,cost_usd",
        ),
        ((str(INVOICES / "generic.csv"), "--tolerance", "lots"), "--tolerance 'lots'"),
        ((str(INVOICES / "generic.csv"), "--provider", "acme"), "unknown provider 'acme'"),
        ((str(INVOICES / "generic.csv"), "--since", "2025-13-01"), "--since '2025-13-01'"),
        ((), "missing argument"),
    ]:
        code, _, err = reconcile(*args)
        assert code == 3, (args, err)
        assert message in err
        assert "Traceback" not in err
        if args:
            assert len(err.strip().splitlines()) == 1
