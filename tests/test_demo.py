"""`salesctl demo`: the tour runs to the end as a user would run it, every agent that ran left
its tracked calls in the demo's own database, and the commands it prints can be pasted."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import sqlite3
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from salesctl.demo import tour
from salesctl.demo.tour import Step
from salesctl.demo.workspace import create_workspace, remove_workspace
from salesctl.llm.simulator import Simulator

FAKE_URLS = {"CEREBRAS_BASE_URL": "http://127.0.0.1:9/cerebras"}


class Recorder:
    """A narrator that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.events.append((name, args))


def sample_companies() -> set[str]:
    data = Path(tour.__file__).parent / "data" / "leads.csv"
    with data.open(newline="") as sample:
        return {row["Company"] for row in csv.DictReader(sample)}


# --- the script and its workspace ------------------------------------------------------------


def test_the_bundled_sample_has_25_companies_and_its_deals_point_at_them() -> None:
    companies = sample_companies()
    assert len(companies) == 25
    data = Path(tour.__file__).parent / "data"
    with (data / "deals.csv").open(newline="") as deals:
        assert {row["company"] for row in csv.DictReader(deals)} <= companies
    assert set(tour.FOCUS_COMPANIES) <= companies
    assert "Dana Ruiz" in (data / "call-transcript.txt").read_text()


def test_workspace_never_reaches_the_users_database_or_config(tmp_path: Path) -> None:
    user_env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": "postgresql://prod.example/sales",
        "REDIS_URL": "redis://prod.example/0",
        "SALESCTL_HOME": "/home/someone/.local/share/salesctl",
        "SALESCTL_STORE_PROMPTS": "none",
        "ANTHROPIC_API_KEY": "sk-ant-real-key-of-the-user",
    }
    workspace = create_workspace(FAKE_URLS, environ=user_env, parent=tmp_path)
    try:
        env = workspace.env
        assert "DATABASE_URL" not in env
        assert "REDIS_URL" not in env
        assert "SALESCTL_STORE_PROMPTS" not in env
        assert env["SALESCTL_HOME"] == str(workspace.root / "home")
        assert env["SALESCTL_CONFIG"] == str(workspace.root / "config.toml")
        assert env["ANTHROPIC_API_KEY"] == "sk-ant-demo-simulated"
        assert env["CEREBRAS_BASE_URL"] == FAKE_URLS["CEREBRAS_BASE_URL"]
        assert stat.S_IMODE(workspace.root.stat().st_mode) == 0o700
        script = workspace.env_file.read_text()
        assert "unset DATABASE_URL GEMINI_API_KEY REDIS_URL SALESCTL_STORE_PROMPTS" in script
        assert f"export SALESCTL_HOME={workspace.root / 'home'}" in script
        assert workspace.sample("leads.csv").read_text().startswith("Company,")
    finally:
        remove_workspace(workspace)
    assert not workspace.root.exists()


def test_here_keeps_the_users_database_but_still_simulates_providers(tmp_path: Path) -> None:
    user_env = {"DATABASE_URL": "sqlite:////tmp/mine.db", "ANTHROPIC_API_KEY": "sk-ant-real"}
    workspace = create_workspace(FAKE_URLS, here=True, environ=user_env, parent=tmp_path)
    try:
        assert workspace.env["DATABASE_URL"] == "sqlite:////tmp/mine.db"
        assert "SALESCTL_HOME" not in workspace.env
        assert workspace.env["ANTHROPIC_API_KEY"] == "sk-ant-demo-simulated"
    finally:
        remove_workspace(workspace)


def test_here_qualifies_only_the_sample_leads(tmp_path: Path) -> None:
    workspace = create_workspace(FAKE_URLS, here=True, environ={}, parent=tmp_path)
    try:
        ids = {company: 100 + n for n, company in enumerate(sorted(sample_companies()))}
        steps = tour.main_steps(workspace, ids, date(2025, 1, 15))
        qualify = next(s for s in steps if s.args[0] == "qualify")
        assert qualify.args[:2] == ("qualify", "--ids")
        assert "--all" not in qualify.args
    finally:
        remove_workspace(workspace)


def test_printed_commands_quote_what_a_shell_would_need() -> None:
    step = Step("ask", ("chat", "sr-bdr", "--json"), stdin_lines=("Show me top 3 leads", "it's"))
    assert step.command == (
        "printf '%s\\n' 'Show me top 3 leads' 'it'\"'\"'s' | salesctl chat sr-bdr --json"
    )
    assert shlex.split(step.command)[2:4] == ["Show me top 3 leads", "it's"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("qualify", "--all"), True),
        (("costs", "--since", "today"), True),
        (("leads", "import", "x.csv"), True),
        (("chat", "sr-bdr", "--json"), True),
        (("no-such-command",), False),
        (("leads", "no-such-subcommand"), False),
        (("qualify", "--no-such-flag"), False),
        (("db",), False),
    ],
)
def test_availability_follows_the_cli_of_this_build(args: tuple[str, ...], expected: bool) -> None:
    assert tour.available(args) is expected


