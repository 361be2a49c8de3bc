"""API keys never leak: every command runs with distinctive keys (answers, failures and
`--debug` included), then stdout, stderr, tracebacks, log records, every file in the data
directory (database, spool, history) and a dump of every table are searched for them."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from salesctl.llm.simulator import Simulator

SECRETS = {
    "CEREBRAS_API_KEY": "csk-SECRET-cerebras-1234567890",
    "ANTHROPIC_API_KEY": "sk-ant-SECRET-claude-1234567890",
    "GOOGLE_API_KEY": "AIzaSECRET-gemini-12345678901234567890",
    "OPENROUTER_API_KEY": "sk-or-SECRET-openrouter-1234567890",
    "OPENAI_API_KEY": "sk-SECRET-openai-1234567890",
    "SALESCTL_SERVE_TOKEN": "tok-SECRET-serve-1234567890",
}
MARK = "SECRET"
"""In every secret and nowhere else, so a partial leak (a key minus its prefix) shows too."""

CSV = "company,contact_email,industry,employees\nGlobex,ann@globex.example,Software,300\n"
TRANSCRIPT = "Rep: Hi Dana.\nDana: We need pricing for 40 seats by Friday.\n"

# (command path, arguments, faults to inject first). Every command of the app must appear,
# so a new command is swept too; `serve` and `demo` run servers or whole tours of their own
# and are covered by their own tests.
SWEEP: list[tuple[str, list[str], list[dict[str, Any]], int | None]] = [
    ("db current", ["db", "current"], [], 0),
    ("db upgrade", ["db", "upgrade"], [], 0),
    ("config show", ["config", "show"], [], 0),
    ("config show", ["config", "show", "--json"], [], 0),
    ("doctor", ["doctor", "--online"], [], None),
    ("doctor", ["doctor", "--json"], [{"status": 401, "times": 10}], None),
    ("icp show", ["icp", "show"], [], 0),
    ("leads add", ["leads", "add", "--company", "TechCorp Inc", "--industry", "Software"], [], 0),
    ("leads import", ["leads", "import", "{csv}"], [], 0),
    ("leads list", ["leads", "list", "--json"], [], 0),
    ("leads show", ["leads", "show", "1"], [], 0),
    ("deals add", ["deals", "add", "--lead", "1", "--name", "Pilot", "--amount", "1200"], [], 0),
    ("deals list", ["deals", "list"], [], 0),
    ("deals move", ["deals", "move", "1", "proposal"], [], 0),
    ("pricing list", ["pricing", "list"], [], 0),
    ("pricing show", ["pricing", "show", "cerebras", "llama3.1-8b"], [], 0),
    ("router explain", ["router", "explain", "Show me top 3 leads", "--json"], [], 0),
    ("qualify", ["qualify", "--lead", "1"], [], 0),
    ("qualify", ["qualify", "--lead", "2", "--estimate"], [], 0),
    ("qualify", ["qualify", "--lead", "2"], [{"provider": "cerebras", "status": 401}], 1),
    (
        "qualify",
        ["--debug", "qualify", "--lead", "2"],
        [{"provider": "cerebras", "status": 401}],
        1,
    ),
    ("enrich", ["enrich", "--lead", "1"], [], 0),
    ("enrich", ["enrich", "--lead", "2"], [{"provider": "claude", "status": 500, "times": 3}], 1),
    ("grow", ["grow", "--lead", "1"], [], 0),
    (
        "grow",
        ["--debug", "grow", "--lead", "2"],
        [{"provider": "openrouter", "kind": "malformed"}],
        1,
    ),
    ("market", ["market", "--lead", "1"], [], 0),
    ("bdr", ["bdr", "--lead", "1"], [], 0),
    ("converse", ["converse", "--lead", "1", "--transcript", "{transcript}"], [], 0),
    ("chat", ["chat", "sr-bdr", "--once", "Show me top 3 leads"], [], 0),
    (
        "chat",
        ["--debug", "chat", "pipeline", "--once", "How is the pipeline?"],
        [{"status": 401, "times": 6}],
        1,
    ),
    ("costs", ["costs"], [], 0),
    ("costs", ["costs", "--json", "--percentiles"], [], 0),
    ("costs export", ["costs", "export", "--with-text"], [], 0),
    ("costs export", ["costs", "export", "--format", "jsonl"], [], 0),
    ("costs savings", ["costs", "savings"], [], 0),
    ("costs outcomes", ["costs", "outcomes", "--json"], [], 0),
    ("costs flush", ["costs", "flush"], [], 0),
    ("costs prune", ["costs", "prune", "--older-than", "90d"], [], 0),
    ("budget check", ["budget", "check", "--daily", "10", "--details"], [], 0),
    ("maintenance flush", ["maintenance", "flush", "--json"], [], 0),
    (
        "maintenance redact-existing",
        ["maintenance", "redact-existing", "--mode", "redacted", "--yes"],
        [],
        0,
    ),
    ("leads delete", ["leads", "delete", "2", "--yes"], [], 0),
    ("db downgrade", ["db", "downgrade", "0001_foundation"], [], 0),
    ("init", ["init"], [], 0),
]
NOT_SWEPT = {"serve", "demo"}


def command_paths() -> set[str]:
    from salesctl.cli import app

    root = get_command(app)
    context = click.Context(root)
    paths: set[str] = set()

    def walk(command: click.Command, path: list[str]) -> None:
        if hasattr(command, "list_commands"):
            if path and getattr(command, "invoke_without_command", False):
                paths.add(" ".join(path))
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, [*path, name])
        else:
            paths.add(" ".join(path))

    walk(root, [])
    return paths


def test_the_sweep_covers_every_command() -> None:
    missing = command_paths() - {path for path, *_ in SWEEP} - NOT_SWEPT
    assert not missing, f"add these commands to SWEEP in {__file__}: {sorted(missing)}"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    from salesctl.config import get_settings

    with Simulator() as sim:
        for name, value in {**SECRETS, **sim.env()}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield sim


async def dump_database(url: str) -> str:
    """Every row of every table, as text."""
    from sqlalchemy import MetaData, select

    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            metadata = MetaData()
            await conn.run_sync(metadata.reflect)
            parts = []
            for table in metadata.sorted_tables:
                for row in (await conn.execute(select(table))).all():
                    parts.append(f"{table.name}: {tuple(row)!r}")
            return "\n".join(parts)
    finally:
        await engine.dispose()


def files_under(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_command_shows_or_stores_an_api_key(
    secret_env: Simulator,
    db_env: str,
    isolated_env: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from salesctl.cli import app
    from salesctl.config import get_settings

    csv = tmp_path / "leads.csv"
    csv.write_text(CSV)
    transcript = tmp_path / "call.txt"
    transcript.write_text(TRANSCRIPT)
    seen: list[str] = []
    runner = CliRunner()
    with caplog.at_level(logging.DEBUG):
        for _path, args, faults, expected in SWEEP:
            secret_env.reset()
            for fault in faults:
                secret_env.fail_next(**fault)
            argv = [a.format(csv=csv, transcript=transcript) for a in args]
            get_settings.cache_clear()
            result = runner.invoke(app, argv, catch_exceptions=True)
            seen += [result.stdout, result.stderr]
            if result.exc_info is not None and not isinstance(result.exception, SystemExit):
                seen.append("".join(traceback.format_exception(*result.exc_info)))
            if expected is not None:
                assert result.exit_code == expected, (argv, result.output)
        seen += [r.getMessage() for r in caplog.records]
        seen += [str(r.args) for r in caplog.records]

    seen.append(asyncio.run(dump_database(db_env)))
    seen += [data.decode("utf-8", "replace") for _, data in files_under(isolated_env)]
    seen += [
        data.decode("utf-8", "replace")
        for _, data in files_under(Path(db_env.split("///")[1]).parent)
    ]

    leaks = [text for text in seen if MARK in text]
    assert not leaks, leaks[0][:2000]


def test_secrets_are_masked_in_settings_output_but_recognisable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from salesctl.cli import app
    from salesctl.config import get_settings

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.stderr
    assert MARK not in result.output
    assert "csk-…7890" in result.output


@pytest.mark.redis
def test_no_key_reaches_redis(secret_env: Simulator, db_env: str) -> None:
    import os
    import uuid

    from salesctl.db.session import create_engine
    from salesctl.llm.cache import RedisCache
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    url = os.environ.get("SALESCTL_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("Redis tests need SALESCTL_TEST_REDIS_URL (CI=true: not skipping)")
        pytest.skip("Redis tests need SALESCTL_TEST_REDIS_URL")
    prefix = f"salesctl-test:{uuid.uuid4().hex}:"

    async def run() -> list[bytes]:
        import redis.asyncio as redis

        engine = create_engine(db_env)
        cache = RedisCache(url, prefix=prefix)
        async with CostOptimizedLLMProvider(engine=engine, cache=cache) as llm:
            for provider, model in (
                ("cerebras", "llama3.1-8b"),
                ("claude", "claude-3-haiku-20240307"),
                ("gemini", "gemini-1.5-flash"),
                ("openrouter", "deepseek/deepseek-chat"),
                ("openai", "gpt-4o-mini"),
            ):
                config = LLMConfig(agent_type="qualification", provider=provider, model=model)
                await llm.complete("Qualify TechCorp", config=config)
        await cache.aclose()
        await engine.dispose()
        client = redis.Redis.from_url(url)
        try:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            found = [*keys, *[await client.get(key) or b"" for key in keys]]
            if keys:
                await client.delete(*keys)
            return found
        finally:
            await client.aclose()

    stored = asyncio.run(run())
    assert len(stored) == 10, stored  # five keys and their values
    assert not [item for item in stored if MARK.encode() in item]
