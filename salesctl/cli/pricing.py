"""`salesctl pricing list|show`: the prices calls are charged at, and where they come from."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out, print_json

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from salesctl.llm.pricing import ModelPrices, PriceList

app = typer.Typer(
    help="Show LLM prices in force and where they came from.\n\n"
    "Example:\n    salesctl pricing list\n    salesctl pricing show claude:claude-sonnet-4-5",
    no_args_is_help=True,
)


@app.command("list")
def list_prices(
    all_models: bool = typer.Option(
        False, "--all", help="Every model genai-prices lists for salesctl's providers."
    ),
    served: bool = typer.Option(
        False,
        "--served",
        help="Also the model ids providers served for them in the latest tracked calls "
        "(reads the database).",
    ),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the width."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the per-million-token prices calls to the configured models are charged at.

    Configured means: the lead agents' models, the smart router's tiers and your
    `[pricing."provider:model"]` overrides. An override also prices every snapshot of its
    model (e.g. a dated id the provider serves). Prices are USD per million tokens.

    Example:
        salesctl pricing list
        salesctl pricing list --served
        salesctl pricing list --all --json
    """
    from salesctl.config import get_settings
    from salesctl.llm.pricing import price_list, price_list_with_served

    if served:
        prices = _runtime.run(
            lambda rt: price_list_with_served(rt.settings, rt.engine, everything=all_models)
        )
    else:
        with _runtime.user_errors():
            prices = price_list(get_settings(), everything=all_models)
    if json_output:
        print_json(prices)
        return
    out().print(_price_table(prices, wide=wide), crop=not wide)


@app.command("show")
def show(
    provider: str = typer.Argument(
        ...,
        help="cerebras, claude, gemini, openrouter or openai; or provider:model as "
        "`pricing list` prints it.",
    ),
    model: str | None = typer.Argument(
        None, help="The model id: as configured, or as the provider served it."
    ),
    configured: str | None = typer.Option(
        None, "--configured", help="The model id the call asked for, when MODEL is a served one."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the prices a call to one model is charged at, by which rule, and any tiers or
    time windows.

    Example:
        salesctl pricing show claude claude-3-haiku-20240307
        salesctl pricing show claude:claude-sonnet-4-5
        salesctl pricing show claude claude-sonnet-4-5-20250929
        salesctl pricing show openrouter deepseek/deepseek-chat --json
    """
    from salesctl.config import get_settings
    from salesctl.errors import InvalidInput
    from salesctl.llm.pricing import show_prices

    with _runtime.user_errors():
        if model is None:
            provider, _, model = provider.partition(":")
            if not model:
                raise InvalidInput(
                    f"which model of {provider!r}? e.g. `salesctl pricing show "
                    f"{provider} MODEL` or `salesctl pricing show {provider}:MODEL`"
                )
        prices = show_prices(get_settings(), provider, model, configured=configured)
    if json_output:
        print_json(prices)
        return
    out().print(_price_panel(prices))


def _number(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${_number(value)}"


def _per_mtok(value: Decimal | None) -> str:
    return "—" if value is None else f"{_money(value)} per million tokens"


def _price_table(prices: PriceList, *, wide: bool = False) -> RenderableType:
    from salesctl.llm.pricing import ModelPrices
    from salesctl.tables import Column, FitTable

    rows = []
    for entry in prices.entries:
        name = (
            f"  served as {entry.model}"
            if entry.configured_model
            else f"{entry.provider}:{entry.model}"
        )
        if isinstance(entry, ModelPrices):
            rows.append(
                [
                    name,
                    _number(entry.input_per_mtok),
                    _number(entry.output_per_mtok),
                    _number(entry.cache_read_per_mtok),
                    _number(entry.cache_write_per_mtok),
                    entry.source,
                ]
            )
        else:
            rows.append([name, "—", "—", "—", "—", "unknown"])
    return FitTable(
        [
            Column("provider:model", keep=9),
            Column("input", right=True, keep=8),
            Column("output", right=True, keep=7),
            Column("cache rd", right=True, keep=4),
            Column("cache wr", right=True, keep=3),
            Column("source", keep=5, wrap=True),
        ],
        rows,
        title=f"Prices in force at {prices.at:%Y-%m-%d %H:%M} UTC, USD per million tokens",
        wide=wide,
        more="--wide",
    )


def _price_panel(prices: ModelPrices) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"{prices.provider}:{prices.model}"), show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, str]] = [("source", prices.source)]
    if prices.rule:
        rows.append(("priced by", prices.rule))
    if prices.configured_model:
        rows.append(("asked for as", prices.configured_model))
    rows += [
        ("input", _per_mtok(prices.input_per_mtok)),
        ("output", _per_mtok(prices.output_per_mtok)),
        ("cache read", _per_mtok(prices.cache_read_per_mtok)),
        ("cache write", _per_mtok(prices.cache_write_per_mtok)),
    ]
    if prices.cache_write_1h_per_mtok is not None:
        rows.append(("cache write 1h", _per_mtok(prices.cache_write_1h_per_mtok)))
    if prices.catalogue_model:
        listed = f"{prices.catalogue_provider}/{prices.catalogue_model}"
        rows.append(("listed as", f"{listed} ({prices.catalogue_name})"))
    rows.extend(("note", note) for note in prices.notes)
    for label, value in rows:
        # Notes quote `[pricing."…"]`: text, never Rich markup.
        table.add_row(label, Text(value))
    return table
