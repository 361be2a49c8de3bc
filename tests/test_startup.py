"""Start-up stays light: commands that call no model never import the SDKs or LangGraph."""

from __future__ import annotations

import io
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
tops = sorted({m.split('.')[0] for m in sys.modules})
cli = sorted(m for m in sys.modules if m.startswith('salesctl.cli.') and '._' not in m)
print(json.dumps({"exit_code": result.exit_code, "heavy": heavy, "output": result.output,
                  "tops": tops, "cli": cli}))
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
    assert "alembic" not in probe["tops"]  # the schema check reads alembic_version itself


def test_budget_check_loads_only_its_own_command_and_no_rich() -> None:
    """The cron path: one command module, and a plain summary line (Rich costs ~25 ms)."""
    assert run_probe("init")["exit_code"] == 0
    probe = run_probe("budget", "check", "--daily", "10")
    assert probe["exit_code"] == 0, probe["output"]
    assert probe["output"].startswith("BUDGET INFO")
    assert probe["cli"] == ["salesctl.cli.budget"]
    assert "rich" not in probe["tops"]


def test_help_needs_no_event_loop_database_pydantic_or_rich() -> None:
    code = (
        "import sys\n"
        "from salesctl.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='salesctl')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'asyncio', 'sqlalchemy', "
        "'pydantic', 'rich', 'markdown_it', 'pygments'}), file=sys.stderr)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stderr.strip().splitlines()[-1] == "[]"


def test_help_does_not_even_load_settings() -> None:
    code = "import sys; import salesctl.cli; print('salesctl.config' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stdout.strip() == "False"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("terminal", "no_color", "expected"),
    [
        (True, None, "\x1b[33mBUDGET WARNING\x1b[0m\n"),
        (True, "1", "BUDGET WARNING\n"),
        (False, None, "BUDGET WARNING\n"),
    ],
)
def test_the_rich_free_summary_line_is_coloured_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, no_color: str | None, expected: str
) -> None:
    from salesctl.cli._console import print_line

    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.delenv("TERM", raising=False)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    print_line("BUDGET WARNING", "yellow")
    assert stream.getvalue() == expected
