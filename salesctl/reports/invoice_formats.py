"""What a provider billed, read from a file: a generic CSV or a provider's own cost export.

Every format becomes the same rows: (day, salesctl provider id, model as billed, USD).
Recognised by content, not by file name:

- generic CSV `date,provider,model,cost_usd` (days in the configured time zone);
- Anthropic's Usage & Cost Admin API cost report (`GET /v1/organizations/cost_report`,
  JSON; `amount` is a decimal string in cents; model per row with `group_by[]=description`);
- OpenAI's organization costs (`GET /v1/organization/costs` JSON page, or the dashboard's
  CSV export of it with `start_time,…,amount_value,amount_currency,line_item,…`);
- OpenRouter's activity (`GET /api/v1/activity` JSON, or a CSV with its field names);
- Google Cloud's billing export to BigQuery (standard usage cost), as newline-delimited
  JSON or CSV, Gemini rows only (the model is read from the SKU description).

Provider exports cut days in UTC, as their buckets do. A file that cannot be read, or whose
shape is not one of these, raises `InvoiceUnreadable` (exit 3) with one line saying what was
expected.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from salesctl.errors import InvalidInput

GENERIC_COLUMNS = ("date", "provider", "model", "cost_usd")
EXPECTED = (
    "expected a CSV with the header date,provider,model,cost_usd, an Anthropic cost report, "
    "OpenAI organization costs, OpenRouter activity, or a Google Cloud billing export"
)
CENTS = Decimal(100)


class InvoiceUnreadable(InvalidInput):
    """The billed file cannot be read or is in no format salesctl knows."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class BilledLine:
    """One amount a provider billed for a model on a day."""

    day: date
    provider: str
    model: str
    cost_usd: Decimal


@dataclass
class Invoice:
    """The billed lines of one file, and how its days are cut."""

    path: str
    format: str
    day_zone: str
    lines: list[BilledLine] = field(default_factory=list)
    skipped_rows: int = 0
    """Rows that bill something other than model use (other cloud services, empty buckets)."""


def read_invoice(path: str | Path, *, timezone: str) -> Invoice:
    """The billed lines of `path`; `timezone` cuts the days of a generic CSV."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InvoiceUnreadable(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvoiceUnreadable(f"{name} is not UTF-8 text: {EXPECTED}") from None
    stripped = text.lstrip()
    if not stripped:
        raise InvoiceUnreadable(f"{name} is empty: {EXPECTED}")
    if stripped[0] in "{[":
        return _read_json(name, stripped)
    try:
        return _read_csv(name, text, timezone)
    except csv.Error as exc:
        raise InvoiceUnreadable(f"{name} is not a CSV file ({exc}): {EXPECTED}") from None


# --- JSON exports ------------------------------------------------------------------------


def _read_json(name: str, text: str) -> Invoice:
    try:
        documents = [json.loads(text, parse_float=Decimal)]
    except json.JSONDecodeError:
        documents = _json_lines(name, text)
    first = documents[0]
    if len(documents) == 1 and isinstance(first, dict):
        data = first.get("data")
        items = data if isinstance(data, list) else []
        sample = next((i for i in items if isinstance(i, dict)), {})
        if "starting_at" in sample and "results" in sample:
            return _anthropic(name, items)
        if first.get("object") == "page" or ("start_time" in sample and "results" in sample):
            return _openai_json(name, items)
        if {"date", "model", "usage"} <= sample.keys():
            return _openrouter(name, items)
        if isinstance(data, list) and not items:
            raise InvoiceUnreadable(f"{name}: its 'data' list is empty (no billed rows)")
    rows = documents[0] if len(documents) == 1 and isinstance(first, list) else documents
    if rows and all(isinstance(r, dict) for r in rows) and _is_gcp({*rows[0]}):
        return _gcp(name, [_flatten(r) for r in rows])
    raise InvoiceUnreadable(f"{name}: unrecognised JSON: {EXPECTED}")


def _json_lines(name: str, text: str) -> list[Any]:
    """Newline-delimited JSON (how BigQuery exports a table as JSON)."""
    documents = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line, parse_float=Decimal))
        except json.JSONDecodeError as exc:
            raise InvoiceUnreadable(f"{name} line {number}: not JSON ({exc.msg})") from None
    return documents


def _anthropic(name: str, buckets: list[Any]) -> Invoice:
    """Anthropic's cost report: buckets of `results`, `amount` in cents as a decimal string."""
    invoice = Invoice(name, "anthropic-cost-report", "UTC")
    for bucket in buckets:
        day = _utc_day(name, bucket.get("starting_at"), "starting_at")
        for result in bucket.get("results") or []:
            _check_currency(name, result.get("currency") or "USD")
            cents = _amount(name, result.get("amount"), "amount")
            model = result.get("model")
            if not model:
                if (result.get("cost_type") or "tokens") == "tokens":
                    raise InvoiceUnreadable(
                        f"{name}: the cost report has no model per row: request it with "
                        "group_by[]=description"
                    )
                model = f"({result['cost_type']})"  # web search, code execution: no model
            invoice.lines.append(BilledLine(day, "claude", str(model), cents / CENTS))
    return invoice


def _openai_json(name: str, buckets: list[Any]) -> Invoice:
    """OpenAI's costs page: buckets of `results` with `amount.value` and `line_item`."""
    invoice = Invoice(name, "openai-costs", "UTC")
    for bucket in buckets:
        day = _utc_day(name, bucket.get("start_time"), "start_time")
        for result in bucket.get("results") or []:
            amount = result.get("amount") or {}
            _check_currency(name, amount.get("currency") or "usd")
            value = _amount(name, amount.get("value"), "amount.value")
            invoice.lines.append(
                BilledLine(day, "openai", _openai_model(name, result.get("line_item")), value)
            )
    return invoice


def _openai_model(name: str, line_item: Any) -> str:
    """`gpt-4o-mini-2024-07-18, input` or `GPT-4o mini` → a model id to match."""
    if not line_item:
        raise InvoiceUnreadable(
            f"{name}: the costs have no line items: request them with group_by=line_item"
        )
    model = str(line_item).split(",")[0].strip()
    return re.sub(r"\s+", "-", model).lower()


def _openrouter(name: str, items: list[Any]) -> Invoice:
    """OpenRouter's activity: per day and model, `usage` is what OpenRouter charged (USD)."""
    invoice = Invoice(name, "openrouter-activity", "UTC")
    for item in items:
        invoice.lines.append(_openrouter_line(name, item))
    return invoice


def _openrouter_line(name: str, item: Mapping[str, Any]) -> BilledLine:
    day = _iso_day(name, item.get("date"), "date")
    model = item.get("model_permaslug") or item.get("model")
    if not model:
        raise InvoiceUnreadable(f"{name}: an activity row has no model")
    return BilledLine(day, "openrouter", str(model), _amount(name, item.get("usage"), "usage"))


# --- CSV files ---------------------------------------------------------------------------


def _read_csv(name: str, text: str, timezone: str) -> Invoice:
    first_line = text.split("\n", 1)[0]
    delimiter = "," if "," in first_line else "\t" if "\t" in first_line else ";"
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    keys = {h.lower().replace(".", "_") for h in header}
    if {"amount_value", "start_time"} <= keys:
        return _openai_csv(name, reader)
    if _is_gcp(keys):
        return _gcp(name, [_flatten(row) for row in reader])
    if {"date", "model", "usage"} <= keys and ("model_permaslug" in keys or "requests" in keys):
        invoice = Invoice(name, "openrouter-activity", "UTC")
        for row in reader:
            invoice.lines.append(_openrouter_line(name, _lower_keys(row)))
        return invoice
    lowered = [h.lower() for h in header]
    if set(GENERIC_COLUMNS) & set(lowered):
        unknown = [h for h in header if h.lower() not in GENERIC_COLUMNS]
        missing = [c for c in GENERIC_COLUMNS if c not in lowered]
        if unknown or missing:
            what = ", ".join(
                ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
                + ([f"missing {', '.join(missing)}"] if missing else [])
            )
            raise InvoiceUnreadable(
                f"{name}: {what}: expected the header {','.join(GENERIC_COLUMNS)}"
            )
        return _generic(name, reader, timezone)
    shown = ",".join(header)
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    raise InvoiceUnreadable(f"{name}: unrecognised columns {shown!r}: {EXPECTED}")


def _generic(name: str, reader: csv.DictReader[str], timezone: str) -> Invoice:
    from salesctl.config import canonical_provider
    from salesctl.errors import ConfigError

    invoice = Invoice(name, "generic-csv", timezone)
    for row in reader:
        line = reader.line_num
        values = _lower_keys(row)
        if not any((v or "").strip() for v in values.values()):
            continue
        try:
            provider = canonical_provider(values.get("provider") or "")
        except ConfigError as exc:
            raise InvoiceUnreadable(f"{name} line {line}: {exc}") from None
        model = (values.get("model") or "").strip()
        if not model:
            raise InvoiceUnreadable(f"{name} line {line}: no model")
        day = _iso_day(f"{name} line {line}", values.get("date"), "date")
        cost = _amount(f"{name} line {line}", values.get("cost_usd"), "cost_usd")
        invoice.lines.append(BilledLine(day, provider, model, cost))
    return invoice


