"""Reconciling tracked costs with what providers billed: formats, model matching, cells."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from salesctl.reports.costs import ReportOptions, cost_report
from salesctl.reports.filters import CostFilters
from salesctl.reports.invoice_formats import (
    InvoiceUnreadable,
    gemini_model_of_sku,
    read_invoice,
)
from salesctl.reports.reconcile import (
    CannotReconcile,
    ReconcileRequest,
    model_key,
    parse_tolerance,
    reconcile,
)
from salesctl.reports.synthetic import insert_calls, make_call

INVOICES = Path(__file__).parent / "invoices"
NOW = datetime(2025, 4, 2, 9, tzinfo=UTC)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


def tracked_month() -> list[dict[str, object]]:
    """What salesctl tracked; each fixture bills exactly this (served ids, as tracked)."""

    def call(provider: str, model: str, cost: str | None, when: datetime) -> dict[str, object]:
        return make_call(provider=provider, model=model, cost_usd=cost, timestamp=when)

    sonnet, haiku = "claude-sonnet-4-5-20250929", "claude-3-haiku-20240307"
    return [
        call("claude", sonnet, "0.5", at(10)),
        call("claude", sonnet, "0.25", at(10, 23)),
        call("claude", haiku, "0.03", at(10)),
        call("claude", sonnet, "1.20", at(11)),
        call("claude", sonnet, None, at(11)),  # unpriced: not in the total, shown per cell
        call("openai", "gpt-4o-mini-2024-07-18", "0.0123", at(10)),
        call("openrouter", "deepseek/deepseek-chat-v3-0324", "0.0456", at(10)),
        call("gemini", "gemini-1.5-flash-002", "0.0031", at(10)),
        call("cerebras", "llama3.1-8b", "0.001", at(10)),
        call("claude", sonnet, "9", at(12)),  # a day no file covers: never compared
    ]


@pytest.fixture
async def tracked(engine) -> object:  # type: ignore[no-untyped-def]
    await insert_calls(engine, tracked_month())
    return engine


@pytest.mark.parametrize(
    ("fixture", "fmt", "providers", "cells"),
    [
        ("generic.csv", "generic-csv", ["cerebras", "claude", "gemini", "openai", "openrouter"], 7),
        ("anthropic_cost_report.json", "anthropic-cost-report", ["claude"], 4),
        ("openai_costs.json", "openai-costs", ["openai"], 1),
        ("openai_costs.csv", "openai-costs", ["openai"], 1),
        ("openrouter_activity.json", "openrouter-activity", ["openrouter"], 1),
        ("gcp_billing_export.jsonl", "gcp-billing-export", ["gemini"], 1),
    ],
)
async def test_each_format_reconciles_with_what_was_tracked(
    tracked, fixture: str, fmt: str, providers: list[str], cells: int
) -> None:
    invoice = read_invoice(INVOICES / fixture, timezone="UTC")
    result = await reconcile(tracked, invoice, now=NOW)
    assert result.format == fmt
    assert result.providers == providers
    assert result.cells_compared == cells
    assert result.cells_outside_tolerance == 0, result.cells
    assert result.exit_code == 0
    assert result.difference_usd == 0
    assert result.tracked_total_usd == result.billed_total_usd


async def test_a_generic_csv_that_differs_in_one_cell_lists_it_first(
    tracked, tmp_path: Path
) -> None:
    text = (
        (INVOICES / "generic.csv")
        .read_text()
        .replace("openai,gpt-4o-mini,0.0123", "openai,gpt-4o-mini,0.0523")
    )
    path = tmp_path / "invoice.csv"
    path.write_text(text)
    loose = ReconcileRequest(tolerance=parse_tolerance("0.05"))
    result = await reconcile(tracked, read_invoice(path, timezone="UTC"), loose, now=NOW)
    assert result.exit_code == 0  # $0.04 off, within $0.05
    result = await reconcile(tracked, read_invoice(path, timezone="UTC"), now=NOW)
    assert result.exit_code == 1
    assert result.cells_outside_tolerance == 1
    first = result.cells[0]
    assert (first.date, first.provider, first.model) == ("2025-03-10", "openai", "gpt-4o-mini")
    assert (first.tracked_usd, first.billed_usd, first.difference_usd) == (
        Decimal("0.0123"),
        Decimal("0.0523"),
        Decimal("-0.04"),
    )
    assert first.tracked_models == ["gpt-4o-mini-2024-07-18"]
    assert first.billed_models == ["gpt-4o-mini"]
    assert all(c.within_tolerance for c in result.cells[1:])
    assert result.difference_usd == Decimal("-0.04")


async def test_the_tolerance_can_be_a_share_of_the_bill(tracked, tmp_path: Path) -> None:
    path = tmp_path / "invoice.csv"
    path.write_text("date,provider,model,cost_usd\n2025-03-11,claude,claude-sonnet-4-5,1.21\n")
    invoice = read_invoice(path, timezone="UTC")
    loose = ReconcileRequest(tolerance=parse_tolerance("1%"))
    assert (await reconcile(tracked, invoice, loose, now=NOW)).exit_code == 0
    tight = ReconcileRequest(tolerance=parse_tolerance("0.5%"))
    result = await reconcile(tracked, invoice, tight, now=NOW)
    assert result.exit_code == 1
    [cell] = result.cells
    assert cell.unpriced_requests == 1  # the unpriced call that may explain the difference
    assert len(cell.flagged_request_ids) == 1


async def test_tracked_totals_equal_the_cost_report_for_the_same_window(tracked) -> None:
    invoice = read_invoice(INVOICES / "anthropic_cost_report.json", timezone="UTC")
    result = await reconcile(tracked, invoice, now=NOW)
    report = await cost_report(
        tracked,
        CostFilters(
            since=datetime(2025, 3, 10, tzinfo=UTC),
            until=datetime(2025, 3, 12, tzinfo=UTC),
            provider="claude",
        ),
        ReportOptions(),
        now=NOW,
    )
    assert result.tracked_total_usd == report.total_cost_usd == Decimal("1.98")
    assert result.unpriced_requests == report.unpriced_requests == 1


async def test_calls_billed_but_not_tracked_and_tracked_but_not_billed_are_cells(
    tracked, tmp_path: Path
) -> None:
    path = tmp_path / "invoice.csv"
    path.write_text(
        "date,provider,model,cost_usd\n"
        "2025-03-10,claude,claude-sonnet-4-5,0.75\n"
        "2025-03-10,claude,claude-opus-4-1,2.50\n"
    )
    result = await reconcile(tracked, read_invoice(path, timezone="UTC"), now=NOW)
    by_model = {c.model: c for c in result.cells}
    assert by_model["claude-opus-4-1"].tracked_requests == 0
    assert by_model["claude-opus-4-1"].difference_usd == Decimal("-2.5")
    assert by_model["claude-3-haiku"].billed_models == []  # tracked, not billed
    assert by_model["claude-3-haiku"].difference_usd == Decimal("0.03")
    assert [c.model for c in result.cells[:2]] == ["claude-opus-4-1", "claude-3-haiku"]


async def test_a_bill_under_the_configured_id_meets_the_served_one(engine, tmp_path: Path) -> None:
    """A private model genai-prices does not know: the bill names the id the calls asked for,
    the rows the dated snapshot the provider served; `configured_model` joins them."""
    served, configured = "acme-sales-7b-2025-03-01", "acme-sales-7b"
    await insert_calls(
        engine,
        [
            make_call(
                provider="openai",
                model=served,
                configured_model=configured,
                cost_usd="0.40",
                timestamp=at(10, hour),
            )
            for hour in (9, 15)
        ],
    )
    path = tmp_path / "invoice.csv"
    path.write_text(f"date,provider,model,cost_usd\n2025-03-10,openai,{configured},0.80\n")
    result = await reconcile(engine, read_invoice(path, timezone="UTC"), now=NOW)
    assert result.exit_code == 0
    [cell] = result.cells
    assert (cell.tracked_usd, cell.billed_usd) == (Decimal("0.8"), Decimal("0.8"))
    assert (cell.tracked_models, cell.billed_models) == ([served], [configured])


async def test_generic_days_follow_the_configured_time_zone(engine, tmp_path: Path) -> None:
    # 23:30 UTC on the 10th is the 11th in Berlin.
    await insert_calls(engine, [make_call(cost_usd="0.4", timestamp=at(10, 23))])
    path = tmp_path / "invoice.csv"
    path.write_text("date,provider,model,cost_usd\n2025-03-11,cerebras,llama3.1-8b,0.4\n")
    berlin = await reconcile(engine, read_invoice(path, timezone="Europe/Berlin"), now=NOW)
    assert berlin.exit_code == 0
    utc = await reconcile(engine, read_invoice(path, timezone="UTC"), now=NOW)
    assert utc.exit_code == 1


async def test_since_until_and_provider_narrow_the_comparison(tracked) -> None:
    invoice = read_invoice(INVOICES / "generic.csv", timezone="UTC")
    request = ReconcileRequest(provider="claude", since="2025-03-11", until="2025-03-12")
    result = await reconcile(tracked, invoice, request, now=NOW)
    assert (result.first_day, result.last_day) == ("2025-03-11", "2025-03-12")
    # The 12th is compared now: $9 tracked, nothing billed.
    assert result.cells_outside_tolerance == 1
    assert result.cells[0].date == "2025-03-12"
    assert {c.provider for c in result.cells} == {"claude"}


@pytest.mark.parametrize(
    ("provider", "billed", "tracked"),
    [
        ("claude", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
        ("openrouter", "deepseek/deepseek-chat", "deepseek-chat-v3-0324"),
        ("openrouter", "deepseek/deepseek-chat", "deepseek/deepseek-chat-v3-0324"),
        ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("gemini", "gemini-1.5-flash", "gemini-1.5-flash-002"),
    ],
)
def test_billed_and_tracked_ids_meet_in_the_catalogue(
    provider: str, billed: str, tracked: str
) -> None:
    assert model_key(provider, billed) == model_key(provider, tracked)


def test_unknown_models_match_only_themselves() -> None:
    assert model_key("claude", "my-private-model") == "my-private-model"
    assert model_key("claude", "claude-3-haiku-20240307") != model_key(
        "claude", "claude-sonnet-4-5"
    )


@pytest.mark.parametrize(
    ("sku", "model"),
    [
        ("Gemini 1.5 Flash Input Tokens", "gemini-1.5-flash"),
        ("Gemini 2.5 Flash-Lite Output Text Tokens", "gemini-2.5-flash-lite"),
        ("Generate content input token count Gemini 2.5 Pro long input", "gemini-2.5-pro"),
    ],
)
def test_the_gemini_model_is_read_from_the_sku(sku: str, model: str) -> None:
    assert gemini_model_of_sku(sku) == model


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,provider,model,cost_usd,notes\n", "unknown column(s) notes"),
        ("date,provider,cost_usd\n", "missing model"),
        ("day,vendor,amount\n2025-03-10,x,1\n", "unrecognised columns 'day,vendor,amount'"),
        ("date,provider,model,cost_usd\n2025-03-10,acme,m,1\n", "unknown provider 'acme'"),
        ("date,provider,model,cost_usd\n10/03/2025,claude,m,1\n", "not a date (YYYY-MM-DD)"),
        ("date,provider,model,cost_usd\n2025-03-10,claude,m,lots\n", "'lots' is not an amount"),
        ('{"hello": "world"}', "unrecognised JSON"),
        (
            '{"data": [{"starting_at": "2025-03-10T00:00:00Z", "results": '
            '[{"amount": "1", "currency": "USD", "model": null, "cost_type": "tokens"}]}]}',
            "group_by[]=description",
        ),
        (
            '{"object": "page", "data": [{"start_time": 1741564800, "results": '
            '[{"amount": {"value": 1, "currency": "eur"}, "line_item": "gpt-4o"}]}]}',
            "export the costs in USD",
        ),
        ("", "is empty"),
    ],
)
def test_files_it_cannot_read_say_what_was_expected(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bill.txt"
    path.write_text(content)
    with pytest.raises(InvoiceUnreadable, match=None) as caught:
        read_invoice(path, timezone="UTC")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 3


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InvoiceUnreadable, match="cannot read"):
        read_invoice(tmp_path / "nope.csv", timezone="UTC")


def test_a_gcp_csv_export_with_flattened_columns_is_read(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_text(
        "service.description,sku.description,usage_start_time,cost,currency\n"
        "Generative Language API,Gemini 1.5 Flash Input Tokens,2025-03-10 08:00:00 UTC,0.0021,USD\n"
        "Cloud Storage,Standard Storage US Multi-region,2025-03-10 08:00:00 UTC,0.5,USD\n"
    )
    invoice = read_invoice(path, timezone="Europe/Berlin")
    assert invoice.format == "gcp-billing-export"
    assert invoice.day_zone == "UTC"
    assert invoice.skipped_rows == 1
    [line] = invoice.lines
    assert (line.day, line.provider, line.model, line.cost_usd) == (
        date(2025, 3, 10),
        "gemini",
        "gemini-1.5-flash",
        Decimal("0.0021"),
    )


@pytest.mark.parametrize("text", ["-1", "abc", "%", "1%%"])
def test_a_bad_tolerance_cannot_reconcile(text: str) -> None:
    with pytest.raises(CannotReconcile, match="--tolerance"):
        parse_tolerance(text)
