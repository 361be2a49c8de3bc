"""How the simulated model talks about tool results: plain sentences that use the data.

A real model reads a tool's JSON and answers in prose; so does the simulator. The result is
taken from inside its `<data tool="…">` block when it has one (the notice after the block is
for the model and is never repeated), JSON is described field by field, and anything else is
quoted as it came.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_DATA_BLOCK = re.compile(r"<data\b[^>]*>\s*(.*?)\s*</data>", re.DOTALL)
_LABEL_KEYS = ("company", "company_name", "name", "title", "deal", "label", "step", "account")
_SKIP_KEYS = {"lead_id", "deal_id", "id", "session_id", "query"}
_MONEY_KEYS = ("amount", "value", "revenue", "price", "total", "arr", "mrr")
_DETAILS_PER_ITEM = 5
_ITEMS_SHOWN = 10


def payload_of(content: str) -> Any:
    """The tool result's data: parsed JSON when it is JSON, else the text itself."""
    match = _DATA_BLOCK.search(content)
    body = match.group(1) if match else content.strip()
    body = body.replace("<\\/", "</")
    try:
        return json.loads(body)
    except ValueError:
        return body


def describe_result(name: str, content: str) -> list[str]:
    """Lines of prose (some of them list items) saying what one tool returned."""
    payload = payload_of(content)
    what = name.replace("_", " ")
    if isinstance(payload, str):
        return [f"The {what} lookup says: {' '.join(payload.split())}"]
    if isinstance(payload, list):
        return _describe_list(what, payload)
    if not isinstance(payload, dict):
        return [f"The {what} lookup returned {_value(payload)}."]
    if payload.get("error"):
        return [f"I could not get that from the sales database: {payload['error']}."]
    if payload.get("status") == "applied":
        return [f"Done: {payload.get('change') or what}."]
    if payload.get("status") == "not_applied":
        planned = (
            f" (the change would have been: {payload['planned']})" if "planned" in payload else ""
        )
        return [f"I did not make that change: {payload.get('reason', 'not confirmed')}{planned}."]
    lines: list[str] = []
    if isinstance(payload.get("query"), str):
        lines.append(f"I searched the sales database for “{payload['query']}”.")
    lists = {k: v for k, v in payload.items() if isinstance(v, list)}
    scalars = {k: v for k, v in payload.items() if k not in lists and not isinstance(v, dict)}
    nested = {k: v for k, v in payload.items() if isinstance(v, dict)}
    if set(scalars) - _SKIP_KEYS:
        lines.append(_sentence(scalars, what))
    for key, value in nested.items():
        lines.append(_sentence(value, key.replace("_", " ")))
    for key, items in lists.items():
        lines.extend(_describe_list(key.replace("_", " "), items))
    return lines or [f"The {what} lookup found nothing."]


def first_label(content: str) -> str | None:
    """The first named thing in a result (a lead's company, a deal's name), if any."""
    payload = payload_of(content)
    for value in payload.values() if isinstance(payload, dict) else [payload]:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                label = _label(item)
                if label:
                    return label
    return None


def _describe_list(what: str, items: list[Any]) -> list[str]:
    if not items:
        return [f"There are no {what} to show."]
    if all(not isinstance(item, dict | list) for item in items):
        return [f"{what.capitalize()}: {'; '.join(_value(i) for i in items)}."]
    noun = what if len(items) != 1 else what.removesuffix("s")
    lines = [f"I found {len(items)} {noun}:"]
    for item in items[:_ITEMS_SHOWN]:
        if isinstance(item, dict):
            label = _label(item)
            details = _details(item, skip=_labelled(item, label))
            lines.append(f"- {label or 'one'}" + (f": {details}" if details else ""))
        else:
            lines.append(f"- {_value(item)}")
    if len(items) > _ITEMS_SHOWN:
        lines.append(f"- … and {len(items) - _ITEMS_SHOWN} more")
    return lines


def _label(item: dict[str, Any]) -> str | None:
    if "deal_id" in item and isinstance(item.get("name"), str):
        company = item.get("company")
        return f"{item['name']} ({company})" if company else str(item["name"])
    for key in _LABEL_KEYS:
        if isinstance(item.get(key), str) and item[key].strip():
            return str(item[key]).strip()
    return None


def _labelled(item: dict[str, Any], label: str | None) -> set[str]:
    """The keys the label already says."""
    return {k for k in _LABEL_KEYS if item.get(k) is not None and str(item[k]) in (label or "")}


def _sentence(fields: dict[str, Any], what: str) -> str:
    label = _label(fields)
    skip = _labelled(fields, label)
    details = _details(fields, skip=skip, limit=None)
    subject = label or what.capitalize()
    return f"{subject}: {details}." if details else f"{subject}."


def _details(item: dict[str, Any], *, skip: set[str], limit: int | None = _DETAILS_PER_ITEM) -> str:
    parts = []
    for key, value in item.items():
        if key in skip or key in _SKIP_KEYS or value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            continue
        words = key.replace("_", " ")
        if isinstance(value, list):
            parts.append(f"{words} {', '.join(_value(v) for v in value[:4])}")
        elif isinstance(value, bool):
            parts.append(words if value else f"not {words}")
        elif any(k in key for k in _MONEY_KEYS):
            parts.append(f"{words} {_money(value)}")
        elif isinstance(value, int) and "year" not in key:
            parts.append(f"{words} {value:,}")
        else:
            parts.append(f"{words} {_value(value)}")
        if limit is not None and len(parts) == limit:
            break
    return ", ".join(parts)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        label = _label(value)
        return label or ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def _money(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"${amount:,.0f}" if amount == amount.to_integral() else f"${amount:,.2f}"
