"""`salesctl config show`: the effective settings, secrets masked."""

from __future__ import annotations

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out, print_json

app = typer.Typer(
    help="Show the effective configuration.\n\nExample:\n    salesctl config show --json",
    no_args_is_help=True,
)


@app.command("show")
def show(json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the settings in force (flags > environment > config file > defaults).

    Example:
        salesctl config show --json
    """
    from salesctl.config import config_path, get_settings
    from salesctl.settings_view import effective_settings

    with _runtime.user_errors():
        view = effective_settings(get_settings(), config_path())
    if json_output:
        print_json(view)
        return
    from rich.table import Table

    table = Table(title="salesctl settings", show_header=True, header_style="bold")
    rows = _flatten(view)
    # Setting names are what users look up: keep them whole and let values fold instead.
    table.add_column("setting", no_wrap=True, min_width=max(len(key) for key, _ in rows))
    table.add_column("value", overflow="fold")
    for key, value in rows:
        table.add_row(key, str(value))
    out().print(table)


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows
