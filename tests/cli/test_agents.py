"""`salesctl qualify|enrich|grow|market|bdr|converse` and `salesctl icp show` as a user meets
them: options, errors, estimates, output, and the cache switch."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.llm.simulator import Simulator

LEAD = {
    "company_name": "TechCorp Inc",
    "contact_title": "VP of Sales",
    "industry": "Software",
    "employees": 400,
    "region": "Germany",
    "notes": "Budget approved for Q3.",
}


def salesctl(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input)


async def _query(url: str, statement: str) -> list[Any]:
    from sqlalchemy import text

    from salesctl.db.models import Lead
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            if statement == "seed":
                session.add_all([Lead(**LEAD), Lead(**{**LEAD, "company_name": "Globex"})])
                return []
            return list((await session.execute(text(statement))).all())
    finally:
        await engine.dispose()


@pytest.fixture
def world(db_env: str, sim: Simulator) -> Any:
    """Two leads in the test database; returns a function running SQL against it."""
    asyncio.run(_query(db_env, "seed"))
    return lambda statement: asyncio.run(_query(db_env, statement))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["qualify", "--lead", "1", "--all"], "choose leads one way"),
        (["qualify"], "which leads? use --lead ID"),
        (["qualify", "--where", "revenue>5"], "cannot filter on 'revenue'"),
        (["qualify", "--all", "--provider", "openai"], "--provider openai needs --model as well"),
        (["enrich", "--all", "--source", "x.html"], "--source documents one lead"),
        (["converse", "--all"], "no such option: --all"),
    ],
)
def test_bad_options_fail_with_one_line_before_connecting(args: list[str], message: str) -> None:
    result = salesctl(*args)

    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_converse_needs_a_transcript() -> None:
    result = salesctl("converse", "--lead", "1", input="")

    assert result.exit_code == 1
    assert result.stderr == "error: stdin is empty: give the call transcript as text\n"


def test_enrich_refuses_a_binary_source(tmp_path: Path) -> None:
    pdf = tmp_path / "deck.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\x00\x01\x02binary")

    result = salesctl("enrich", "--lead", "1", "--source", str(pdf))

    assert result.exit_code == 1
    assert "deck.pdf is a binary file" in result.stderr


def test_estimate_prices_the_run_for_every_model_and_spends_nothing(world: Any) -> None:
    result = salesctl("qualify", "--all", "--estimate", "--json")

    assert result.exit_code == 0, result.stderr
    estimate = json.loads(result.stdout)
    assert estimate["leads"] == 2
    chosen = [m for m in estimate["models"] if m["chosen"]]
    assert [(m["provider"], m["model"]) for m in chosen] == [("cerebras", "llama3.1-8b")]
    assert len(estimate["models"]) > 1
    assert all(
        m["input_tokens"] == 2 * estimate["avg_input_tokens_per_lead"] > 0
        for m in estimate["models"]
    )
    assert chosen[0]["cost_usd"] > 0
    assert world("SELECT count(*) FROM agent_runs") == [(0,)]
    assert world("SELECT count(*) FROM ai_cost_tracking") == [(0,)]

    table = salesctl(
        "qualify",
        "--lead",
        "1",
        "--estimate",
        "--provider",
        "claude",
        "--model",
        "claude-3-haiku-20240307",
    )
    assert table.exit_code == 0, table.stderr
    assert "claude:claude-3-haiku-20240307 (chosen)" in table.stdout


def test_one_lead_shows_a_panel_and_bulk_runs_a_summary(world: Any) -> None:
    single = salesctl("qualify", "--lead", "1")
    bulk = salesctl("qualify", "--all")

    assert single.exit_code == 0, single.stderr
    assert "qualification · lead 1 · TechCorp Inc" in single.stdout
    assert "/100" in single.stdout
    assert "Meets: industry (Software)" in single.stdout.replace("\n", " ").replace("│", "")
    assert bulk.exit_code == 0, bulk.stderr
    assert "lead 2 ok" in bulk.stderr  # plain progress lines when not on a terminal
    summary = bulk.stdout
    for label in ("done", "failed", "total cost", "cost per lead", "average latency"):
        assert label in summary
    assert world("SELECT lead_id, status FROM agent_runs ORDER BY id") == [(1, "ok"), (2, "ok")]


def test_provider_model_and_cache_options(world: Any) -> None:
    first = salesctl(
        "qualify",
        "--lead",
        "1",
        "--provider",
        "anthropic",
        "--model",
        "claude-3-haiku-20240307",
        "--json",
    )
    cached = salesctl(
        "qualify",
        "--lead",
        "1",
        "--provider",
        "claude",
        "--model",
        "claude-3-haiku-20240307",
        "--json",
    )
    fresh = salesctl(
        "qualify",
        "--lead",
        "1",
        "--provider",
        "claude",
        "--model",
        "claude-3-haiku-20240307",
        "--json",
        "--no-cache",
    )

    assert [r.exit_code for r in (first, cached, fresh)] == [0, 0, 0]
    rows = world("SELECT provider, model, cache_hit, cost_usd FROM ai_cost_tracking ORDER BY id")
    assert [(p, m, bool(hit)) for p, m, hit, _ in rows] == [
        ("claude", "claude-3-haiku-20240307", False),
        ("claude", "claude-3-haiku-20240307", True),
        ("claude", "claude-3-haiku-20240307", False),
    ]
    assert json.loads(cached.stdout)["cost_usd"] == 0
    assert json.loads(first.stdout)["score"] == json.loads(cached.stdout)["score"]


def test_icp_show_prints_the_profile_from_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.config import get_settings

    default = salesctl("icp", "show", "--json")
    config = tmp_path / "config.toml"
    config.write_text('[icp]\ntarget_industries = ["logistics"]\nhot_threshold = 90\n')
    monkeypatch.setenv("SALESCTL_CONFIG", str(config))
    get_settings.cache_clear()
    custom = salesctl("icp", "show")

    assert default.exit_code == 0
    shown = json.loads(default.stdout)
    assert shown["target_industries"] == ["software", "saas", "fintech", "healthcare technology"]
    assert shown["source"].startswith("default")
    assert custom.exit_code == 0
    assert "logistics" in custom.stdout
    assert "score ≥ 90" in custom.stdout
    assert "ideal customer profile ([icp] in" in custom.stdout


@pytest.mark.parametrize(
    "args",
    [["qualify", "--help"], ["icp", "show"], ["qualify", "--lead", "1", "--all"]],
    ids=lambda a: " ".join(a),
)
def test_commands_that_call_no_model_import_neither_langgraph_nor_sdks(args: list[str]) -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from salesctl.cli import app\n"
        "CliRunner().invoke(app, sys.argv[1:])\n"
        "heavy = {'anthropic', 'openai', 'cerebras', 'langgraph', 'langchain_core'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_terminal_is_told_what_happens_before_the_first_call(
    world: Any, db_env: str, sim: Simulator, isolated_env: Path
) -> None:
    """Loading the agent and opening the database take a moment before any call: a terminal
    sees a status line meanwhile; a pipe or --json sees nothing of it."""
    import os
    import sys

    import pexpect
    from sim_kit import simulator_env

    salesctl_bin = str(Path(sys.executable).with_name("salesctl"))
    env = {**os.environ, **simulator_env(sim), "DATABASE_URL": db_env, "TERM": "xterm"}
    child = pexpect.spawn(
        salesctl_bin, ["qualify", "--lead", "1"], env=env, encoding="utf-8", timeout=60,
        dimensions=(50, 100),
    )  # fmt: skip
    child.expect(r"qualification: starting \(loading the agent, opening the database")
    child.expect("qualification · lead 1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    for extra in ([], ["--json"]):  # in this process, stderr is not a terminal either
        piped = salesctl("qualify", "--lead", "2", "--no-cache", *extra)
        assert piped.exit_code == 0, piped.stderr
        assert "starting" not in piped.stderr
        assert piped.stderr == ""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_provider_that_cannot_be_reached_is_named_by_its_host(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEREBRAS_BASE_URL", "http://127.0.0.1:9/cerebras")
    result = salesctl("qualify", "--lead", "1", "--no-cache")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("error: cerebras: connection failed")
    assert result.stderr.rstrip().endswith("to http://127.0.0.1:9")
