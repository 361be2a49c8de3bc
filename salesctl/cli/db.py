"""`salesctl init` and `salesctl db …`: create the data directory and migrate the database."""

from __future__ import annotations

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out

app = typer.Typer(
    help="Database schema: upgrade, downgrade, current revision.\n\n"
    "Example:\n    salesctl db current\n    salesctl db upgrade",
    no_args_is_help=True,
)


def init_command() -> None:
    """Create the data directory and bring the database to the current schema (idempotent).

    Example:
        salesctl init
    """
    from salesctl.config import get_settings
    from salesctl.db import migrate
    from salesctl.db.session import SCHEMA_HEAD
    from salesctl.errors import ConfigError

    with _runtime.user_errors():
        settings = get_settings()
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the data directory {settings.data_dir}: {exc.strerror} "
                "(set SALESCTL_HOME to a writable directory)"
            ) from exc
        where = settings.data_dir if settings.is_sqlite else "database"

    async def upgrade_to_head(rt: _runtime.Runtime) -> None:
        await migrate.upgrade(rt.engine)

    _runtime.run(upgrade_to_head, check_schema=False)
    out().print(f"[green]✓[/] {where} ready (schema {SCHEMA_HEAD})")


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply pending migrations.

    Example:
        salesctl db upgrade
    """
    from salesctl.db import migrate

    async def upgrade_to(rt: _runtime.Runtime) -> None:
        await migrate.upgrade(rt.engine, revision)

    _runtime.run(upgrade_to, check_schema=False)
    out().print(f"[green]✓[/] database at {revision}")


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision, or `base`.")) -> None:
    """Revert migrations down to REVISION (`base` removes every salesctl table).

    Example:
        salesctl db downgrade base
    """
    from salesctl.db import migrate

    async def downgrade_to(rt: _runtime.Runtime) -> None:
        await migrate.downgrade(rt.engine, revision)

    _runtime.run(downgrade_to, check_schema=False)
    out().print(f"[green]✓[/] database at {revision}")


@app.command("current")
def current(
    json_output: bool = typer.Option(False, "--json", help="Print the revisions as JSON."),
) -> None:
    """Print the database's schema revision and the one this salesctl expects.

    Example:
        salesctl db current
        salesctl db current --json
    """
    from salesctl.db.session import SCHEMA_HEAD, current_revision

    async def read_revision(rt: _runtime.Runtime) -> str | None:
        return await current_revision(rt.engine)

    revision = _runtime.run(read_revision, check_schema=False)
    if json_output:
        from salesctl.cli._console import print_json

        print_json(
            {"revision": revision, "expected": SCHEMA_HEAD, "up_to_date": revision == SCHEMA_HEAD}
        )
        return
    state = "up to date" if revision == SCHEMA_HEAD else "needs `salesctl db upgrade`"
    out().print(f"{revision or '(none)'} (expected {SCHEMA_HEAD}: {state})")
