"""The doctor's checks, each against the real thing it checks: databases, Redis, the provider
simulator over HTTP, files on disk."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sim_kit import use_simulator
from sqlalchemy import select

from salesctl import doctor
from salesctl.config import get_settings
from salesctl.db import migrate
from salesctl.db.models import AICostTracking
from salesctl.db.session import create_engine, session_factory, sqlite_path
from salesctl.llm.simulator import Simulator
from salesctl.llm.spool import Spool, spool_path
from salesctl.llm.tracking import TrackingRecord, replay_spool

DUMMY_KEYS = {
    "CEREBRAS_API_KEY": "csk-doctor-test-key-0001",
    "ANTHROPIC_API_KEY": "sk-ant-doctor-test-key-0002",
    "GOOGLE_API_KEY": "doctor-test-google-key-0003",
    "OPENROUTER_API_KEY": "sk-or-doctor-test-key-0004",
    "OPENAI_API_KEY": "sk-doctor-test-key-0005",
}
"""Distinct keys of this module's own (not sim_kit.DUMMY_KEYS), also set without a simulator."""


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str):  # type: ignore[no-untyped-def]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def write_config(text: str) -> None:
    Path(os.environ["SALESCTL_CONFIG"]).write_text(text)
    get_settings.cache_clear()


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """The provider simulator, with salesctl's base URLs and dummy keys pointing at it."""
    with Simulator(latency_ms=0) as sim:
        use_simulator(monkeypatch, sim, DUMMY_KEYS)
        yield sim


async def doctor_rows(url: str) -> list[AICostTracking]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            query = select(AICostTracking).where(AICostTracking.agent_type == "doctor")
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


# --- Python and config -----------------------------------------------------------------------


def test_python_older_than_3_11_fails_with_the_fix() -> None:
    assert doctor.check_python((3, 12, 1)).ok
    old = doctor.check_python((3, 10, 14))
    assert not old.ok
    assert "3.10.14" in old.detail
    assert old.fix is not None
    assert "3.11" in old.fix


def test_no_config_file_means_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SALESCTL_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    check, settings = doctor.check_config()
    assert check.ok
    assert "defaults" in check.detail
    assert settings is not None


def test_config_file_that_is_not_toml_fails_and_names_the_file() -> None:
    write_config("this is [not toml\n")
    check, settings = doctor.check_config()
    assert not check.ok
    assert settings is None
    assert os.environ["SALESCTL_CONFIG"] in (check.fix or "") + check.detail


def test_bad_router_choice_fails_the_config_check() -> None:
    write_config('[router]\nsimple = ["gemini-1.5-flash"]\n')
    check, _ = doctor.check_config()
    assert not check.ok
    assert "router.simple" in check.detail


async def test_a_config_that_cannot_load_skips_the_other_checks() -> None:
    write_config("agents = 3\n")
    diagnosis = await doctor.diagnose()
    assert [c.name for c in diagnosis.checks] == ["python", "config"]
    assert not diagnosis.ok


# --- database --------------------------------------------------------------------------------


async def test_migrated_database_passes(db_env: str) -> None:
    check = await doctor.check_database(get_settings())
    assert check.ok, check.detail
    assert "0002" in check.detail or "schema" in check.detail


