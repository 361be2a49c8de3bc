"""What a report command does before its first query: map only the tables it reads, and leave
start-up's objects to the collector once (frozen) instead of scanning them again and again."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from salesctl.cli import app

CONSOLE_PROBE = """
import atexit, gc, json, sys
from salesctl.cli import main

def report():
    models = sorted(m for m in sys.modules if m.startswith('salesctl.db.models.'))
    print(json.dumps({"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                      "unfrozen": len(gc.get_objects()), "models": models,
                      "collections": [g["collections"] for g in gc.get_stats()]}),
          file=sys.stderr)

atexit.register(report)
sys.argv = ["salesctl", *sys.argv[1:]]
main()
"""


def run_console(*args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """`salesctl ARGS` through the console entry point; what it had loaded and frozen at exit."""
    completed = subprocess.run(
        [sys.executable, "-c", CONSOLE_PROBE, *args], capture_output=True, text=True
    )
    return completed, json.loads(completed.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [["budget", "check", "--daily", "10"], ["costs", "--json", "--provider", "cerebras"]],
    ids=lambda a: " ".join(a[:2]),
)
def test_report_commands_map_only_the_tables_they_read(db_env: str, args: list[str]) -> None:
    completed, probe = run_console(*args)
    assert completed.returncode == 0, completed.stderr
    assert set(probe["models"]) <= {
        "salesctl.db.models.analytics",
        "salesctl.db.models.tracking",
        "salesctl.db.models.crm",  # lead names in the top-leads table
    }


def test_console_commands_freeze_start_up_then_collect_as_usual(db_env: str) -> None:
    completed, probe = run_console("budget", "check", "--daily", "10")
    assert completed.returncode == 0, completed.stderr
    assert probe["frozen"] > 100_000  # SQLAlchemy, pydantic, Typer, the models
    assert tuple(probe["threshold"]) == gc.get_threshold()  # Python's usual thresholds again


def test_console_commands_leave_the_exit_collections_nothing_to_scan(db_env: str) -> None:
    """The interpreter's collections at exit scanned every live object (0.3 s for a one-lead
    command): the console's last exit handler collects what the command left, then freezes."""
    completed, probe = run_console("costs", "--json")
    assert completed.returncode == 0, completed.stderr
    assert probe["unfrozen"] < probe["frozen"] / 20


def test_a_lead_command_loads_its_agent_without_collections_and_freezes_it(
    db_env: str, sim: object
) -> None:
    """An agent command loads LangGraph and the SDK after connecting (over 100 k objects):
    no full collection while it loads (there were two, with 18 middle ones), and what it
    loaded stays frozen through the run and the exit."""
    import asyncio

    async def seed() -> None:
        from salesctl.db.models import Lead
        from salesctl.db.session import create_engine, session_factory

        engine = create_engine(db_env)
        async with session_factory(engine)() as session, session.begin():
            session.add(Lead(company_name="TechCorp Inc", industry="Software"))
        await engine.dispose()

    asyncio.run(seed())
    completed, probe = run_console("qualify", "--lead", "1", "--no-cache", "--json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["status"] == "ok"
    assert probe["collections"][2] == 1  # the last exit handler's, over what the run left
    assert probe["collections"][1] < 10
    assert probe["frozen"] > 200_000  # start-up, then LangGraph, the SDK, the agent
    assert probe["unfrozen"] < probe["frozen"] / 20


def test_library_callers_keep_the_collector_as_it_was(db_env: str) -> None:
    """Only the console entry point defers collections: the CLI app run in-process (tests,
    embedding) must not freeze the caller's objects or change its thresholds."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    result = CliRunner().invoke(app, ["budget", "check", "--daily", "10"])
    assert result.exit_code == 0, result.output
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)


def test_taking_base_from_the_package_registers_every_model_module() -> None:
    """Alembic, create_all and the schema tests read `Base.metadata` from the package."""
    code = """
import importlib, pkgutil
from salesctl.db.models import Base
import salesctl.db.models as package
before = set(Base.metadata.tables)
for module in pkgutil.iter_modules(package.__path__):
    importlib.import_module(f"salesctl.db.models.{module.name}")
print(len(before), sorted(set(Base.metadata.tables) - before))
"""
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    count, missing = completed.stdout.split(" ", 1)
    assert int(count) > 0
    assert missing.strip() == "[]"
