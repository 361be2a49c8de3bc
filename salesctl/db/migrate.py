"""Run the Alembic migrations from inside salesctl (`salesctl init`, `salesctl db upgrade`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine


def migrations_dir() -> Path:
    """`migrations/` in a source checkout, or the copy bundled into an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("salesctl's migrations are missing from this installation")


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision` on one of its connections."""
    await _run(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, "downgrade", revision)


async def _run(engine: AsyncEngine, verb: str, revision: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    from salesctl.errors import DatabaseError

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    except CommandError as exc:
        # An unknown target revision, or a database stamped by a newer salesctl.
        raise DatabaseError(f"cannot {verb} the database schema: {exc}") from exc
