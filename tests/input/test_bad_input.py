"""The bad-input catalogue: every command, given wrong types, empty values, out-of-range ids,
malformed or future dates, reversed windows, unreadable, binary or badly encoded files, CSVs
with wrong headers or duplicate rows, huge fields, or SQL-looking text, answers with one clear
message and the documented exit code, shows no traceback, writes nothing, and spends nothing.

Exit codes: 1 for a value salesctl refuses (one `error: …` line on stderr); 2 for a command
line the parser cannot read (Click's usage error: a wrong type, a missing argument).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from bad_input_world import dump, dump_sqlite, seed, write_files
from typer.main import get_command
from typer.testing import CliRunner

from salesctl.llm.simulator import Simulator

USAGE = 2
REFUSED = 1
UNKNOWN = 3
SQL = "x' OR '1'='1'; DROP TABLE leads; --"
PROVIDER_KEYS = (
    "CEREBRAS_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENAI_API_KEY",
)


@dataclass(frozen=True)
class Bad:
    command: str
    args: tuple[str, ...]
    exit_code: int
    says: str = ""
    """A fragment the message must contain (case-insensitive)."""


def bad(command: str, *args: str, code: int = REFUSED, says: str = "") -> Bad:
    return Bad(command, args, code, says)


CATALOGUE: list[Bad] = [
    # --- leads
    bad("leads add", "--company", ""),
    bad("leads add", "--company", "   "),
    bad("leads add", "--company", "Acme", "--employees", "many", says="employees"),
    bad("leads add", "--company", "Acme", "--employees", "-5", says="employees"),
    bad(
        "leads add",
        "--company",
        "Acme",
        "--employees",
        "1e30",
        says="employees",
    ),
    bad("leads add", "--company", "Acme", "--email", "not-an-email", says="email"),
    bad("leads add", "--company", "Acme", "--status", "bogus", says="status"),
    bad("leads add", "--company", "Acme", "--website", "javascript:alert(1)", says="website"),
    bad("leads add", "--company", "A" * 100_000, says="company"),
    bad(
        "leads add",
        "--company",
        "Acme",
        "--notes",
        "n" * 2_000_000,
        says="notes",
    ),
    bad("leads import", "{missing}", says="no such file"),
    bad("leads import", "{directory}"),
    bad("leads import", "{binary}"),
    bad("leads import", "{empty}"),
    bad("leads import", "{wrong_headers}", says="company"),
    bad("leads import", "{duplicates}", says="duplicate"),
    bad("leads import", "{huge_field}"),
    bad("leads import", "{utf16}"),
    bad(
        "leads import",
        "{ragged}",
    ),
    bad("leads list", "--status", SQL, says="status"),
    bad("leads list", "--tier", "lukewarm", says="tier"),
    bad("leads list", "--min-score", "101", code=USAGE),
    bad("leads list", "--min-score", "high", code=USAGE),
    bad("leads list", "--sort", SQL),
    bad("leads list", "--limit", "-1", code=USAGE),
    bad("leads show", "999999", says="no lead"),
    bad("leads show", "0", code=USAGE),
    bad("leads show", "abc", code=USAGE),
    bad("leads show", "99999999999999999999999", code=USAGE),
    bad("qualify", "--lead", "99999999999999999999999", code=USAGE),
    bad("leads delete", "999999", "--yes", says="no lead"),
    bad("leads delete", "1"),  # not a terminal and no --yes
    # --- deals
    bad("deals add", "--lead", "999999", "--name", "Pilot", says="lead"),
    bad("deals add", "--lead", "1", "--name", ""),
    bad("deals add", "--lead", "1", "--name", "Pilot", "--amount", "lots", says="amount"),
    bad("deals add", "--lead", "1", "--name", "Pilot", "--amount", "-100", says="amount"),
    bad("deals add", "--lead", "1", "--name", "Pilot", "--close-date", "2025-13-45"),
    bad("deals add", "--lead", "1", "--name", "Pilot", "--stage", "won-ish", says="stage"),
    bad("deals add", "--lead", "abc", "--name", "Pilot", code=USAGE),
    bad("deals list", "--stage", SQL, says="stage"),
    bad("deals list", "--lead", "abc", code=USAGE),
    bad("deals move", "999999", "proposal", says="deal"),
    bad("deals move", "1", "sideways", says="stage"),
    # --- pricing, router
    bad("pricing show", "nope", "model-x", says="provider"),
    bad("pricing show", "cerebras", "no-such-model-anywhere"),
    bad(
        "router explain",
        "",
    ),
    bad("router eval", "{missing}", says="no such file"),
    bad("router eval", "{directory}", says="cannot read"),
    bad("router eval", "{binary}", says="cannot read"),
    bad("router eval", "{empty}", says="no labelled prompts"),
    bad("router eval", "{wrong_headers}", says="not JSON"),
    bad("router tune", "--holdout", "2", says="--holdout"),
    bad("router tune", "--holdout", "half", code=USAGE),
    bad("router tune", "--labels", "{binary}", says="cannot read"),
    bad("router tune", "--labels", "{missing}", says="no such file"),
    # --- ratings
    bad("feedback", "no-such-call", "--good", says="no tracked call"),
    bad("feedback", "no-such-call", "--score", "1.5", says="outside 0-1"),
    bad("feedback", "no-such-call", "--score", "lots", code=USAGE),
    bad("feedback", "no-such-call", says="--good"),
    bad("feedback", SQL, "--bad", says="no tracked call"),
    bad("feedback", "--session", SQL, "--last", "--good", says="no answered call"),
    # --- the lead agents
    bad("qualify", says="--lead"),
    bad("qualify", "--lead", "0", code=USAGE),
    bad("qualify", "--lead", "999999", says="no lead"),
    bad("qualify", "--ids", "1,abc", says="--ids"),
    bad("qualify", "--ids", ",,", says="--ids"),
    bad("qualify", "--lead", "1", "--all"),
    bad("qualify", "--all", "--where", "nonsense", says="filter"),
    bad("qualify", "--all", "--where", f"password={SQL}", says="cannot filter on"),
    bad("qualify", "--all", "--where", "employees>=many", says="employees"),
    bad("qualify", "--lead", "1", "--concurrency", "0", code=USAGE),
    bad("qualify", "--lead", "1", "--provider", "nope", says="provider"),
    bad("qualify", "--status", "bogus", says="status"),
    bad("enrich", "--lead", "1", "--source", "{missing}"),
    bad("enrich", "--lead", "1", "--source", "{binary}"),
    bad("enrich", "--all", "--source", "{latin1}", says="--lead"),
    bad("grow", "--ids", "-3"),
    bad("market", "--lead", "999999", says="no lead"),
    bad("bdr", "--lead", "1", "--concurrency", "many", code=USAGE),
    bad("converse", "--lead", "1", "--transcript", "{missing}", says="no such file"),
    bad("converse", "--lead", "1", "--transcript", "{binary}"),
    bad("converse", "--lead", "1", "--transcript", "{empty_text}"),
    bad("converse", "--lead", "1", "--transcript", "{huge_text}"),
    bad("converse", "--transcript", "{latin1}", says="--lead"),
    # --- chat
    bad("chat", "nobody", "--once", "hi", code=USAGE),
    bad("chat", "sr-bdr", "--once", ""),
    bad("chat", "sr-bdr", "--session", SQL, "--once", "hi"),
    # --- costs and budgets
    bad("costs", "--since", "2025-13-01", says="--since"),
    bad("costs", "--since", "yesterday-ish", says="--since"),
    bad(
        "costs",
        "--since",
        "2999-01-01",
        says="future",
    ),
    bad("costs", "--since", "2025-02-01", "--until", "2025-01-01", says="--until"),
    bad("costs", "--until", "0000-00-00", says="--until"),
    bad(
        "costs",
        "--until",
        "9999-12-31",
    ),
    bad(
        "costs",
        "--since",
        "106000w",
    ),
    bad("costs", "--agent", SQL, says="agent"),
    bad("costs", "--provider", SQL, says="provider"),
    bad("costs", "--lead", "0", code=USAGE, says="--lead"),
    bad("costs", "--lead", "abc", code=USAGE),
    bad("costs", "--by", "fortnight", says="--by"),
    bad("costs", "--top", "-1", code=USAGE),
    bad("costs export", "--format", "xml", says="--format"),
    bad("costs export", "--since", "last-tuesday", says="--since"),
    bad("costs prune", "--older-than", "soon", says="--older-than"),
    bad("costs prune", "--older-than", "2999-01-01", says="future"),
    bad("costs savings", "--since", "2025-02-30", says="--since"),
    # `costs reconcile` documents exit 3 when the file cannot be read (1 means differences).
    bad("costs reconcile", "{missing}", code=UNKNOWN, says="cannot read"),
    bad("costs reconcile", "{directory}", code=UNKNOWN, says="cannot read"),
    bad("costs reconcile", "{binary}", code=UNKNOWN, says="not UTF-8"),
    bad("costs reconcile", "{utf16}", code=UNKNOWN, says="not UTF-8"),
    bad("costs reconcile", "{latin1}", code=UNKNOWN, says="not UTF-8"),
    bad("costs reconcile", "{empty}", code=UNKNOWN, says="empty"),
    bad("costs reconcile", "{wrong_headers}", code=UNKNOWN, says="date,provider,model,cost_usd"),
    bad("costs reconcile", "{ragged}", code=UNKNOWN, says="unrecognised columns"),
    bad("costs reconcile", "{huge_text}", code=UNKNOWN, says="not a CSV file"),
    bad(
        "costs reconcile", "{wrong_headers}", "--tolerance", "-1", code=UNKNOWN, says="--tolerance"
    ),
    bad("costs reconcile", "{wrong_headers}", "--provider", SQL, code=UNKNOWN, says="provider"),
    bad("costs quality", "--since", "2025-02-30", says="--since"),
    bad("costs outcomes", "--until", "2025-01-01", "--since", "2025-06-01", says="--until"),
    # `budget check` documents exit 3 (UNKNOWN) for anything that stops it judging spend.
    bad("budget check", "--daily", "-5", code=UNKNOWN, says="--daily"),
    bad("budget check", "--daily", "lots", code=UNKNOWN, says="--daily"),
    bad("budget check", "--daily", "10", "--warn-at", "150", code=UNKNOWN, says="--warn-at"),
    bad(
        "budget check",
        "--daily",
        "10",
        "--notify",
        "not a url",
        code=UNKNOWN,
        says="--notify",
    ),
    bad("budget check", "--daily", "10", "--agent", SQL, code=UNKNOWN, says="agent"),
    bad("budget check", "--daily", "10", "--spike-factor", "0.5", code=UNKNOWN, says="above 1"),
    # --- database, maintenance, serving
    bad("db upgrade", "no_such_revision"),
    bad("db downgrade", "no_such_revision"),
    bad("maintenance redact-existing", "--mode", "scrambled", "--yes", says="--mode"),
    bad("maintenance redact-existing", "--mode", "redacted"),  # no --yes, not a terminal
    bad("serve", "--port", "0", code=USAGE),
    bad("serve", "--host", "0.0.0.0", says="token"),
    bad("simulator", "--port", "70000", code=USAGE, says="--port"),
    bad("simulator", "--latency-ms", "soon", code=USAGE, says="not a number"),
]

# Commands without arguments to get wrong (or that only show things).
NO_INPUT = {
    "init",
    "config show",
    "doctor",
    "demo",
    "icp show",
    "pricing list",
    "db current",
    "costs flush",
    "maintenance flush",
}

# SQL-looking text in free-text filters is data: it matches nothing, changes nothing.
SQL_FILTERS: list[tuple[str, ...]] = [
    ("costs", "--json", "--model", SQL),
    ("costs", "--json", "--user", SQL),
    ("costs", "--json", "--session", SQL),
    ("costs", "--json", "--model", "%"),
    ("costs", "--json", "--model", "llama3.1-8b' --"),
    ("costs", "export", "--model", SQL),
    ("qualify", "--where", f"industry={SQL}", "--estimate"),
    ("qualify", "--where", "company~%", "--estimate"),
    ("qualify", "--where", "company~_", "--estimate"),
]


def command_paths() -> set[str]:
    from salesctl.cli import app

    root = get_command(app)
    context = click.Context(root)
    paths: set[str] = set()

    def walk(command: click.Command, path: list[str]) -> None:
        if hasattr(command, "list_commands"):
            if path and getattr(command, "invoke_without_command", False):
                paths.add(" ".join(path))
            for name in command.list_commands(context):  # type: ignore[attr-defined]
                walk(command.get_command(context, name), [*path, name])  # type: ignore[attr-defined]
        else:
            paths.add(" ".join(path))

    walk(root, [])
    return paths


def test_the_catalogue_covers_every_command() -> None:
    covered = {case.command for case in CATALOGUE} | NO_INPUT
    missing = command_paths() - covered
    assert not missing, f"add bad-input cases for {sorted(missing)} to {__file__}"


@dataclass
class World:
    url: str
    files: dict[str, Path]
    sim: Simulator

    def dump(self) -> list[str]:
        return (
            dump_sqlite(self.url) if self.url.startswith("sqlite") else asyncio.run(dump(self.url))
        )


@pytest.fixture(scope="module")
def catalogue_world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One seeded SQLite database and simulator for the whole catalogue: every case must
    leave the database as it found it, so they cannot disturb each other."""
    import shutil

    root = tmp_path_factory.mktemp("catalogue")
    shutil.copyfile(sqlite_template, root / "catalogue.db")
    url = f"sqlite+aiosqlite:///{root / 'catalogue.db'}"
    asyncio.run(seed(url))
    with Simulator() as sim:
        yield World(url, write_files(root / "inputs"), sim)


