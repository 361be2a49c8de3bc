"""`salesctl doctor`: is this installation ready to run agents and account for their calls?

Each check is a plain function returning a `Check` (or a list of them): what was found, and
the command or setting that fixes it. `diagnose()` runs them all in order. Checks open their
own connections and never create anything (no database file, no data directory), so running
the doctor changes nothing, except `--online`, whose one-token calls are tracked as agent
`doctor` like any other call.
"""

from __future__ import annotations

import asyncio
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from salesctl.vocabulary import COMPLEXITIES

if TYPE_CHECKING:
    from collections.abc import Iterable
    from decimal import Decimal

    from sqlalchemy.ext.asyncio import AsyncEngine

    from salesctl.config import ProviderId, Settings
    from salesctl.llm.gateway import LLMGateway

MINIMUM_PYTHON = (3, 11)
CONNECT_TIMEOUT_S = 10.0
"""How long the database, Redis and `--online` checks wait before calling a service down."""

ONLINE_PROMPT = "Reply with the single word OK."
ONLINE_AGENT = "doctor"

ProviderUse = Literal["primary", "fallback"]


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: `ok`, what was seen (`detail`) and, when not ok, how to fix it.

    A check that is not `required` (a fallback provider's key, a pending spool) is reported
    but does not make the doctor fail.
    """

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    required: bool = True


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Every check in the order they ran; `ok` when no required check failed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok or not check.required for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok and check.required]

    @property
    def warnings(self) -> list[Check]:
        return [check for check in self.checks if not check.ok and not check.required]


# --- Python and the config file --------------------------------------------------------------


def check_python(version: tuple[int, ...] | None = None) -> Check:
    """salesctl needs Python 3.11 or newer."""
    found = tuple(version or sys.version_info[:3])
    shown = ".".join(str(part) for part in found)
    needed = ".".join(str(part) for part in MINIMUM_PYTHON)
    if found[:2] >= MINIMUM_PYTHON:
        return Check("python", True, f"Python {shown} ({sys.executable})")
    return Check(
        "python",
        False,
        f"Python {shown}; salesctl needs {needed} or newer",
        fix=f"install Python {needed}+ and reinstall salesctl in a virtualenv made with it",
    )


def check_config() -> tuple[Check, Settings | None]:
    """The config file (if any) parses, and every provider and router choice in it is valid.

    Returns the settings as well, since every later check needs them; None when they are
    unusable (later checks are then skipped).
    """
    from salesctl.config import canonical_provider, config_path, get_settings
    from salesctl.errors import ConfigError
    from salesctl.llm.router import parse_choice

    path = config_path()
    try:
        settings = get_settings()
        for name, agent in settings.agents.items():
            canonical_provider(agent.provider)
            if not agent.model.strip():
                raise ConfigError(f"agents.{name}.model is empty")
        for tier in COMPLEXITIES:
            for choice in getattr(settings.router, tier):
                parse_choice(choice, where=f"router.{tier}")
    except ConfigError as exc:
        return Check(
            "config", False, str(exc), fix=f"correct {path} (or unset SALESCTL_CONFIG)"
        ), None
    if path.is_file():
        return Check("config", True, f"{path} is valid"), settings
    return Check("config", True, f"no config file at {path}: defaults and environment"), settings


# --- database and Redis ----------------------------------------------------------------------


async def check_database(settings: Settings) -> Check:
    """The database answers and is migrated to the schema this salesctl expects."""
    from salesctl.config import mask_url
    from salesctl.db.session import SCHEMA_HEAD, create_engine, current_revision, sqlite_path
    from salesctl.errors import ConfigError, DatabaseError

    try:
        url = settings.sqlalchemy_url
    except ConfigError as exc:
        return Check("database", False, str(exc), fix="correct DATABASE_URL")
    shown = mask_url(url)
    database_file = sqlite_path(url)
    if database_file is not None and not database_file.exists():
        # Connecting would create an empty file; say what is missing instead.
        return Check("database", False, f"no database at {database_file}", fix="salesctl init")
    try:
        engine = create_engine(url)
    except DatabaseError as exc:
        return Check("database", False, str(exc), fix="correct DATABASE_URL")
    try:
        revision = await asyncio.wait_for(current_revision(engine), CONNECT_TIMEOUT_S)
        writable = await asyncio.wait_for(cannot_write(engine, url), CONNECT_TIMEOUT_S)
    except (DatabaseError, TimeoutError) as exc:
        why, fix = database_cause(exc, url)
        return Check("database", False, f"{shown}: {why}", fix=fix)
    finally:
        await engine.dispose()
    if revision == SCHEMA_HEAD and writable is not None:
        why, fix = writable
        return Check("database", False, f"{shown}: {why}", fix=fix)
    if revision == SCHEMA_HEAD:
        return Check("database", True, f"{shown} (schema {SCHEMA_HEAD})")
    if revision is None:
        return Check("database", False, f"{shown} is not initialised", fix="salesctl init")
    if _is_older_revision(revision):
        return Check(
            "database",
            False,
            f"{shown} is at schema {revision!r}, this salesctl needs {SCHEMA_HEAD!r}",
            fix="salesctl db upgrade",
        )
    return Check(
        "database",
        False,
        f"{shown} is at schema {revision!r}, newer than this salesctl ({SCHEMA_HEAD!r})",
        fix="upgrade salesctl (pip install -U salesctl)",
    )


SQLSTATE_CAUSES: dict[str, tuple[str, str]] = {
    "28P01": (
        "authentication failed (wrong password)",
        "correct the user name and password in DATABASE_URL",
    ),
    "28000": (
        "the server does not let this user in from here",
        "correct the user in DATABASE_URL, or allow it in the server's pg_hba.conf",
    ),
    "3D000": (
        "the database does not exist",
        "create it (createdb NAME), or correct the database name in DATABASE_URL",
    ),
    "42501": (
        "permission denied",
        "grant the user in DATABASE_URL access to the salesctl tables, or use their owner",
    ),
    "57P03": ("the server is starting up or shutting down", "wait a moment and try again"),
    "53300": (
        "the server has no connection slot left",
        "close idle connections, or raise max_connections on the server",
    ),
}
"""PostgreSQL errors (by SQLSTATE) that say why a connection failed, and what to do."""


def database_cause(exc: BaseException, url: str) -> tuple[str, str]:
    """Why the database cannot be used, in a few words, and the fix: the real cause
    (a wrong password, a missing database, permissions), not just "start the server"."""
    import socket

    from salesctl.db.session import describe_db_error, sqlite_path

    seen = []
    cause: BaseException | None = exc
    while cause is not None and cause not in seen:
        seen.append(cause)
        state = getattr(cause, "sqlstate", None)
        if state in SQLSTATE_CAUSES:
            why, fix = SQLSTATE_CAUSES[state]
            return f"{why}: {describe_db_error(cause)}", fix
        if isinstance(cause, ConnectionRefusedError):
            return (
                "connection refused: no database server listens there",
                "start the database server, or point DATABASE_URL at a reachable one",
            )
        if isinstance(cause, socket.gaierror):
            return (
                f"the host name does not resolve ({cause.strerror})",
                "correct the host in DATABASE_URL",
            )
        if isinstance(cause, TimeoutError):
            return (
                f"no answer within {CONNECT_TIMEOUT_S:g} s",
                "check the host, the port and any firewall in between",
            )
        cause = cause.__cause__ or getattr(cause, "orig", None)
    text = str(exc).lower()
    database_file = sqlite_path(url)
    if database_file is not None and ("readonly" in text or "unable to open" in text):
        return (
            f"{database_file} cannot be opened for writing ({describe_db_error(exc)})",
            f"make {database_file} and its directory readable and writable by you",
        )
    return (
        str(exc) or describe_db_error(exc),
        "start the database server, or point DATABASE_URL at a reachable one",
    )


async def cannot_write(engine: AsyncEngine, url: str) -> tuple[str, str] | None:
    """Why salesctl could not write to this (reachable, migrated) database: read-only, or
    without permission on its tables; None when it can."""
    import os

    from sqlalchemy import text

    from salesctl.db.session import sqlite_path

    database_file = sqlite_path(url)
    if database_file is not None:
        for path in (database_file, database_file.parent):
            if path.exists() and not os.access(path, os.W_OK):
                return (
                    f"read-only: {path} is not writable by you",
                    f"make {path} writable by you (it should be yours: chmod u+w)",
                )
        return None
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        has_table = await conn.run_sync(
            lambda sync: sync.dialect.has_table(sync, "ai_cost_tracking")
        )
        if not has_table:
            return None
        standby, read_only, may_insert, may_update = (
            await conn.execute(
                text(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only'), "
                    "has_table_privilege('ai_cost_tracking', 'INSERT'), "
                    "has_table_privilege('agent_runs', 'UPDATE')"
                )
            )
        ).one()
    if standby:
        return (
            "read-only: this is a standby server (in recovery)",
            "point DATABASE_URL at the primary server",
        )
    if read_only == "on":
        return (
            "read-only: transactions default to read only (default_transaction_read_only)",
            "ALTER DATABASE … SET default_transaction_read_only = off, or use another role",
        )
    if not (may_insert and may_update):
        return (
            "permission denied: this user may not write the salesctl tables",
            "GRANT INSERT, UPDATE, DELETE on them to the user in DATABASE_URL, or use their owner",
        )
    return None


def _is_older_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    from salesctl.db.migrate import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


async def check_redis(settings: Settings) -> Check:
    """Redis answers PING when `REDIS_URL` is set (the response cache lives there)."""
    from salesctl.config import mask_url

    if not settings.redis_url:
        return Check("redis", True, "not configured: the response cache uses the database")
    import redis.asyncio as redis

    shown = mask_url(settings.redis_url)
    fix = "start Redis (docker compose up -d redis), or unset REDIS_URL to cache in the database"
    try:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=CONNECT_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
        )
    except ValueError as exc:
        return Check("redis", False, f"REDIS_URL {shown!r}: {exc}", fix="correct REDIS_URL")
    try:
        await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT_S)
    except Exception as exc:  # any connection or protocol failure means "not usable"
        return Check("redis", False, f"{shown}: {_one_line(exc)}", fix=fix)
    finally:
        await client.aclose()
    return Check("redis", True, f"{shown} answers")


# --- providers -------------------------------------------------------------------------------


def providers_in_use(settings: Settings) -> dict[ProviderId, ProviderUse]:
    """Which providers the configuration calls: `primary` when some agent's model or a router
    tier's first choice is theirs, `fallback` when they appear only later in a tier."""
    from salesctl.config import canonical_provider
    from salesctl.llm.router import parse_choice

    use: dict[ProviderId, ProviderUse] = {}
    for agent in settings.agents.values():
        use[canonical_provider(agent.provider)] = "primary"
    for tier in (settings.router.simple, settings.router.medium, settings.router.complex):
        for position, choice in enumerate(tier):
            provider, _ = parse_choice(choice)
            if position == 0:
                use[provider] = "primary"
            else:
                use.setdefault(provider, "fallback")
    return use


def first_model(settings: Settings, provider: ProviderId) -> str | None:
    """The first configured model of `provider` (what `--online` calls)."""
    from salesctl.llm.pricing import configured_models

    return next((m for p, m in configured_models(settings) if p == provider), None)


def check_provider_keys(settings: Settings) -> list[Check]:
    """Each provider's key (masked, never whole) and endpoint; missing keys of providers the
    configuration calls first are failures, of fallback-only providers warnings."""
    from salesctl.config import API_KEY_ENV, PROVIDER_IDS, mask_secret

    use = providers_in_use(settings)
    checks: list[Check] = []
    for provider in PROVIDER_IDS:
        env = API_KEY_ENV[provider]
        if provider == "gemini":
            env = "GOOGLE_API_KEY (or GEMINI_API_KEY)"
        endpoint = settings.base_url(provider) or "default endpoint"
        key = settings.api_key(provider)
        name = f"key:{provider}"
        if key is not None and key.get_secret_value():
            checks.append(Check(name, True, f"{mask_secret(key)} · {endpoint}"))
        elif provider not in use:
            checks.append(Check(name, True, "not set (not used by the configuration)"))
        else:
            role = use[provider]
            checks.append(
                Check(
                    name,
                    False,
                    f"not set; agents or the router call {provider}"
                    if role == "primary"
                    else f"not set; the router falls back to {provider}",
                    fix=f"set {env}",
                    required=role == "primary",
                )
            )
    return checks


async def check_online(settings: Settings) -> list[Check]:
    """A one-token call to every provider the configuration uses and has a key for, through
    the gateway (so each is tracked as agent `doctor`), all at once."""
    from salesctl.config import PROVIDER_IDS, ProviderOptions
    from salesctl.llm.gateway import LLMGateway

    # One attempt each, and a short timeout: a dead endpoint should be reported, not retried.
    quick = ProviderOptions(timeout_s=CONNECT_TIMEOUT_S * 2, max_retries=0)
    probe_settings = settings.model_copy(update={"providers": dict.fromkeys(PROVIDER_IDS, quick)})
    targets: list[tuple[ProviderId, str]] = []
    skipped: list[Check] = []
    for provider in providers_in_use(settings):
        model = first_model(settings, provider)
        key = settings.api_key(provider)
        if model is None:
            continue
        if key is None or not key.get_secret_value():
            skipped.append(Check(f"call:{provider}", False, "skipped: no API key", required=False))
            continue
        targets.append((provider, model))
    gateway = LLMGateway(settings=probe_settings, warn=lambda _message: None)
    try:
        results = await asyncio.gather(*(_probe(gateway, p, m) for p, m in targets))
    finally:
        await gateway.aclose()
    return [*results, *skipped]


async def _probe(gateway: LLMGateway, provider: ProviderId, model: str) -> Check:
    from salesctl.config import API_KEY_ENV
    from salesctl.errors import ProviderError
    from salesctl.llm.types import LLMConfig

    name = f"call:{provider}"
    config = LLMConfig(
        agent_type=ONLINE_AGENT, mode="passthrough", provider=provider, model=model, cache=False
    )
    try:
        result = await gateway.complete(ONLINE_PROMPT, config=config, max_tokens=1)
    except ProviderError as exc:
        fixes = {
            "auth_error": f"check {API_KEY_ENV[provider]}",
            "connection_error": f"check the network and {_base_url_env(provider)}",
            "timeout": f"check the network and {_base_url_env(provider)}",
            "bad_request": f"check the model name {model!r} in the config file",
            "rate_limited": "wait and retry, or raise the account's rate limit",
        }
        return Check(
            name,
            False,
            f"{model}: {exc}",
            fix=fixes.get(exc.error_type, "see the provider's status page"),
        )
    from salesctl.money import usd

    cost = usd(result.cost_usd, unknown="cost unknown")
    simulated = " (simulated)" if result.simulated else ""
    return Check(
        name,
        True,
        f"{result.model} answered in {result.latency_ms} ms · "
        f"{result.prompt_tokens}+{result.completion_tokens} tokens · {cost}{simulated}",
    )


def _base_url_env(provider: ProviderId) -> str:
    return {
        "cerebras": "CEREBRAS_BASE_URL",
        "claude": "ANTHROPIC_BASE_URL",
        "gemini": "GOOGLE_GEMINI_BASE_URL",
        "openrouter": "OPENROUTER_BASE_URL",
        "openai": "OPENAI_BASE_URL",
    }[provider]


# --- pricing, spool and files ----------------------------------------------------------------


def check_pricing(settings: Settings, served: Iterable[tuple[str, str, str]] = ()) -> list[Check]:
    """Every configured model (agents, router tiers, overrides) has a known price, and every
    override names a model its provider serves (`served`: tracked (provider, configured,
    served) model ids)."""
    from salesctl.config import config_path
    from salesctl.llm.pricing import PriceBook, configured_models, override_key, unserved_overrides

    book = PriceBook.from_settings(settings, warn=lambda _message: None)
    checks: list[Check] = []
    for provider, model in configured_models(settings):
        key = override_key(provider, model)
        prices = book.prices_for(provider, model)
        if prices is None or prices.input_per_mtok is None or prices.output_per_mtok is None:
            checks.append(
                Check(
                    "pricing",
                    False,
                    f"{key}: no price known, so its calls are tracked with cost unknown",
                    fix=f'add [pricing."{key}"] with input_per_mtok and output_per_mtok '
                    f"to {config_path()}",
                )
            )
            continue
        checks.append(
            Check(
                "pricing",
                True,
                f"{key}: ${_number(prices.input_per_mtok)} in / "
                f"${_number(prices.output_per_mtok)} out per million tokens ({prices.source})",
            )
        )
    for key in unserved_overrides(settings, served):
        provider = key.partition(":")[0]
        checks.append(
            Check(
                "pricing",
                False,
                f'[pricing."{key}"] names a model {provider} is not known to serve: no agent '
                "or router tier asks for it, genai-prices does not list it and no tracked call "
                "was made with it, so it prices nothing",
                fix=f"check the model id in {config_path()} (the id you configure, or one the "
                "provider serves), or remove the override",
                required=False,
            )
        )
    return checks


async def served_models(settings: Settings) -> list[tuple[str, str, str]]:
    """The model ids of the latest tracked calls (for the override check)."""
    from salesctl.db.session import create_engine
    from salesctl.llm.pricing import recent_served

    engine = create_engine(settings.sqlalchemy_url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            return await recent_served(engine)
    except Exception:  # the database check has already said what is wrong with it
        return []
    finally:
        await engine.dispose()


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def check_spool(settings: Settings) -> Check:
    """The tracking spool holds nothing the database lacks (else reports undercount)."""
    from salesctl.llm.spool import count_pending, spool_path

    spool = spool_path(settings.data_dir)
    try:
        pending = count_pending(spool)
    except OSError as exc:
        return Check("spool", False, f"cannot read {spool}: {exc.strerror}", required=False)
    if pending == 0:
        return Check("spool", True, f"empty: every tracked call is in the database ({spool})")
    calls = "call is" if pending == 1 else "calls are"
    return Check(
        "spool",
        False,
        f"{pending} tracked {calls} in {spool} but not in the database "
        "(cost reports undercount until they are)",
        fix="salesctl costs flush (once the database is reachable)",
        required=False,
    )


def check_permissions(settings: Settings) -> Check:
    """The data directory and what is in it are private to you (dirs 0700, files 0600):
    they hold prompts, answers and lead data."""
    from salesctl.db.session import sqlite_path
    from salesctl.errors import ConfigError

    data_dir = settings.data_dir
    roots: list[Path] = [data_dir] if data_dir.exists() else []
    paths: list[Path] = [data_dir, *sorted(data_dir.rglob("*"))] if roots else []
    try:
        database_file = sqlite_path(settings.sqlalchemy_url)
    except ConfigError:
        database_file = None
    if (
        database_file is not None
        and database_file.exists()
        and data_dir not in database_file.parents
    ):
        roots.append(database_file)
        paths += [database_file, *sorted(database_file.parent.glob(database_file.name + "-*"))]
    if not paths:
        return Check(
            "permissions", True, f"{data_dir} not created yet (salesctl init makes it 0700)"
        )
    exposed: list[str] = []
    for path in paths:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:  # a SQLite -wal/-shm file that went away meanwhile
            continue
        if not stat.S_ISLNK(mode) and mode & 0o077:
            exposed.append(f"{path} ({stat.S_IMODE(mode):04o})")
    if not exposed:
        return Check("permissions", True, f"{data_dir} and its files are private to you")
    shown = ", ".join(exposed[:3]) + (f" and {len(exposed) - 3} more" if len(exposed) > 3 else "")
    return Check(
        "permissions",
        False,
        f"readable by others: {shown}",
        fix="chmod -R go-rwx " + " ".join(str(root) for root in roots),
    )


# --- all together ----------------------------------------------------------------------------


async def diagnose(*, online: bool = False) -> Diagnosis:
    """Run every check in order; with `online`, also call each configured provider once."""
    checks = [check_python()]
    config_check, settings = check_config()
    checks.append(config_check)
    if settings is None:
        return Diagnosis(checks)
    database, redis_check = await asyncio.gather(check_database(settings), check_redis(settings))
    checks += [database, redis_check]
    checks += check_provider_keys(settings)
    if online:
        if database.ok:
            checks += await check_online(settings)
        else:
            checks.append(
                Check(
                    "call:*",
                    False,
                    "skipped: the calls would be tracked, and the database is not ready",
                    fix="fix the database check first",
                )
            )
    checks += check_pricing(settings, await served_models(settings) if database.ok else ())
    checks.append(check_spool(settings))
    checks.append(check_permissions(settings))
    return Diagnosis(checks)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


__all__ = [
    "Check",
    "Diagnosis",
    "check_config",
    "check_database",
    "check_online",
    "check_permissions",
    "check_pricing",
    "check_provider_keys",
    "check_python",
    "check_redis",
    "check_spool",
    "diagnose",
]
