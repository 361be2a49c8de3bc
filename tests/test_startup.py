"""Start-up stays light: commands that call no model never import the SDKs or LangGraph."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("anthropic", "openai", "google.genai", "cerebras", "langgraph")

PROBE = """
import json, sys
from typer.testing import CliRunner
from salesctl.cli import app
result = CliRunner().invoke(app, sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'anthropic', 'openai', 'cerebras',
               'langgraph'} or m.startswith('google.genai'))
print(json.dumps({"exit_code": result.exit_code, "heavy": heavy, "output": result.output}))
"""


def run_probe(*args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["config", "show"], ["db", "current"]],
    ids=lambda a: " ".join(a),
)
def test_commands_without_a_model_import_no_sdk(args: list[str]) -> None:
    probe = run_probe(*args)
    assert probe["exit_code"] == 0, probe["output"]
    assert probe["heavy"] == []


@pytest.mark.parametrize(
    "args",
    [["costs"], ["costs", "--json"], ["budget", "check", "--daily", "10"]],
    ids=lambda a: " ".join(a),
)
def test_report_commands_import_no_sdk(args: list[str]) -> None:
    assert run_probe("init")["exit_code"] == 0  # an empty database in this test's data dir
    probe = run_probe(*args)
    assert probe["exit_code"] == 0, probe["output"]
    assert probe["heavy"] == []


def test_help_needs_no_event_loop_database_or_pydantic() -> None:
    code = (
        "import sys\n"
        "from salesctl.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='salesctl')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'asyncio', 'sqlalchemy', "
        "'pydantic'}), file=sys.stderr)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stderr.strip().splitlines()[-1] == "[]"


def test_help_does_not_even_load_settings() -> None:
    code = "import sys; import salesctl.cli; print('salesctl.config' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stdout.strip() == "False"
