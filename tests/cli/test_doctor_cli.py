"""`salesctl doctor` as a user runs it: one line per check, the fix, and an exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sim_kit import use_simulator
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.config import get_settings
from salesctl.db.session import sqlite_path
from salesctl.llm.simulator import Simulator

KEYS = {
    "CEREBRAS_API_KEY": "csk-cli-doctor-000000000001",
    "ANTHROPIC_API_KEY": "sk-ant-cli-doctor-00000002",
    "GOOGLE_API_KEY": "cli-doctor-google-00000003",
    "OPENROUTER_API_KEY": "sk-or-cli-doctor-000000004",
    "OPENAI_API_KEY": "sk-cli-doctor-0000000000005",
}
"""Distinct keys of this module's own (not sim_kit.DUMMY_KEYS): the tests check none leaks."""


def salesctl(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def simulated_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    with Simulator(latency_ms=0) as sim:
        use_simulator(monkeypatch, sim, KEYS)
        yield sim


@pytest.fixture
def private_database(db_env: str) -> str:
    """The test database as `salesctl init` leaves it: owner-only files."""
    settings = get_settings()
    settings.data_dir.mkdir(mode=0o700, exist_ok=True)
    database_file = sqlite_path(settings.sqlalchemy_url)
    if database_file is not None:
        database_file.chmod(0o600)
    return db_env


def line_of(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line[2:].startswith(name + " "))


def test_fresh_machine_fails_and_says_to_run_init() -> None:
    result = salesctl("doctor")
    assert result.exit_code == 1
    database = line_of(result.output, "database")
    assert database.startswith("✗")
    assert "fix: salesctl init" in database
    assert line_of(result.output, "key:cerebras").startswith("✗")
    assert "fix: set CEREBRAS_API_KEY" in result.output
    assert "required checks failed" in result.output


def test_after_init_with_keys_every_required_check_passes(
    simulated_providers: Simulator,
) -> None:
    assert salesctl("init").exit_code == 0
    result = salesctl("doctor")
    assert result.exit_code == 0, result.output
    assert line_of(result.output, "database").startswith("✓")
    assert line_of(result.output, "permissions").startswith("✓")
    assert "All required checks passed" in result.output
    for key in KEYS.values():
        assert key not in result.output
    assert simulated_providers.ledger == []  # no --online: no calls


def test_json_lists_every_check_with_its_fix(simulated_providers: Simulator) -> None:
    result = salesctl("doctor", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    database = next(c for c in report["checks"] if c["name"] == "database")
    assert database == {
        "name": "database",
        "ok": False,
        "detail": database["detail"],
        "fix": "salesctl init",
        "required": True,
    }


def test_online_calls_each_provider_through_the_simulator(
    private_database: str, simulated_providers: Simulator
) -> None:
    result = salesctl("doctor", "--online")
    assert result.exit_code == 0, result.output
    for provider in ("cerebras", "claude", "gemini", "openrouter", "openai"):
        line = line_of(result.output, f"call:{provider}")
        assert line.startswith("✓")
        assert "(simulated)" in line
    assert {call.provider for call in simulated_providers.ledger} == {
        "cerebras",
        "claude",
        "gemini",
        "openrouter",
        "openai",
    }
    costs = salesctl("costs", "--json")
    assert costs.exit_code == 0, costs.output
    by_agent = {row["agent_type"]: row for row in json.loads(costs.output)["by_agent"]}
    assert by_agent["doctor"]["total_requests"] == 5


def test_online_without_a_reachable_provider_exits_1(
    private_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEREBRAS_API_KEY", KEYS["CEREBRAS_API_KEY"])
    monkeypatch.setenv("CEREBRAS_BASE_URL", "http://127.0.0.1:1/closed")
    get_settings.cache_clear()
    result = salesctl("doctor", "--online")
    assert result.exit_code == 1
    line = line_of(result.output, "call:cerebras")
    assert line.startswith("✗")
    assert "fix: check the network and CEREBRAS_BASE_URL" in line


def test_warnings_alone_do_not_fail(
    private_database: str, simulated_providers: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")  # only a router fallback by default
    get_settings.cache_clear()
    result = salesctl("doctor")
    assert result.exit_code == 0, result.output
    assert line_of(result.output, "key:openai").startswith("!")
    assert "(1 warning)" in result.output


def test_doctor_without_online_loads_no_sdk() -> None:
    probe = (
        "import sys; from typer.testing import CliRunner; from salesctl.cli import app; "
        "CliRunner().invoke(app, ['doctor']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'anthropic', 'openai', 'cerebras', 'langgraph'} or m.startswith('google.genai')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
