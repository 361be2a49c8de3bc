"""`/docs` for `salesctl serve`: the OpenAPI description as one self-contained HTML page.

FastAPI's own /docs page loads Swagger UI's script and stylesheet from a CDN; `serve` runs
next to cost data, often offline, and must not make a browser fetch code from elsewhere. This
page needs nothing but itself: every operation, its parameters and its responses, read from
the same schema `/openapi.json` serves.
"""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1f; }
code, .path { font-family: ui-monospace, monospace; }
.op { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
.method { font-weight: bold; text-transform: uppercase; margin-right: 0.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #eaeef2;
         vertical-align: top; }
"""


def docs_page(schema: dict[str, Any]) -> str:
    """The HTML page describing `schema` (an OpenAPI document)."""
    info = schema.get("info", {})
    title = escape(str(info.get("title", "API")))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title} <small>{escape(str(info.get('version', '')))}</small></h1>",
        f"<p>{escape(str(info.get('description', '')))}</p>",
        '<p>The machine-readable description: <a href="/openapi.json">/openapi.json</a>.</p>',
    ]
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            parts.append(_operation(path, method, operation))
    parts.append("</body></html>")
    return "\n".join(parts)


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    rows = []
    for parameter in operation.get("parameters", []):
        kind = _type(parameter.get("schema", {}))
        required = "required" if parameter.get("required") else "optional"
        rows.append(
            f"<tr><td><code>{escape(parameter['name'])}</code></td>"
            f"<td>{escape(parameter.get('in', ''))}</td><td>{escape(kind)}</td>"
            f"<td>{required}</td><td>{escape(parameter.get('description', ''))}</td></tr>"
        )
    responses = "".join(
        f"<li><code>{escape(code)}</code>: {escape(str(answer.get('description', '')))}</li>"
        for code, answer in operation.get("responses", {}).items()
    )
    table = (
        "<table><tr><th>parameter</th><th>in</th><th>type</th><th></th><th>meaning</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else ""
    )
    return (
        f'<div class="op"><h2><span class="method">{escape(method)}</span>'
        f'<span class="path">{escape(path)}</span></h2>'
        f"<p>{escape(operation.get('summary', ''))}</p>{table}"
        f"<h3>Responses</h3><ul>{responses}</ul></div>"
    )


def _type(schema: dict[str, Any]) -> str:
    """A parameter's type in a few words (`integer ≥ 1`, `array of string`, …)."""
    if "anyOf" in schema:
        kinds = [_type(option) for option in schema["anyOf"] if option.get("type") != "null"]
        return " or ".join(kinds)
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    bounds = []
    if "minimum" in schema:
        bounds.append(f"≥ {schema['minimum']}")
    if "maximum" in schema:
        bounds.append(f"≤ {schema['maximum']}")
    if "pattern" in schema:
        bounds.append(f"matching {schema['pattern']}")
    return " ".join([kind, *bounds])
