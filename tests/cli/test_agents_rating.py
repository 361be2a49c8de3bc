"""Lead commands and ratings: `--json` names the tracked calls, and `--rate` asks in a terminal
for a rating of the answer just shown."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
from sim_kit import simulator_env
from test_agents import LEAD, _query, salesctl

from salesctl.llm.simulator import Simulator

SALESCTL = str(Path(sys.executable).with_name("salesctl"))


@pytest.fixture
def world(db_env: str, sim: Simulator) -> Any:
    asyncio.run(_query(db_env, "seed"))
    return lambda statement: asyncio.run(_query(db_env, statement))


def test_json_output_names_each_tracked_call(world: Any) -> None:
    result = salesctl("qualify", "--lead", "1", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    ids = [r[0] for r in world("SELECT request_id FROM ai_cost_tracking ORDER BY id")]
    assert data["tracking_ids"] == ids
    assert data["tracking_id"] == ids[-1]

    result = salesctl("qualify", "--all", "--force", "--json")
    assert result.exit_code == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert {r["company_name"] for r in results} == {LEAD["company_name"], "Globex"}
    assert all(len(r["tracking_ids"]) == r["llm_calls"] >= 1 for r in results)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["qualify", "--lead", "1", "--rate"], "--rate asks in a terminal: rate later with"),
        (["qualify", "--all", "--rate"], "--rate rates one answer: use it with --lead ID"),
        (["qualify", "--lead", "1", "--rate", "--estimate"], "--estimate makes no call"),
    ],
)
def test_rate_refuses_what_it_cannot_ask_about(world: Any, args: list[str], message: str) -> None:
    result = salesctl(*args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert world("SELECT count(*) FROM ai_cost_tracking") == [(0,)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rate_in_a_terminal_stores_the_rating(
    world: Any, db_env: str, sim: Simulator, isolated_env: Path
) -> None:
    env = {**os.environ, **simulator_env(sim), "DATABASE_URL": db_env, "TERM": "xterm"}
    child = pexpect.spawn(
        SALESCTL,
        ["qualify", "--lead", "1", "--rate"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
    )
    try:
        child.expect("Rate this answer: g\\(ood\\), b\\(ad\\), a score 0-1, or Enter to skip")
        child.sendline("0.75")
        child.expect(r"Rated (\S+) 0\.75 \(good\); mean 0\.75 over 1 rating\(s\)")
        rated = child.match.group(1)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert world("SELECT request_id, quality_score, feedback_count FROM ai_cost_tracking") == [
        (rated, 0.75, 1)
    ]