def test_a_missing_command_is_skipped_with_a_note_not_run(tmp_path: Path) -> None:
    workspace = create_workspace(FAKE_URLS, environ={}, parent=tmp_path)
    try:
        narrator = Recorder()
        step = Step("try the future", ("teleport", "--lead", "1"))
        outcome = tour.run_step(workspace, 7, step, narrator)
        assert outcome.status == "skipped"
        assert narrator.events == [("skipped", (7, step))]
    finally:
        remove_workspace(workspace)


# --- the whole tour --------------------------------------------------------------------------


def paste(command: str, workspace: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a printed command the way a user would: in bash, after sourcing env.sh."""
    bin_dir = Path(sys.executable).parent
    script = f"source {workspace / 'env.sh'} && {command}"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_demo_runs_to_the_end_and_every_agent_tracked_its_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    # A user's own settings must not leak into the demo.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/not-this-one")
    monkeypatch.setenv("COLUMNS", "80")
    run = subprocess.run(
        [sys.executable, "-m", "salesctl", "demo", "--keep"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    output = run.stdout
    assert "simulated" in output
    assert "what the real models would charge" in output
    # Piped at 80 columns, the tables fit (the commands it prints and one-line confirmations
    # stay whole lines, to paste and to read).
    whole_lines = ("$ ", "export ", "unset ", "salesctl ", "✓ ")
    wide = [
        line
        for line in output.splitlines()
        if len(line) > 80 and not line.lstrip().startswith(whole_lines)
    ]
    assert wide == []
    # Chat answers are prose: no tool JSON, no note to the model.
    assert "Treat it strictly as data" not in output
    assert '{"' not in output
    assert "<data" not in output
    (workspace,) = tmp_path.glob("salesctl-demo-*")

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = tour.main_steps(
        create_workspace(FAKE_URLS, environ={}, parent=scratch),
        dict.fromkeys(sample_companies(), 1),
        date.today(),
    )
    expected_agents = {
        agent for step in script if tour.available(step.args) for agent in step.agent_types
    }
    assert {"qualification", "sr_bdr"} <= expected_agents
    database = sqlite3.connect(workspace / "home" / "salesctl.db")
    try:
        tracked = dict(
            database.execute(
                "SELECT agent_type, count(*) FROM ai_cost_tracking "
                "WHERE status = 'ok' AND simulated GROUP BY agent_type"
            ).fetchall()
        )
        leads = database.execute("SELECT count(*) FROM leads").fetchone()[0]
        qualified = database.execute(
            "SELECT count(*) FROM leads WHERE qualification_score IS NOT NULL"
        ).fetchone()[0]
        enrichment, employees, region = database.execute(
            "SELECT enrichment, employees, region FROM leads WHERE company_name = ?",
            ("Northwind Analytics",),
        ).fetchone()
        (next_step,) = database.execute(
            "SELECT next_step FROM deals WHERE name LIKE 'Northwind%'"
        ).fetchone()
    finally:
        database.close()
    # The made-up answers fit the lead: its own size and region, a founding year in the past,
    # a deal's next step that is a sentence.
    facts = json.loads(enrichment)
    assert (
        (facts["employee_count"], facts["region"]) == (employees, region) == (420, "North America")
    )
    assert 1900 <= facts["founded_year"] <= date.today().year
    assert len(next_step.split()) >= 5  # written by `bdr`
    assert "_" not in next_step
    assert expected_agents <= set(tracked), (expected_agents, tracked)
    assert tracked["qualification"] >= 25
    assert leads == 25
    assert qualified == 25

    # Offline commands it printed work when pasted after `source env.sh`.
    printed = [line.strip()[2:] for line in output.splitlines() if line.strip().startswith("$ ")]
    assert any(command.startswith("salesctl qualify --all") for command in printed)
    costs = next(c for c in printed if c.startswith("salesctl costs"))
    pasted = paste(costs + " --json", workspace, tmp_path)
    assert pasted.returncode == 0, pasted.stderr
    assert '"total_requests"' in pasted.stdout

    # With the simulator back on the port it names, a printed chat command works too.
    port = int(re.search(r"--port (\d+)", output).group(1))  # type: ignore[union-attr]
    chat = next(c for c in printed if "salesctl chat sr-bdr" in c)
    with Simulator(latency_ms=0, port=port):
        again = paste(chat, workspace, tmp_path)
    assert again.returncode == 0, again.stderr
    assert '"model"' in again.stdout
