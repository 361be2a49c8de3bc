"""`init`, `db …`, `config show`, and how every command fails: one line, exit 1, no traceback."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from salesctl import __version__
from salesctl.cli import app
from salesctl.config import get_settings
from salesctl.db import migrate
from salesctl.db.session import SCHEMA_HEAD, create_engine
from salesctl.errors import SchemaOutdated

FULL_KEY = "csk-4f8a1c0d9e7b6a5f4e3d2c1b0a9a2f"


def salesctl(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()


def one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


# --- init --------------------------------------------------------------------------------------


def test_init_creates_a_private_wal_database_and_is_idempotent(isolated_env: Path) -> None:
    first = salesctl("init")
    assert first.exit_code == 0, first.output
    assert f"{isolated_env} ready (schema {SCHEMA_HEAD})" in first.stdout
    database = isolated_env / "salesctl.db"
    assert stat.S_IMODE(isolated_env.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (SCHEMA_HEAD,)
        ]
    for sidecar in isolated_env.glob("salesctl.db-*"):  # WAL and shared-memory files
        assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600

    again = salesctl("init")
    assert again.exit_code == 0, again.output
    assert salesctl("leads", "list").exit_code == 0


def test_init_migrates_postgres_too(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, empty_database_url)
    assert salesctl("init").exit_code == 0
    current = salesctl("db", "current")
    assert current.stdout.strip() == f"{SCHEMA_HEAD} (expected {SCHEMA_HEAD}: up to date)"


def test_init_with_an_unusable_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESCTL_HOME", "/proc/salesctl-cannot-exist")
    get_settings.cache_clear()
    line = one_error_line(salesctl("init"))
    assert "cannot create the data directory /proc/salesctl-cannot-exist" in line
    assert "SALESCTL_HOME" in line


# --- refusing unmigrated, outdated and unreachable databases ---------------------------------


def test_commands_refuse_an_unmigrated_database_without_touching_it(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, empty_database_url)
    for args in (["leads", "list"], ["leads", "add", "--company", "Acme"], ["deals", "list"]):
        line = one_error_line(salesctl(*args))
        assert "run `salesctl init`" in line, args
    if empty_database_url.startswith("sqlite"):
        assert not Path(empty_database_url.split("///", 1)[1]).exists()  # no stray empty file
    else:
        assert asyncio.run(table_names(empty_database_url)) == set()


def test_debug_shows_the_traceback(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, empty_database_url)
    result = salesctl("--debug", "leads", "list")
    assert isinstance(result.exception, SchemaOutdated)  # re-raised for the traceback


def test_commands_refuse_an_outdated_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def step_back() -> None:
        engine = create_engine(database_url)
        await migrate.downgrade(engine, "0001_foundation")
        await engine.dispose()

    asyncio.run(step_back())
    use_database(monkeypatch, database_url)
    line = one_error_line(salesctl("leads", "list"))
    assert "'0001_foundation'" in line
    assert "run `salesctl db upgrade`" in line
    assert "needs `salesctl db upgrade`" in salesctl("db", "current").stdout

    assert salesctl("db", "upgrade").exit_code == 0
    assert salesctl("leads", "list").exit_code == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/salesctl",
            "error: database unreachable at 127.0.0.1:1/salesctl: ",
        ),
        ("postgresql://u:secret@db.invalid/sales", "database unreachable at db.invalid/sales: "),
        ("mysql://root@localhost/sales", "unsupported DATABASE_URL scheme 'mysql'"),
        ("not a url", "DATABASE_URL 'not a url' is not a URL"),
        ("postgresql://u@h:port/x", "cannot use the database URL"),
    ],
)
def test_bad_or_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    use_database(monkeypatch, url)
    for args in (["leads", "list"], ["init"]):
        assert message in one_error_line(salesctl(*args))


# --- config show -------------------------------------------------------------------------------


def test_config_show_masks_keys_and_passwords(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text(
        'anthropic_api_key = "sk-ant-api03-filekey0000000000000000wxyz"\n', encoding="utf-8"
    )
    monkeypatch.setenv("CEREBRAS_API_KEY", FULL_KEY)
    use_database(monkeypatch, "postgresql://sales:s3cret-pw@db.internal:5432/sales")

    table = salesctl("config", "show")
    assert table.exit_code == 0, table.output
    data = json.loads(salesctl("config", "show", "--json").stdout)
    for output in (table.stdout, json.dumps(data, ensure_ascii=False)):
        assert "csk-…9a2f" in output
        assert "sk-…wxyz" in output
        assert FULL_KEY not in output
        assert "filekey0000" not in output
        assert "s3cret-pw" not in output
    assert data["providers_configured"]["cerebras"]["api_key"] == "csk-…9a2f"
    assert data["database_url"] == "postgresql+asyncpg://sales:***@db.internal:5432/sales"
    assert "providers_configured.cerebras.api_key" in table.stdout  # names are never cut


def test_config_show_reports_a_broken_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("timezone = \n", encoding="utf-8")
    assert "cannot read config file" in one_error_line(salesctl("config", "show"))


# --- entry points ------------------------------------------------------------------------------


def run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )


def test_python_m_and_the_console_script_print_the_version() -> None:
    module = run(sys.executable, "-m", "salesctl", "--version")
    assert (module.returncode, module.stdout.strip()) == (0, f"salesctl {__version__}")
    script = run(str(Path(sys.executable).with_name("salesctl")), "--version")
    assert (script.returncode, script.stdout.strip()) == (0, f"salesctl {__version__}")


def test_real_process_error_is_one_line_and_debug_adds_the_traceback() -> None:
    plain = run(sys.executable, "-m", "salesctl", "leads", "list", DATABASE_URL="mysql://x/y")
    assert plain.returncode == 1
    assert plain.stderr.splitlines() == [
        "error: unsupported DATABASE_URL scheme 'mysql': use postgresql://… or sqlite:///PATH"
    ]
    debug = run(
        sys.executable, "-m", "salesctl", "--debug", "leads", "list", DATABASE_URL="mysql://x/y"
    )
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "ConfigError" in debug.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_db_upgrade_to_an_unknown_revision(db_env: str) -> None:
    line = one_error_line(salesctl("db", "upgrade", "9999_nope"))
    assert line.startswith("error: cannot upgrade the database schema: ")
    assert "9999_nope" in line
