"""Settings: command-line flags > environment > TOML config file > defaults.

Nothing here runs at import: `get_settings()` builds the settings on first use and caches
them, so tests (and `--config`) can change the environment first.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from salesctl.errors import ConfigError

ProviderId = Literal["cerebras", "claude", "gemini", "openrouter", "openai"]
PROVIDER_IDS: tuple[ProviderId, ...] = ("cerebras", "claude", "gemini", "openrouter", "openai")
PROVIDER_ALIASES: dict[str, ProviderId] = {"anthropic": "claude", "google": "gemini"}

StorePrompts = Literal["full", "redacted", "none"]


def canonical_provider(name: str) -> ProviderId:
    """Map a provider name or alias (`anthropic`, `google`) to its canonical id."""
    key = name.strip().lower()
    key = PROVIDER_ALIASES.get(key, key)
    if key not in PROVIDER_IDS:
        known = ", ".join(PROVIDER_IDS)
        raise ConfigError(f"unknown provider {name!r} (known: {known}; aliases: anthropic, google)")
    return key


class ProviderOptions(BaseModel):
    """Per-provider client behaviour, set explicitly so SDK defaults never multiply retries."""

    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)


class PriceOverride(BaseModel):
    """A negotiated or unlisted price, USD per million tokens."""

    input_per_mtok: Decimal = Field(ge=0)
    output_per_mtok: Decimal = Field(ge=0)
    cache_read_per_mtok: Decimal | None = Field(None, ge=0)
    cache_write_per_mtok: Decimal | None = Field(None, ge=0)
    cache_write_1h_per_mtok: Decimal | None = Field(None, ge=0)
    """One-hour cache writes (Anthropic); unset: the cache write price."""


class AgentDefaults(BaseModel):
    """Which model a lead agent calls in passthrough mode, and whether its answers are cached."""

    provider: str
    model: str
    cache: bool = True


def _default_agents() -> dict[str, AgentDefaults]:
    haiku = "claude-3-haiku-20240307"
    sonnet = "claude-sonnet-4-5"
    return {
        "qualification": AgentDefaults(provider="cerebras", model="llama3.1-8b"),
        "enrichment": AgentDefaults(provider="claude", model=haiku),
        "growth": AgentDefaults(provider="openrouter", model="deepseek/deepseek-chat"),
        "marketing": AgentDefaults(provider="claude", model=sonnet),
        "bdr": AgentDefaults(provider="claude", model=haiku),
        "conversation": AgentDefaults(provider="claude", model=haiku),
    }


class RouterSettings(BaseModel):
    """Smart-router tiers: ordered `provider:model` choices per tier; the first that works wins."""

    simple: list[str] = ["gemini:gemini-1.5-flash", "openai:gpt-4o-mini"]
    medium: list[str] = ["claude:claude-3-haiku-20240307", "openai:gpt-4o-mini"]
    complex: list[str] = ["claude:claude-sonnet-4-5", "openai:gpt-4o"]
    chat_cache: bool = False
    margin: float = Field(0.1, ge=0, le=0.5)
    """How far the router leans towards the stronger tier: a request goes to a tier when the
    chance that it needs at least that tier reaches 0.5 - margin."""
    model_path: Path | None = None
    """A router artifact to use instead of the tuned (`router tune`) or the shipped one."""
    _data_dir: Path | None = PrivateAttr(None)

    @property
    def data_dir(self) -> Path | None:
        """The data directory whose tuned router artifact applies (set by `Settings`)."""
        return self._data_dir


class ICPSettings(BaseModel):
    """The ideal customer profile the qualification agent scores against."""

    target_industries: list[str] = ["software", "saas", "fintech", "healthcare technology"]
    employee_min: int = Field(50, ge=0)
    employee_max: int = Field(5000, ge=0)
    regions: list[str] = ["north america", "europe"]
    buyer_titles: list[str] = ["vp sales", "head of sales", "cro", "revops", "sales operations"]
    disqualifiers: list[str] = ["student", "competitor", "no budget"]
    hot_threshold: int = Field(75, ge=0, le=100)
    warm_threshold: int = Field(45, ge=0, le=100)


class BudgetSettings(BaseModel):
    """Budgets for `budget check` and optional hard limits enforced by the gateway."""

    daily_usd: Decimal | None = Field(None, ge=0)
    monthly_usd: Decimal | None = Field(None, ge=0)
    warn_at: list[float] = [80.0]
    spike_factor: Decimal = Field(Decimal(3), gt=1)
    """`budget check` warns when spend is over this many times the usual for the window."""
    hard_daily_usd: Decimal | None = Field(None, ge=0)
    hard_monthly_usd: Decimal | None = Field(None, ge=0)
    hard_per_agent_daily_usd: dict[str, Decimal] = {}
    step_down_near_limit: bool = True


def _env_alias(*names: str) -> Any:
    return Field(None, validation_alias=AliasChoices(*names))


class Settings(BaseSettings):
    """Everything salesctl can be told; see docs for the TOML layout."""

    model_config = SettingsConfigDict(
        env_prefix="SALESCTL_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    database_url: str | None = _env_alias("DATABASE_URL", "database_url")
    redis_url: str | None = _env_alias("REDIS_URL", "redis_url")
    # Not also aliased "home": matching is case-insensitive, so $HOME would become the data dir.
    # The config file can still say `home = "…"` (populate_by_name).
    home: Path | None = _env_alias("SALESCTL_HOME")

    cerebras_api_key: SecretStr | None = _env_alias("CEREBRAS_API_KEY", "cerebras_api_key")
    anthropic_api_key: SecretStr | None = _env_alias("ANTHROPIC_API_KEY", "anthropic_api_key")
    google_api_key: SecretStr | None = _env_alias(
        "GOOGLE_API_KEY", "GEMINI_API_KEY", "google_api_key"
    )
    openrouter_api_key: SecretStr | None = _env_alias("OPENROUTER_API_KEY", "openrouter_api_key")
    openai_api_key: SecretStr | None = _env_alias("OPENAI_API_KEY", "openai_api_key")

    cerebras_base_url: str | None = _env_alias("CEREBRAS_BASE_URL", "cerebras_base_url")
    anthropic_base_url: str | None = _env_alias("ANTHROPIC_BASE_URL", "anthropic_base_url")
    gemini_base_url: str | None = _env_alias("GOOGLE_GEMINI_BASE_URL", "gemini_base_url")
    openrouter_base_url: str | None = _env_alias("OPENROUTER_BASE_URL", "openrouter_base_url")
    openai_base_url: str | None = _env_alias("OPENAI_BASE_URL", "openai_base_url")

    store_prompts: StorePrompts = "full"
    cache_ttl_seconds: int = Field(24 * 3600, ge=0)
    timezone: str = "UTC"
    serve_token: SecretStr | None = None
    """Bearer token `salesctl serve` requires (mandatory off loopback): SALESCTL_SERVE_TOKEN."""
    serve_hosts: list[str] = []
    """Host names `salesctl serve` answers to beside localhost, 127.0.0.1, [::1] and its
    --host (a request naming any other is refused, against DNS rebinding):
    SALESCTL_SERVE_HOSTS='["sales.internal"]'."""

    providers: dict[str, ProviderOptions] = {}
    pricing: dict[str, PriceOverride] = {}
    agents: dict[str, AgentDefaults] = Field(default_factory=_default_agents)
    router: RouterSettings = RouterSettings()
    icp: ICPSettings = ICPSettings()
    budget: BudgetSettings = BudgetSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_path()
        if os.environ.get("SALESCTL_CONFIG"):
            check_named_config(path)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("agents", mode="before")
    @classmethod
    def _merge_agent_defaults(cls, value: Any) -> Any:
        """A config file that sets one agent keeps the defaults of the others."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {k: v.model_dump() for k, v in _default_agents().items()}
        for name, override in value.items():
            base = merged.get(name, {})
            merged[name] = {**base, **(override if isinstance(override, dict) else {})}
        return merged

    @model_validator(mode="after")
    def _router_data_dir(self) -> Settings:
        """The router finds the artifact `router tune` wrote in this data directory."""
        self.router._data_dir = self.data_dir
        return self

    # --- derived values -----------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """Where the database, spool and history live."""
        if self.home is not None:
            return self.home.expanduser()
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(xdg) / "salesctl"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with its async driver, defaulting to SQLite in the data directory."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{self.data_dir / 'salesctl.db'}"
        return normalise_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def api_key(self, provider: ProviderId) -> SecretStr | None:
        return {
            "cerebras": self.cerebras_api_key,
            "claude": self.anthropic_api_key,
            "gemini": self.google_api_key,
            "openrouter": self.openrouter_api_key,
            "openai": self.openai_api_key,
        }[provider]

    def base_url(self, provider: ProviderId) -> str | None:
        return {
            "cerebras": self.cerebras_base_url,
            "claude": self.anthropic_base_url,
            "gemini": self.gemini_base_url,
            "openrouter": self.openrouter_base_url,
            "openai": self.openai_base_url,
        }[provider]

    def provider_options(self, provider: ProviderId) -> ProviderOptions:
        return self.providers.get(provider, ProviderOptions())


