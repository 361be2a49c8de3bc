"""`GET /api/v1/analytics/ai-costs` (the seed's API) and `salesctl serve`'s guard rails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from typer.testing import CliRunner

from salesctl.api.app import COSTS_PATH, create_app
from salesctl.cli import app as cli
from salesctl.config import get_settings
from salesctl.db.models import AICostTracking
from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, insert_leads, synthetic_calls

T = TypeVar("T")


def on_db(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def seed(engine: Any) -> None:
    now = datetime.now(UTC) - timedelta(minutes=1)
    await insert_leads(engine, [f"Co {i}" for i in range(1, 5)])
    rows = synthetic_calls(200, start=now - timedelta(days=20), days=20, leads=4, seed=5)
    await insert_calls(engine, list(rows))


@pytest.fixture
def client(db_env: str) -> Iterator[TestClient]:
    on_db(db_env, seed)
    with TestClient(create_app(get_settings()), base_url="http://localhost") as test_client:
        yield test_client


def numbers(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"agent_type": "qualification"},
        {"start_date": "2000-01-15T00:00:00", "end_date": "2100-01-16T23:59:59"},
        {"lead_id": "2", "start_date": "2020-01-01"},
    ],
)
def test_the_api_returns_what_costs_json_prints(client: TestClient, query: dict[str, str]) -> None:
    response = client.get(COSTS_PATH, params=query)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    flags = {"agent_type": "--agent", "start_date": "--since", "end_date": "--until"}
    args = [part for k, v in query.items() for part in (flags.get(k, "--lead"), v)]
    printed = CliRunner().invoke(cli, ["costs", "--json", *args])
    assert printed.exit_code == 0, printed.stderr
    assert numbers(response.text) == numbers(printed.stdout)


def test_the_api_totals_equal_direct_sql(client: TestClient, db_env: str) -> None:
    async def direct(engine: Any) -> tuple[int, Decimal, int, Decimal]:
        table = AICostTracking.__table__
        async with engine.connect() as conn:
            query = select(func.count(), func.sum(table.c.cost_usd)).where(
                table.c.agent_type == "enrichment"
            )
            count, cost = (await conn.execute(query)).one()
            estimated = query.where(table.c.cost_estimated)
            guessed, guessed_cost = (await conn.execute(estimated)).one()
            return count, cost, guessed, guessed_cost

    count, cost, estimated, estimated_cost = on_db(db_env, direct)
    body = numbers(
        client.get(COSTS_PATH, params={"agent_type": "enrichment", "start_date": "2000-01-01"}).text
    )
    assert (body["total_requests"], body["total_cost_usd"]) == (count, cost.normalize())
    assert (body["estimated_requests"], body["estimated_cost_usd"]) == (
        estimated,
        (estimated_cost or Decimal(0)).normalize(),
    )
    assert body["by_agent"][0]["agent_type"] == "enrichment"


@pytest.mark.parametrize(
    ("query", "param", "fragment"),
    [
        ({"start_date": "yesterdayish"}, "start_date", "is not a date or time"),
        ({"lead_id": "abc"}, "lead_id", "valid integer"),
        ({"agent_type": "qualifcation"}, "agent_type", "did you mean 'qualification'"),
        ({"start_date": "2025-02-01", "end_date": "2025-01-01"}, "end_date", "is not after"),
        ({"top": "-1"}, "top", "greater than or equal to 0"),
        # The CLI's bounds: ids past 32 bits are refused, never a 500 from the database.
        ({"lead_id": "0"}, "lead_id", "greater than or equal to 1"),
        ({"lead_id": "2147483648"}, "lead_id", "less than or equal to 2147483647"),
        ({"lead_id": "9223372036854775808"}, "lead_id", "less than or equal to 2147483647"),
    ],
)
def test_bad_parameters_get_422_naming_the_parameter(
    client: TestClient, query: dict[str, str], param: str, fragment: str
) -> None:
    response = client.get(COSTS_PATH, params=query)
    assert response.status_code == 422
    body = response.json()
    assert body["message"].startswith(f"invalid query parameter {param!r}")
    assert fragment in body["message"]
    assert body["detail"][0]["loc"][-1] == param


def test_docs_and_openapi_are_served_without_a_cdn(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert COSTS_PATH in docs.text
    assert "lead_id" in docs.text
    # One self-contained page: no script, and nothing fetched from another site.
    assert "<script" not in docs.text
    assert "cdn" not in docs.text.lower()
    assert "https://" not in docs.text
    assert client.get("/redoc").status_code == 404
    assert COSTS_PATH in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost:8001", 200),
        ("127.0.0.1:8001", 200),
        ("[::1]:8001", 200),
        ("LOCALHOST", 200),
        ("sales.internal", 200),  # configured in serve_hosts
        ("evil.example", 400),  # a DNS-rebinding page's name for 127.0.0.1
        ("evil.example:8001", 400),
        ("127.0.0.1.nip.io", 400),
        ("", 400),
    ],
)
def test_only_the_servers_own_host_names_are_answered(db_env: str, host: str, status: int) -> None:
    settings = get_settings().model_copy(update={"serve_hosts": ["sales.internal"]})
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        for path in (COSTS_PATH, "/docs", "/openapi.json"):
            response = client.get(path, headers={"host": host})
            assert response.status_code == status, (path, host)
            if status == 400:
                assert "is not one of this server's names" in response.json()["message"]
                assert "Co " not in response.text


def test_the_host_serve_listens_on_is_answered_too(db_env: str) -> None:
    with TestClient(
        create_app(get_settings(), hosts=("10.1.2.3",)), base_url="http://localhost"
    ) as c:
        assert c.get(COSTS_PATH, headers={"host": "10.1.2.3:8001"}).status_code == 200
        assert c.get(COSTS_PATH, headers={"host": "10.1.2.4:8001"}).status_code == 400


def test_a_configured_token_is_required(db_env: str) -> None:
    settings = get_settings().model_copy(update={"serve_token": SecretStr("s3cret")})
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        assert client.get(COSTS_PATH).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.get(COSTS_PATH, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert client.get(COSTS_PATH, headers=right).status_code == 200


def test_serve_refuses_a_public_interface_without_a_token(db_env: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "SALESCTL_SERVE_TOKEN" in result.stderr


def test_serve_refuses_an_uninitialised_database() -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "8999"])
    assert result.exit_code == 1
    assert "salesctl init" in result.stderr


def test_the_cli_does_not_import_fastapi() -> None:
    import subprocess
    import sys

    code = "import sys, salesctl.cli; print('fastapi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
