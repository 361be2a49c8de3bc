"""Settings: flag > environment > config file > default, URL handling, key masking."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from salesctl.config import Settings, get_settings, mask_secret, normalise_database_url
from salesctl.errors import ConfigError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The TOML file SALESCTL_CONFIG points at (the autouse fixture set the path)."""
    path = tmp_path / "config.toml"
    path.write_text(
        """
database_url = "sqlite:///from-file.db"
timezone = "Europe/Berlin"
cerebras_api_key = "csk-fromfile0000000000aaaa"

[budget]
daily_usd = "10"
monthly_usd = "250.50"

[agents.growth]
model = "deepseek/deepseek-r1"
""",
        encoding="utf-8",
    )
    return path


def test_defaults_without_file_or_environment(isolated_env: Path) -> None:
    settings = Settings()
    assert settings.database_url is None
    assert settings.sqlalchemy_url == f"sqlite+aiosqlite:///{isolated_env / 'salesctl.db'}"
    assert settings.timezone == "UTC"
    assert settings.budget.daily_usd is None


def test_file_overrides_defaults(config_file: Path) -> None:
    settings = Settings()
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:///from-file.db"
    assert settings.timezone == "Europe/Berlin"
    assert settings.budget.daily_usd == Decimal("10")
    assert settings.budget.monthly_usd == Decimal("250.50")
    assert settings.api_key("cerebras").get_secret_value() == "csk-fromfile0000000000aaaa"
    # Setting one agent in the file keeps every other agent's default.
    assert settings.agents["growth"].model == "deepseek/deepseek-r1"
    assert settings.agents["growth"].provider == "openrouter"
    assert settings.agents["qualification"].model == "llama3.1-8b"


def test_environment_overrides_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal/sales")
    monkeypatch.setenv("CEREBRAS_API_KEY", "csk-fromenv00000000000bbbb")
    monkeypatch.setenv("SALESCTL_BUDGET__DAILY_USD", "5")
    settings = Settings()
    assert settings.sqlalchemy_url == "postgresql+asyncpg://app@db.internal/sales"
    assert settings.api_key("cerebras").get_secret_value() == "csk-fromenv00000000000bbbb"
    assert settings.budget.daily_usd == Decimal("5")
    # A nested value the environment does not set still comes from the file.
    assert settings.budget.monthly_usd == Decimal("250.50")


def test_flag_overrides_environment_and_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flags reach Settings as keyword arguments, the highest-priority source."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal/sales")
    settings = Settings(database_url="sqlite:///from-flag.db", timezone="America/New_York")
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:///from-flag.db"
    assert settings.timezone == "America/New_York"


def test_gemini_key_accepts_either_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "AIzaGeminiKey0000000000cccc")
    assert Settings().api_key("gemini").get_secret_value() == "AIzaGeminiKey0000000000cccc"


def test_data_dir_defaults_to_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SALESCTL_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().data_dir == tmp_path / "xdg" / "salesctl"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
        ("sqlite:////var/lib/s.db", "sqlite+aiosqlite:////var/lib/s.db"),
        ("sqlite+aiosqlite:///s.db", "sqlite+aiosqlite:///s.db"),
    ],
)
def test_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("localhost:5432/sales", "is not a URL"),
        ("mysql://u@h/db", "unsupported DATABASE_URL scheme 'mysql'"),
        ("postgresql+psycopg2://u@h/db", "unsupported DATABASE_URL scheme"),
    ],
)
def test_bad_database_urls_are_refused(given: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        normalise_database_url(given)


def test_password_in_a_bad_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        normalise_database_url("nonsense-user:hunter2@host")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("csk-4f8a1c0d9e7b6a5f4e3d2c1b0a9a2f", "csk-…9a2f"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz-1234", "sk-…1234"),
        ("AIzaSyA1234567890abcdefghijklmnop", "AI…mnop"),
        ("csk-short1", "csk-…"),
        ("tiny", "…"),
        (None, "(not set)"),
    ],
)
def test_keys_are_masked(key: str | None, shown: str) -> None:
    assert mask_secret(key) == shown


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("database_url = [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read config file"):
        get_settings()


def test_invalid_value_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[budget]\ndaily_usd = "lots"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"budget\.daily_usd"):
        get_settings()


def test_data_dir_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESCTL_HOME")
    (tmp_path / "config.toml").write_text(f'home = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert Settings().data_dir == tmp_path / "data"


@pytest.mark.parametrize("problem", ["missing", "a directory", "unreadable"])
def test_a_named_config_file_that_cannot_be_read_is_one_line_and_exit_1(
    problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from typer.testing import CliRunner

    from salesctl.cli import app

    named = tmp_path / "named.toml"
    if problem == "a directory":
        named.mkdir()
    elif problem == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        named.write_text('[budget]\nhard_daily_usd = "5"\n')
        named.chmod(0)
    monkeypatch.setenv("SALESCTL_CONFIG", str(named))
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="SALESCTL_CONFIG"):
        Settings()
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert str(named) in result.stderr


def test_dev_null_as_the_config_file_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("SALESCTL_CONFIG", os.devnull)
    assert Settings().timezone == "UTC"