API_KEY_ENV: dict[ProviderId, str] = {
    "cerebras": "CEREBRAS_API_KEY",
    "claude": "ANTHROPIC_API_KEY",
    "gemini": "GOOGLE_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "openai": "OPENAI_API_KEY",
}


def config_path() -> Path:
    """The TOML config file: `$SALESCTL_CONFIG`, else `~/.config/salesctl/config.toml`."""
    explicit = os.environ.get("SALESCTL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "salesctl" / "config.toml"


def check_named_config(path: Path) -> None:
    """A config file named by `SALESCTL_CONFIG` must be there and readable: a typo there
    would otherwise silently drop every setting in it, hard budget limits included.
    (`SALESCTL_CONFIG=/dev/null` says: no config file.)"""
    from salesctl.errors import ConfigError

    if path.is_dir():
        raise ConfigError(
            f"SALESCTL_CONFIG names {path}, a directory: point it at a TOML file, or unset it"
        )
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise ConfigError(
            f"SALESCTL_CONFIG names {path}, which does not exist: create it, or unset "
            "SALESCTL_CONFIG to use ~/.config/salesctl/config.toml"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config file {path} named by SALESCTL_CONFIG: {exc.strerror or exc}"
        ) from None


def normalise_database_url(url: str) -> str:
    """Give plain `postgresql://` and `sqlite://` URLs the async driver salesctl uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        shown = url if "@" not in url else "…@" + url.rpartition("@")[2]  # no credentials
        raise ConfigError(
            f"DATABASE_URL {shown!r} is not a URL (expected postgresql://… or sqlite:///PATH)"
        )
    drivers = {
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "postgresql+asyncpg": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
        "sqlite+aiosqlite": "sqlite+aiosqlite",
    }
    if scheme not in drivers:
        raise ConfigError(
            f"unsupported DATABASE_URL scheme {scheme!r}: use postgresql://… or sqlite:///PATH"
        )
    driver = drivers[scheme]
    if driver == "postgresql+asyncpg" and "?" in rest:
        rest = _asyncpg_query(rest)
    return f"{driver}://{rest}"


def _asyncpg_query(rest: str) -> str:
    """libpq's `sslmode=` (common in hosted PostgreSQL URLs) is asyncpg's `ssl=`."""
    from urllib.parse import parse_qsl, urlencode

    location, _, query = rest.partition("?")
    pairs = [
        ("ssl" if k == "sslmode" else k, v) for k, v in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{location}?{urlencode(pairs)}"


def mask_secret(secret: SecretStr | str | None) -> str:
    """Show enough of a key to recognise it (`csk-…9a2f`), never the whole of it."""
    if secret is None:
        return "(not set)"
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if len(value) <= 8:
        return "…" * bool(value)
    prefix = value.split("-", 1)[0] + "-" if "-" in value[:8] else value[:2]
    if len(value) < 16:
        # Prefix and last four of a short key would show nearly all of it.
        return f"{prefix}…"
    return f"{prefix}…{value[-4:]}"


def mask_url(url: str) -> str:
    """Hide the password in a database or Redis URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {where!r}: {first['msg']} (see {config_path()})"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {config_path()}: {exc}") from exc