def point_at(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    from salesctl.config import get_settings

    for name, value in world.sim.env().items():
        monkeypatch.setenv(name, value)
    for key in PROVIDER_KEYS:
        monkeypatch.setenv(key, "test-key-0123456789")
    monkeypatch.setenv("DATABASE_URL", world.url)
    get_settings.cache_clear()
    world.sim.reset()
    return world


@pytest.fixture
def world(catalogue_world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    return point_at(catalogue_world, monkeypatch)


@pytest.fixture
def any_db_world(db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A fresh seeded database of each dialect."""
    asyncio.run(seed(db_env))
    with Simulator() as sim:
        yield point_at(World(db_env, write_files(tmp_path / "inputs"), sim), monkeypatch)


def invoke(args: list[str]) -> Any:
    from salesctl.cli import app
    from salesctl.config import get_settings

    get_settings.cache_clear()
    return CliRunner().invoke(app, args, catch_exceptions=True)


@pytest.mark.parametrize(
    "case",
    CATALOGUE,
    ids=[f"{c.command}:{' '.join(c.args)[:60]}" for c in CATALOGUE],
)
def test_bad_input_is_refused_cleanly(case: Bad, world: World) -> None:
    before = world.dump()
    args = [*case.command.split(), *(a.format(**world.files) for a in case.args)]
    result = invoke(args)

    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"unhandled {result.exception!r}"
    assert "Traceback" not in result.output
    assert result.exit_code == case.exit_code, result.output
    if case.command == "budget check":
        # A monitoring check: the mistake is its one UNKNOWN line on stdout, said once.
        assert result.stdout.startswith("BUDGET UNKNOWN - "), result.stdout
        assert result.stderr == ""
    else:
        # One `error: …` line, last (usage mistakes too, exit 2); `leads import` may list
        # the bad rows above it.
        lines = result.stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith("error: ")]
        assert len(errors) == 1, result.stderr
        assert lines[-1] == errors[0]
        assert len(lines) == 1 or case.command == "leads import", result.stderr
        assert len(errors[0]) < 400, "an error message should be one readable line"
        assert "Usage:" not in result.stderr
    if case.says:
        assert case.says.lower() in (result.stderr + result.stdout).lower()
    assert world.dump() == before, "a refused command wrote to the database"
    assert world.sim.ledger == [], "a refused command spent money"


def test_sql_looking_filter_text_matches_nothing_and_changes_nothing(
    any_db_world: World,
) -> None:
    for args in SQL_FILTERS:
        before = any_db_world.dump()
        result = invoke(list(args))
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        assert any_db_world.dump() == before, args
        assert any_db_world.sim.ledger == [], args
        if "--json" in args:
            assert json.loads(result.stdout)["total_requests"] == 0, args
