"""API keys never leak: every command runs with distinctive keys (answers, failures and
`--debug` included), then stdout, stderr, tracebacks, log records, every file in the data
directory (database, spool, history) and a dump of every table are searched for them.

`serve` runs as a real server process answering real requests; `demo` runs its own code (the
workspace, the narration, the printed commands, the step runner) over a short script of real
steps, since the full tour takes minutes on a loaded machine and is run by tests/test_demo.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
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
# so a new command is swept too; `serve` and `demo` run a server or a tour of processes and
# have their own sweeps below (SWEPT_APART).
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
    ("router eval", ["router", "eval", "{labels}"], [], 0),
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
    ("costs reconcile", ["costs", "reconcile", "{invoice}"], [], None),
    ("costs quality", ["costs", "quality"], [], 0),
    ("feedback", ["feedback", "no-such-call", "--good"], [], 1),
    ("router tune", ["router", "tune", "--labels", "{labels}", "--json"], [], 0),
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
    ("simulator", ["simulator", "--env", "--port", "9123"], [], 0),
]
SWEPT_APART = {"serve", "demo"}


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
    missing = command_paths() - {path for path, *_ in SWEEP} - SWEPT_APART
    assert not missing, f"add these commands to SWEEP in {__file__}: {sorted(missing)}"
    sweeps = {
        name: globals().get(f"test_{name}_never_shows_or_stores_a_key") for name in SWEPT_APART
    }
    assert all(callable(sweep) for sweep in sweeps.values()), sweeps


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


def stored_text(db_env: str, home: Path) -> list[str]:
    """Everything a run left behind: the database's rows, and every file in the data
    directory and beside the (SQLite) database."""
    seen = [asyncio.run(dump_database(db_env))]
    for root in (home, Path(db_env.split("///")[1]).parent):
        seen += [data.decode("utf-8", "replace") for _, data in files_under(root)]
    return seen


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
    invoice = tmp_path / "invoice.csv"
    invoice.write_text("date,provider,model,cost_usd\n2025-01-15,claude,claude-sonnet-4-5,1.5\n")
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"prompt": "run the renewal playbook for Acme", "label": "complex"}\n')
    seen: list[str] = []
    runner = CliRunner()
    with caplog.at_level(logging.DEBUG):
        for _path, args, faults, expected in SWEEP:
            secret_env.reset()
            for fault in faults:
                secret_env.fail_next(**fault)
            argv = [
                a.format(csv=csv, transcript=transcript, invoice=invoice, labels=labels)
                for a in args
            ]
            get_settings.cache_clear()
            result = runner.invoke(app, argv, catch_exceptions=True)
            seen += [result.stdout, result.stderr]
            if result.exc_info is not None and not isinstance(result.exception, SystemExit):
                seen.append("".join(traceback.format_exception(*result.exc_info)))
            if expected is not None:
                assert result.exit_code == expected, (argv, result.output)
        seen += [r.getMessage() for r in caplog.records]
        seen += [str(r.args) for r in caplog.records]

    seen += stored_text(db_env, isolated_env)

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


# --- serve ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(process: subprocess.Popen[str], base: str) -> None:
    """Poll until the server answers (or has exited: then its output says why)."""
    import httpx

    deadline = time.monotonic() + 120  # a wait for a slow start, not a timing assertion
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(base + "/openapi.json", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    out, err = process.communicate()
    raise AssertionError(f"salesctl serve did not start (exit {process.returncode}):\n{out}{err}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_never_shows_or_stores_a_key(
    secret_env: Simulator, db_env: str, isolated_env: Path
) -> None:
    import httpx

    from salesctl.api.app import COSTS_PATH
    from salesctl.cli import app
    from salesctl.config import get_settings

    runner = CliRunner()
    for args in (["leads", "add", "--company", "TechCorp Inc"], ["qualify", "--lead", "1"]):
        get_settings.cache_clear()
        assert runner.invoke(app, args).exit_code == 0  # a tracked call for the report
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "salesctl", "--debug", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    token = {"Authorization": f"Bearer {SECRETS['SALESCTL_SERVE_TOKEN']}"}
    try:
        wait_until_serving(server, base)
        with httpx.Client(base_url=base, timeout=60) as client:
            responses = [
                client.get(COSTS_PATH),
                client.get(COSTS_PATH, headers={"Authorization": "Bearer not-the-token"}),
                client.get(COSTS_PATH, headers=token),
                client.get(COSTS_PATH, params={"start_date": "someday"}, headers=token),
                client.get(COSTS_PATH, params={"by": "fortnight"}, headers=token),
                client.get("/openapi.json"),
                client.get("/docs"),
            ]
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=120)
    assert [r.status_code for r in responses] == [401, 401, 200, 422, 422, 200, 200]
    assert responses[2].json()["total_requests"] == 1
    # uvicorn shuts down cleanly on SIGTERM, then re-raises it (exit status -15 or 0).
    assert server.returncode in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete" in stderr
    assert f'"GET {COSTS_PATH} HTTP/1.1" 401' in stdout + stderr  # the access log was on

    seen = [stdout, stderr]
    seen += [f"{r.status_code} {dict(r.headers)} {r.text}" for r in responses]
    seen += stored_text(db_env, isolated_env)
    leaks = [text for text in seen if MARK in text]
    assert not leaks, leaks[0][:2000]


# --- demo ----------------------------------------------------------------------------------


def short_tour(workspace: Any, lead_ids: dict[str, int], today: Any) -> list[Any]:
    """Two of the tour's own steps, one of each kind the step runner and narrator treat apart:
    a chat (output captured, answers summarised; its keys reach a model) and the budget check
    (output passed through, exit status narrated). The lead agents run like the latter and
    are swept above; the full tour is tests/test_demo.py's."""
    from salesctl.demo.tour import main_steps

    wanted = [("chat", "sr-bdr"), ("budget", "check")]
    steps = main_steps(workspace, lead_ids, today)
    return [step for step in steps if any(step.args[: len(w)] == w for w in wanted)]


