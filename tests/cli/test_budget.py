"""`salesctl budget check`: exit codes, one summary line, spikes, notify-once, unknown states."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.models import AICostTracking, BudgetAlert
from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, make_call

runner = CliRunner()
T = TypeVar("T")


def on_db(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def today_at() -> datetime:
    """An instant surely inside today (UTC), whenever the test runs."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + (now - midnight) / 2


def spend(url: str, *amounts: str, when: datetime | None = None, agent: str = "marketing") -> None:
    rows = [make_call(agent_type=agent, cost_usd=a, timestamp=when or today_at()) for a in amounts]
    on_db(url, lambda engine: insert_calls(engine, rows))


def check(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["budget", "check", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def alert_rows(url: str) -> list[tuple[str, int]]:
    async def read(engine):  # type: ignore[no-untyped-def]
        table = BudgetAlert.__table__
        async with engine.connect() as conn:
            query = select(table.c.scope, table.c.threshold_pct).order_by(table.c.threshold_pct)
            return [tuple(r) for r in (await conn.execute(query)).all()]

    return on_db(url, read)


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it is sent."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.mark.parametrize(
    ("daily", "code", "severity"),
    [("10", 0, "INFO"), ("0.60", 1, "WARNING"), ("0.40", 2, "CRITICAL"), ("0.50", 2, "CRITICAL")],
)
def test_exit_code_and_one_line_follow_severity(
    db_env: str, daily: str, code: int, severity: str
) -> None:
    spend(db_env, "0.25", "0.25")
    spend(db_env, "9", when=datetime.now(UTC) - timedelta(days=2))  # not today
    exit_code, out, _ = check("--daily", daily)
    assert exit_code == code
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"BUDGET {severity} - daily $0.50 of ${Decimal(daily):.2f}")
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


def test_the_line_matches_direct_sql_and_json_gives_the_detail(db_env: str) -> None:
    spend(db_env, "0.0421", "0.0000000750", "0.3")

    async def today_sum(engine):  # type: ignore[no-untyped-def]
        table = AICostTracking.__table__
        async with engine.connect() as conn:
            return (await conn.execute(select(func.sum(table.c.cost_usd)))).scalar()

    total = on_db(db_env, today_sum)  # the column type turns SQLite's 1e-10 units into Decimal
    code, out, _ = check("--daily", "10", "--monthly", "300", "--json")
    assert code == 0
    result = json.loads(out, parse_float=Decimal)
    daily = next(b for b in result["budgets"] if b["scope"] == "daily")
    assert daily["spend_usd"] == total.normalize() == Decimal("0.342100075")
    assert daily["requests"] == 3
    assert result["severity"] == "info"
    assert {b["scope"] for b in result["budgets"]} == {"daily", "monthly"}


def test_each_threshold_crossing_notifies_once(db_env: str, receiver: Receiver) -> None:
    spend(db_env, "0.85")
    args = ("--daily", "1", "--warn-at", "50,80,95", "--notify", receiver.url)
    assert check(*args)[0] == 1
    assert len(receiver.posts) == 1
    text = receiver.posts[0]["text"]
    assert "reached 50%" in text
    assert "reached 80%" in text
    assert alert_rows(db_env) == [("daily", 50), ("daily", 80)]

    assert check(*args)[0] == 1  # cron runs again: nothing new to say
    assert len(receiver.posts) == 1

    spend(db_env, "0.12")  # 97 %: crosses 95
    assert check(*args)[0] == 1
    assert len(receiver.posts) == 2
    assert [a["threshold_pct"] for a in receiver.posts[1]["alerts"]] == [95]
    assert "reached 95%" in receiver.posts[1]["text"]


def test_a_failed_notification_is_reported_keeps_the_exit_code_and_retries(
    db_env: str, receiver: Receiver
) -> None:
    spend(db_env, "2")
    receiver.status = 500
    code, out, err = check("--daily", "1", "--notify", receiver.url)
    assert code == 2
    assert out.startswith("BUDGET CRITICAL")
    assert "answered HTTP 500" in err
    assert alert_rows(db_env) == []
    receiver.status = 200
    assert check("--daily", "1", "--notify", receiver.url)[0] == 2
    assert len(receiver.posts) == 2
    assert alert_rows(db_env) == [("daily", 80), ("daily", 100)]


def test_an_unreachable_webhook_times_out_and_is_reported(db_env: str) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        spend(db_env, "0.9")
        code, _, err = check("--daily", "1", "--notify", url, "--timeout", "0.5")
    assert code == 1
    assert "notify" in err
    assert "failed" in err