def _openai_csv(name: str, reader: csv.DictReader[str]) -> Invoice:
    invoice = Invoice(name, "openai-costs", "UTC")
    for row in reader:
        values = _lower_keys(row)
        where = f"{name} line {reader.line_num}"
        if not (values.get("amount_value") or "").strip():
            invoice.skipped_rows += 1  # a day with no spend
            continue
        _check_currency(where, values.get("amount_currency") or "usd")
        day = _utc_day(where, values.get("start_time"), "start_time")
        value = _amount(where, values.get("amount_value"), "amount_value")
        invoice.lines.append(
            BilledLine(day, "openai", _openai_model(where, values.get("line_item")), value)
        )
    return invoice


# --- Google Cloud billing export ---------------------------------------------------------


GCP_REQUIRED = {"usage_start_time", "cost", "sku_description"}
GEMINI_SERVICES = ("generative language api", "gemini api", "vertex ai")
_SKU_STOP = re.compile(
    r"\b(input|output|text|tokens?|cached|caching|cache|storage|long|short|context|audio|"
    r"image|video|character|characters|count|thinking|requests?|batch|predictions?|online)\b"
)


def _flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"sku": {"description": …}}` and `sku.description` both become `sku_description`."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{str(key).strip().lower().replace('.', '_')}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "_"))
        else:
            flat[name] = value
    return flat


def _is_gcp(keys: Iterable[str]) -> bool:
    flat = {k.lower().replace(".", "_") for k in keys}
    flat |= {"sku_description"} if "sku" in flat else set()
    return {"usage_start_time", "cost"} <= flat and "sku_description" in flat


def _gcp(name: str, rows: list[dict[str, Any]]) -> Invoice:
    """Gemini rows of a billing export; `cost` before credits, days in UTC."""
    invoice = Invoice(name, "gcp-billing-export", "UTC")
    for number, row in enumerate(rows, 1):
        where = f"{name} row {number}"
        service = str(row.get("service_description") or "").lower()
        sku = str(row.get("sku_description") or "")
        if not any(s in service for s in GEMINI_SERVICES) or "gemini" not in sku.lower():
            invoice.skipped_rows += 1
            continue
        _check_currency(where, row.get("currency") or "USD")
        day = _utc_day(where, row.get("usage_start_time"), "usage_start_time")
        cost = _amount(where, row.get("cost"), "cost")
        invoice.lines.append(BilledLine(day, "gemini", gemini_model_of_sku(sku), cost))
    return invoice


def gemini_model_of_sku(sku: str) -> str:
    """`Gemini 2.5 Flash Input Tokens` → `gemini-2.5-flash` (the words before the usage kind)."""
    text = sku.lower()
    start = text.find("gemini")
    name = text[start:]
    stop = _SKU_STOP.search(name)
    if stop:
        name = name[: stop.start()]
    words = re.findall(r"[a-z0-9.]+", name)
    return "-".join(words) or sku


# --- values ------------------------------------------------------------------------------


def _lower_keys(row: Mapping[str | None, Any]) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in row.items() if k is not None}


def _amount(where: str, value: Any, column: str) -> Decimal:
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    else:
        text = str(value if value is not None else "").strip().lstrip("$").replace(",", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise InvoiceUnreadable(f"{where}: {column} {value!r} is not an amount") from None
    if not amount.is_finite():
        raise InvoiceUnreadable(f"{where}: {column} {value!r} is not an amount")
    return amount


def _iso_day(where: str, value: Any, column: str) -> date:
    try:
        return date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        raise InvoiceUnreadable(f"{where}: {column} {value!r} is not a date (YYYY-MM-DD)") from None


def _utc_day(where: str, value: Any, column: str) -> date:
    """The UTC day of a unix time, an RFC 3339 time or BigQuery's `2025-01-15 08:00:00 UTC`."""
    parse: Callable[[], datetime]
    text = str(value if value is not None else "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        parse = lambda: datetime.fromtimestamp(float(text), UTC)  # noqa: E731
    else:
        cleaned = re.sub(r"\s*UTC$", "+00:00", text).replace("Z", "+00:00")
        parse = lambda: datetime.fromisoformat(cleaned)  # noqa: E731
    try:
        instant = parse()
    except (ValueError, OverflowError, OSError):
        raise InvoiceUnreadable(f"{where}: {column} {value!r} is not a time") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).date()


def _check_currency(where: str, currency: Any) -> None:
    if str(currency).strip().upper() != "USD":
        raise InvoiceUnreadable(
            f"{where}: amounts in {currency!r}: salesctl tracks USD, so export the costs in USD"
        )