@pytest.mark.slow
def test_demo_never_shows_or_stores_a_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import io

    from rich.console import Console

    from salesctl.config import get_settings
    from salesctl.demo.narrate import RichNarrator
    from salesctl.demo.tour import run_demo
    from salesctl.demo.workspace import remove_workspace

    for name, value in {**SECRETS, "GEMINI_API_KEY": "AIzaSECRET-gemini-alias-12345678"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    printed = io.StringIO()
    narrator = RichNarrator(Console(file=printed, width=200))
    result = run_demo(narrator, keep=True, parent=tmp_path, script=short_tour)
    workspace = result.workspace
    try:
        captured = capfd.readouterr()  # the steps' own output (they inherit the descriptors)
        ran = [" ".join(o.step.args[:2]) for o in result.outcomes if o.status == "ok"]
        assert result.ok, printed.getvalue() + captured.out + captured.err
        assert ran == ["init", "leads import", "chat sr-bdr", "budget check"]
        database = workspace.home / "salesctl.db"
        dump = asyncio.run(dump_database(f"sqlite+aiosqlite:///{database}"))
        assert "'sr_bdr'" in dump  # the chat's calls, tracked in the demo's own database
        seen = [printed.getvalue(), captured.out, captured.err, dump]
        seen += [data.decode("utf-8", "replace") for _, data in files_under(workspace.root)]
    finally:
        remove_workspace(workspace)
    assert "$ printf '%s\\n' 'Show me top 3 leads'" in seen[0]
    assert "export OPENAI_API_KEY=sk-demo-simulated" in seen[0]
    leaks = [text for text in seen if MARK in text]
    assert not leaks, leaks[0][:2000]


@pytest.mark.parametrize("here", [False, True])
def test_the_demo_workspace_hands_its_commands_only_simulator_keys(
    here: bool, tmp_path: Path
) -> None:
    """`--here` keeps the user's database and settings, but never their provider keys."""
    from salesctl.demo.workspace import PROVIDER_ENV, create_workspace, remove_workspace

    environ = {**os.environ, **SECRETS, "GEMINI_API_KEY": "AIzaSECRET-gemini-alias-12345678"}
    urls = {"OPENAI_BASE_URL": "http://127.0.0.1:9/openai"}
    workspace = create_workspace(urls, here=here, environ=environ, parent=tmp_path)
    try:
        written = workspace.env_file.read_text()
        printed = "\n".join(workspace.shell_lines())
        given = {name: workspace.env.get(name, "") for name in PROVIDER_ENV}
    finally:
        remove_workspace(workspace)
    assert MARK not in written
    assert MARK not in printed
    assert not [name for name, value in given.items() if MARK in value]
    assert given["OPENAI_API_KEY"] == "sk-demo-simulated"