def in_the_last_hour() -> datetime:
    """An instant surely inside both today (UTC) and the last hour, whenever the test runs."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(midnight, now - timedelta(hours=1))
    return start + (now - start) / 2


def test_a_spike_needs_three_earlier_days_with_spend(db_env: str) -> None:
    recent = in_the_last_hour()
    for days_ago in (1, 2):
        spend(db_env, "0.10", when=recent - timedelta(days=days_ago))
    spend(db_env, "1.00", when=recent)
    code, out, _ = check("--daily", "100")
    assert (code, "spike" in out) == (0, False)  # two days are no baseline yet

    spend(db_env, "0.10", when=recent - timedelta(days=3))
    code, out, _ = check("--daily", "100")
    assert code == 1
    assert out.startswith("BUDGET WARNING - daily $1.00 of $100.00 (1.0%); spike: last hour $1.00")
    assert (
        "spike: last hour $1.00 is 23.3x the usual $0.0429 (marketing on claude:claude-sonnet-4-5)"
    ) in out
    assert check("--daily", "100", "--spike-factor", "30")[0] == 0


def test_json_carries_the_forecast_and_the_anomalies(db_env: str) -> None:
    spend(db_env, "5")
    code, out, _ = check("--daily", "100", "--monthly", "100000", "--json")
    assert code == 0
    result = json.loads(out, parse_float=Decimal)
    forecast = result["forecast"]
    assert set(forecast) == {"day_end_usd", "month_end_usd", "crosses_at"}
    assert forecast["day_end_usd"] >= 5
    assert forecast["month_end_usd"] >= forecast["day_end_usd"]
    assert forecast["crosses_at"] is None
    assert [a["window"] for a in result["anomalies"]] == ["last_hour", "today"]
    assert all(a["usual_usd"] is None for a in result["anomalies"])  # no history yet


def test_a_forecast_over_the_monthly_budget_warns_before_the_spend_does(db_env: str) -> None:
    # $1 in every hour of the week before today: each hour left this month adds to the forecast.
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    week = [
        make_call(cost_usd="1", timestamp=midnight - timedelta(minutes=30 + 60 * h))
        for h in range(7 * 24)
    ]
    on_db(db_env, lambda engine: insert_calls(engine, week))
    spend(db_env, "5")
    code, out, _ = check("--monthly", "100000", "--json")
    spent = json.loads(out, parse_float=Decimal)["budgets"][0]["spend_usd"]
    budget = str(spent + Decimal("0.000001"))

    code, out, _ = check("--monthly", budget, "--warn-at", "100", "--json")
    result = json.loads(out, parse_float=Decimal)
    assert result["budgets"][0]["severity"] == "info"  # the spend alone is under the budget
    assert result["forecast"]["crosses_at"] is not None
    assert result["forecast"]["month_end_usd"] > Decimal(budget)
    assert (code, result["severity"]) == (1, "warning")
    code, out, _ = check("--monthly", budget, "--warn-at", "100")
    assert code == 1
    assert out.startswith("BUDGET WARNING - monthly $")
    assert "; forecast $" in out
    assert ", crossing 20" in out


def test_an_agent_budget_counts_only_that_agent(db_env: str) -> None:
    spend(db_env, "0.9", agent="marketing")
    spend(db_env, "0.05", agent="qualification")
    code, out, _ = check("--daily", "0.1", "--agent", "qualification")
    assert code == 0
    assert out.startswith("BUDGET INFO - qualification daily $0.05 of $0.10")


def test_an_unreachable_database_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    from salesctl.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://salesctl@127.0.0.1:9/nowhere")
    get_settings.cache_clear()
    code, out, err = check("--daily", "10")
    assert code == 3
    assert out.startswith("BUDGET UNKNOWN - database unreachable")
    assert "Traceback" not in err


def test_an_uninitialised_database_is_unknown() -> None:
    code, out, _ = check("--daily", "10", "--json")
    assert code == 3
    result = json.loads(out)
    assert result["severity"] == "unknown"
    assert "salesctl init" in result["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--daily", "-5"), "must be a positive amount"),
        (("--daily", "ten"), "is not an amount in USD"),
        (("--monthly", "5", "--warn-at", "80,abc"), "is not a list of percentages"),
        ((), "no budget to check"),
        (("--daily", "1", "--agent", "markting"), "did you mean 'marketing'"),
        (("--daily", "1", "--bogus"), "no such option"),
        (("--daily", "1", "--spike-factor", "1"), "must be above 1"),
    ],
)
def test_bad_input_is_unknown_with_one_clear_line(
    db_env: str, args: tuple[str, ...], message: str
) -> None:
    code, out, err = check(*args)
    assert code == 3
    assert message in out
    assert out.startswith("BUDGET UNKNOWN - ")
    assert len(out.splitlines()) == 1
    assert err == "", "said once, on stdout"