async def test_unmigrated_database_names_init_and_creates_nothing(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_with(monkeypatch, DATABASE_URL=empty_database_url)
    check = await doctor.check_database(settings)
    assert not check.ok
    assert check.fix == "salesctl init"
    database_file = sqlite_path(settings.sqlalchemy_url)
    if database_file is not None:
        assert not database_file.exists()


async def test_database_behind_the_code_names_db_upgrade(db_env: str) -> None:
    engine = create_engine(get_settings().sqlalchemy_url)
    try:
        await migrate.downgrade(engine, "0001_foundation")
    finally:
        await engine.dispose()
    check = await doctor.check_database(get_settings())
    assert not check.ok
    assert check.fix == "salesctl db upgrade"
    assert "0001_foundation" in check.detail


async def test_unreachable_postgres_fails_with_the_url_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_with(
        monkeypatch, DATABASE_URL="postgresql://sales:hunter2secret@127.0.0.1:1/salesctl"
    )
    check = await doctor.check_database(settings)
    assert not check.ok
    assert "hunter2secret" not in check.detail
    assert check.fix is not None
    assert "DATABASE_URL" in check.fix


# --- Redis -----------------------------------------------------------------------------------


async def test_redis_not_configured_is_fine() -> None:
    check = await doctor.check_redis(get_settings())
    assert check.ok
    assert "not configured" in check.detail


@pytest.mark.redis
async def test_reachable_redis_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    url = os.environ.get("SALESCTL_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("Redis tests need SALESCTL_TEST_REDIS_URL (CI=true: not skipping)")
        pytest.skip("Redis tests need SALESCTL_TEST_REDIS_URL")
    check = await doctor.check_redis(settings_with(monkeypatch, REDIS_URL=url))
    assert check.ok, check.detail


async def test_redis_down_fails_and_says_how_to_do_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_with(monkeypatch, REDIS_URL="redis://:s3cretpass@127.0.0.1:1/0")
    check = await doctor.check_redis(settings)
    assert not check.ok
    assert check.required
    assert "s3cretpass" not in check.detail
    assert check.fix is not None
    assert "unset REDIS_URL" in check.fix


# --- provider keys and online calls -----------------------------------------------------------


def test_missing_keys_fail_for_providers_called_first_and_warn_for_fallbacks() -> None:
    checks = {c.name: c for c in doctor.check_provider_keys(get_settings())}
    for provider, env in [("cerebras", "CEREBRAS_API_KEY"), ("claude", "ANTHROPIC_API_KEY")]:
        assert not checks[f"key:{provider}"].ok
        assert checks[f"key:{provider}"].required
        assert checks[f"key:{provider}"].fix == f"set {env}"
    # openai appears only as a router fallback in the default configuration.
    assert not checks["key:openai"].ok
    assert not checks["key:openai"].required


def test_keys_are_shown_masked_with_their_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "csk-live-9f8e7d6c5b4a3210abcd"
    settings = settings_with(
        monkeypatch, CEREBRAS_API_KEY=secret, CEREBRAS_BASE_URL="https://gw.example/cerebras"
    )
    check = next(c for c in doctor.check_provider_keys(settings) if c.name == "key:cerebras")
    assert check.ok
    assert secret not in check.detail
    assert "abcd" in check.detail  # enough to recognise the key
    assert "https://gw.example/cerebras" in check.detail


def test_a_provider_nobody_calls_needs_no_key() -> None:
    write_config(
        "[router]\n"
        'simple = ["gemini:gemini-1.5-flash"]\n'
        'medium = ["claude:claude-3-haiku-20240307"]\n'
        'complex = ["claude:claude-sonnet-4-5"]\n'
    )
    checks = {c.name: c for c in doctor.check_provider_keys(get_settings())}
    assert checks["key:openai"].ok
    assert "not used" in checks["key:openai"].detail


async def test_online_calls_every_configured_provider_once_and_tracks_them(
    db_env: str, simulator: Simulator
) -> None:
    checks = await doctor.check_online(get_settings())
    assert {c.name for c in checks} == {
        "call:cerebras",
        "call:claude",
        "call:gemini",
        "call:openrouter",
        "call:openai",
    }
    assert all(c.ok for c in checks), [c.detail for c in checks if not c.ok]
    assert all("(simulated)" in c.detail for c in checks)
    rows = await doctor_rows(db_env)
    assert sorted(r.provider for r in rows) == [
        "cerebras",
        "claude",
        "gemini",
        "openai",
        "openrouter",
    ]
    assert all(r.completion_tokens <= 1 and r.status == "ok" for r in rows)
    assert all(r.cost_usd is not None and r.cost_usd > 0 for r in rows)
    assert len(simulator.ledger) == 5


async def test_online_with_providers_unreachable_fails_and_tracks_the_failures(
    db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in DUMMY_KEYS.items():
        monkeypatch.setenv(name, value)
    for env in (
        "CEREBRAS_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "GOOGLE_GEMINI_BASE_URL",
        "OPENROUTER_BASE_URL",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.setenv(env, "http://127.0.0.1:1/nothing-listens-here")
    get_settings.cache_clear()
    checks = {c.name: c for c in await doctor.check_online(get_settings())}
    cerebras = checks["call:cerebras"]
    assert not cerebras.ok
    assert cerebras.fix == "check the network and CEREBRAS_BASE_URL"
    rows = await doctor_rows(db_env)
    assert len(rows) == 5
    assert {r.status for r in rows} == {"error"}


async def test_online_skips_providers_without_a_key(db_env: str, simulator: Simulator) -> None:
    settings = get_settings().model_copy(update={"openai_api_key": None})
    checks = {c.name: c for c in await doctor.check_online(settings)}
    assert checks["call:cerebras"].ok
    assert not checks["call:openai"].ok
    assert not checks["call:openai"].required
    assert "no API key" in checks["call:openai"].detail


async def test_online_is_skipped_when_the_database_is_not_ready(simulator: Simulator) -> None:
    diagnosis = await doctor.diagnose(online=True)
    names = [c.name for c in diagnosis.checks]
    assert "call:*" in names
    assert not any(name.startswith("call:c") for name in names)
    assert simulator.ledger == []


# --- pricing ---------------------------------------------------------------------------------


def test_every_default_model_is_priced() -> None:
    checks = doctor.check_pricing(get_settings())
    assert len(checks) >= 6
    assert all(c.ok for c in checks), [c.detail for c in checks if not c.ok]


def test_unpriced_model_fails_and_names_the_override_to_add() -> None:
    write_config('[agents.qualification]\nprovider = "cerebras"\nmodel = "llama-doctor-9000"\n')
    checks = doctor.check_pricing(get_settings())
    failed = [c for c in checks if not c.ok]
    assert len(failed) == 1
    assert failed[0].detail.startswith("cerebras:llama-doctor-9000")
    assert failed[0].fix is not None
    assert '[pricing."cerebras:llama-doctor-9000"]' in failed[0].fix


def test_an_override_prices_an_unlisted_model() -> None:
    write_config(
        '[agents.qualification]\nprovider = "cerebras"\nmodel = "llama-doctor-9000"\n'
        '[pricing."cerebras:llama-doctor-9000"]\ninput_per_mtok = 0.2\noutput_per_mtok = 0.4\n'
    )
    checks = doctor.check_pricing(get_settings())
    assert all(c.ok for c in checks)
    assert any("llama-doctor-9000" in c.detail and "override" in c.detail for c in checks)


def test_an_override_for_a_model_never_served_is_reported() -> None:
    write_config(
        '[pricing."claude:claude-sonet-4-5"]\ninput_per_mtok = 2\noutput_per_mtok = 10\n'
        '[pricing."claude:claude-sonnet-4-5"]\ninput_per_mtok = 2\noutput_per_mtok = 10\n'
        '[pricing."openai:acme-ft-1"]\ninput_per_mtok = 3\noutput_per_mtok = 6\n'
    )
    served = [("openai", "acme-ft-1", "acme-ft-1-2026-11-01")]
    checks = doctor.check_pricing(get_settings(), served)
    [warning] = [c for c in checks if not c.ok]
    assert not warning.required  # reported, but the doctor still passes
    assert warning.detail.startswith('[pricing."claude:claude-sonet-4-5"] names a model claude')
    assert warning.fix is not None
    # Without the tracked calls, the private model's override is unexplained too.
    unexplained = [c.detail for c in doctor.check_pricing(get_settings()) if not c.ok]
    assert len(unexplained) == 2


# --- spool and permissions -------------------------------------------------------------------


def spooled_record() -> TrackingRecord:
    return TrackingRecord(
        request_id=str(uuid.uuid4()),
        timestamp=datetime.now(UTC),
        agent_type="qualification",
        provider="cerebras",
        model="llama3.1-8b",
        prompt_tokens=10,
        completion_tokens=2,
    )


async def test_spool_with_calls_missing_from_the_database_warns_until_flushed(
    db_env: str,
) -> None:
    settings = get_settings()
    assert doctor.check_spool(settings).ok
    spool = Spool(spool_path(settings.data_dir))
    spool.append(spooled_record().to_json_line())
    spool.append(spooled_record().to_json_line())
    spool.close()
    check = doctor.check_spool(settings)
    assert not check.ok
    assert not check.required
    assert check.detail.startswith("2 tracked calls")
    assert check.fix is not None
    assert "salesctl costs flush" in check.fix
    engine = create_engine(settings.sqlalchemy_url)
    try:
        assert await replay_spool(engine, spool_path(settings.data_dir)) == 2
    finally:
        await engine.dispose()
    assert doctor.check_spool(settings).ok


def test_permissions_before_init_are_fine() -> None:
    check = doctor.check_permissions(get_settings())
    assert check.ok
    assert "not created yet" in check.detail


def test_files_readable_by_others_fail_with_the_chmod_that_fixes_them(
    isolated_env: Path,
) -> None:
    isolated_env.mkdir(mode=0o700)
    (isolated_env / "spool").mkdir(mode=0o700)
    exposed = isolated_env / "spool" / "tracking.jsonl"
    exposed.write_text("")
    exposed.chmod(0o644)
    check = doctor.check_permissions(get_settings())
    assert not check.ok
    assert f"{exposed} (0644)" in check.detail
    assert check.fix == f"chmod -R go-rwx {isolated_env}"
    os.system(check.fix)  # the fix, as a user would paste it
    assert doctor.check_permissions(get_settings()).ok


def test_a_sqlite_database_outside_the_data_dir_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "elsewhere" / "sales.db"
    database.parent.mkdir()
    database.write_bytes(b"")
    database.chmod(0o664)
    settings = settings_with(monkeypatch, DATABASE_URL=f"sqlite:///{database}")
    check = doctor.check_permissions(settings)
    assert not check.ok
    assert str(database) in check.detail
    assert check.fix == f"chmod -R go-rwx {database}"


# --- everything together ---------------------------------------------------------------------


async def test_fresh_install_with_simulator_passes_after_init(
    db_env: str, simulator: Simulator
) -> None:
    settings = get_settings()
    settings.data_dir.mkdir(mode=0o700)  # as `salesctl init` does
    database_file = sqlite_path(settings.sqlalchemy_url)
    if database_file is not None:
        database_file.chmod(0o600)  # the test fixture copies it with the umask's mode
    diagnosis = await doctor.diagnose(online=True)
    assert diagnosis.ok, [(c.name, c.detail) for c in diagnosis.failed]
    assert any(c.name == "call:claude" and c.ok for c in diagnosis.checks)
