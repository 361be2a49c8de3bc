"""Generate JSON values that satisfy a JSON Schema, deterministically from a seed.

Covers what structured-output callers send: pydantic's output (`$defs`/`$ref`, `anyOf` with
null for optionals, `allOf` wrappers, enums, constraints) and Gemini's OpenAPI-style schemas
(upper-case `type`, int64 constraints serialised as strings). Strings are chosen from the
field name so the output reads plausibly (names, emails, companies, summaries).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import uuid
from typing import Any

from .words import keywords, proper_nouns

_NUMERIC_KEYS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "multipleOf",
)

_FIRST = ("Jordan", "Maya", "Liam", "Priya", "Noah", "Elena", "Marcus", "Sofia", "Ethan", "Aiko")
_LAST = ("Lee", "Patel", "Garcia", "Novak", "Okafor", "Schmidt", "Rossi", "Kim", "Silva", "Berg")
_COMPANIES = (
    "Acme Corp",
    "Northwind Traders",
    "Globex Industries",
    "Initech",
    "Umbrella Logistics",
    "Blue Harbor Health",
    "Summit Analytics",
    "Brightline Retail",
)
_TITLES = ("VP of Sales", "Head of Operations", "CTO", "Procurement Manager", "Founder & CEO")
_INDUSTRIES = ("SaaS", "Healthcare", "Logistics", "Retail", "Financial Services", "Manufacturing")
_CITIES = ("Berlin", "Austin", "Toronto", "Lisbon", "Singapore", "Denver")
_COUNTRIES = ("Germany", "United States", "Canada", "Portugal", "Singapore")
_STAGES = ("new", "contacted", "qualified", "proposal", "negotiation")
_SENTENCES = (
    "Strong fit based on company size and stated budget.",
    "Engaged with the last two emails and asked about pricing.",
    "Decision maker identified; follow up with a short demo this week.",
    "Early interest, but the timeline is not yet confirmed.",
    "Good product fit; procurement review expected next quarter.",
)
_PROSE_FIELDS = {
    "summary",
    "description",
    "reason",
    "reasoning",
    "rationale",
    "explanation",
    "notes",
    "note",
    "message",
    "body",
    "text",
    "answer",
    "reply",
    "content",
    "comment",
    "feedback",
    "analysis",
    "recommendation",
    "insight",
    "justification",
}


_SNAKE_KEYWORDS = {
    "any_of": "anyOf",
    "one_of": "oneOf",
    "all_of": "allOf",
    "min_items": "minItems",
    "max_items": "maxItems",
    "min_length": "minLength",
    "max_length": "maxLength",
    "min_properties": "minProperties",
    "max_properties": "maxProperties",
    "prefix_items": "prefixItems",
    "additional_properties": "additionalProperties",
    "property_ordering": "propertyOrdering",
    "multiple_of": "multipleOf",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
    "unique_items": "uniqueItems",
}
"""Gemini's schema keywords as google-genai may spell them (protobuf JSON allows both)."""


def resolve(schema: Any, root: Any) -> dict[str, Any]:
    """The schema with `$ref`s followed, `allOf` merged and Gemini spellings normalised."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        target = _pointer(root, schema["$ref"])
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest}
        seen += 1
    if not isinstance(schema, dict):
        return {}
    schema = {_SNAKE_KEYWORDS.get(k, k): v for k, v in schema.items()}
    if "allOf" in schema:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = resolve(part, root)
            props = {**part.get("properties", {}), **merged.get("properties", {})}
            required = [*part.get("required", []), *merged.get("required", [])]
            merged = {**part, **merged}
            if props:
                merged["properties"] = props
            if required:
                merged["required"] = list(dict.fromkeys(required))
        schema = merged
    out = dict(schema)
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = kind.lower()
    elif isinstance(kind, list):
        out["type"] = [str(k).lower() for k in kind]
    for key in _NUMERIC_KEYS:
        if isinstance(out.get(key), str):
            try:
                out[key] = float(out[key]) if "." in out[key] else int(out[key])
            except ValueError:
                del out[key]
    return out


def property_schemas(schema: dict[str, Any], root: Any) -> dict[str, dict[str, Any]]:
    """An object schema's properties, each resolved."""
    props = schema.get("properties") or {}
    return {name: resolve(sub, root) for name, sub in props.items()}


def _pointer(root: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        return {}
    node = root
    for raw in ref[1:].split("/"):
        if not raw:
            continue
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(key, {})
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return {}
    return node


class SchemaFaker:
    """Makes schema-valid values; the same seed and schema give the same value."""

    def __init__(self, seed: int, context: str = "") -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.context = context
        self.words = keywords(context, limit=6)
        self.proper = proper_nouns(context)
        self._entity = self._new_entity(depth=0)

    def _new_entity(self, depth: int) -> tuple[str, str, str]:
        """The person and company an object describes, so its name and email agree."""
        company = self.rng.choice(_COMPANIES)
        if depth == 0 and self.proper:
            company = self.proper[0]
        return self.rng.choice(_FIRST), self.rng.choice(_LAST), company

    def value(self, schema: Any, *, name: str = "", root: Any = None, depth: int = 0) -> Any:
        """A value valid against `schema` (resolved against `root`, default the schema)."""
        root = schema if root is None else root
        s = resolve(schema, root)
        if "const" in s:
            return s["const"]
        if s.get("enum"):
            return self._enum(s["enum"])
        for key in ("anyOf", "oneOf"):
            if s.get(key):
                options = [resolve(o, root) for o in s[key]]
                usable = [o for o in options if o.get("type") != "null"] or options
                merged = {k: v for k, v in s.items() if k != key}
                return self.value({**merged, **usable[0]}, name=name, root=root, depth=depth)
        kind = s.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in s else "array" if "items" in s else "string"
        if kind == "object":
            return self._object(s, root, depth)
        if kind == "array":
            return self._array(s, name, root, depth)
        if kind == "integer":
            return self._integer(s, name)
        if kind == "number":
            return self._number(s, name)
        if kind == "boolean":
            return self.rng.random() < 0.6
        if kind == "null":
            return None
        return self._string(s, name)

    def _enum(self, options: list[Any]) -> Any:
        lowered = self.context.lower()
        for option in options:
            if isinstance(option, str) and len(option) > 2 and option.lower() in lowered:
                return option
        return options[self.rng.randrange(len(options))]

    def _object(self, s: dict[str, Any], root: Any, depth: int) -> dict[str, Any]:
        required = set(s.get("required") or [])
        out: dict[str, Any] = {}
        outer, self._entity = self._entity, self._new_entity(depth)
        for prop, sub in (s.get("properties") or {}).items():
            if prop in required or depth < 3:
                out[prop] = self.value(sub, name=prop, root=root, depth=depth + 1)
        self._entity = outer
        extra = s.get("additionalProperties")
        min_props = int(s.get("minProperties") or 0)
        while len(out) < min_props:
            sub = extra if isinstance(extra, dict) else {"type": "string"}
            out[f"key_{len(out) + 1}"] = self.value(sub, root=root, depth=depth + 1)
        return out

    def _array(self, s: dict[str, Any], name: str, root: Any, depth: int) -> list[Any]:
        prefix = s.get("prefixItems") or []
        low = int(s.get("minItems") or 0)
        high = s.get("maxItems")
        count = max(low, len(prefix), 2 if depth < 3 else 0)
        if high is not None:
            count = min(count, int(high))
        item_schema = s.get("items") if isinstance(s.get("items"), dict) else {}
        singular = name[:-1] if name.endswith("s") else name
        out: list[Any] = []
        attempts = 0
        while len(out) < count and attempts < count * 10:
            attempts += 1
            sub = prefix[len(out)] if len(out) < len(prefix) else item_schema
            item = self.value(sub, name=singular, root=root, depth=depth + 1)
            if s.get("uniqueItems") and item in out:
                continue
            out.append(item)
        return out

    def _bounds(self, s: dict[str, Any], default: tuple[float, float]) -> tuple[float, float]:
        """The schema's numeric range, falling back to a plausible default range."""
        low = _number_or_none(s.get("minimum", s.get("exclusiveMinimum")))
        high = _number_or_none(s.get("maximum", s.get("exclusiveMaximum")))
        span = default[1] - default[0]
        if low is None:
            low = default[0] if high is None or default[0] <= high else high - span
        if high is None:
            high = default[1] if default[1] >= low else low + span
        return low, max(low, high)

    def _integer(self, s: dict[str, Any], name: str) -> int:
        lname = name.lower()
        default: tuple[float, float] = (1, 100)
        if any(k in lname for k in ("limit", "count", "top", "quantity", "size")):
            default = (1, 10)
        elif "year" in lname:
            default = (2020, 2026)
        elif "score" in lname:
            default = (0, 100)
        low, high = self._bounds(s, default)
        lo, hi = math.ceil(low), math.floor(high)
        if "minimum" not in s and "exclusiveMinimum" in s and lo == low:
            lo += 1
        if "maximum" not in s and "exclusiveMaximum" in s and hi == high:
            hi -= 1
        hi = max(hi, lo)
        if "score" in lname or "rating" in lname:
            value = lo + self.seed % (hi - lo + 1)  # realism: tied to the prompt
        else:
            value = self.rng.randint(lo, hi)
        step = s.get("multipleOf")
        if isinstance(step, int) and step > 0 and value % step:
            up = value + step - value % step
            value = up if up <= hi else value - value % step
        return value

    def _number(self, s: dict[str, Any], name: str) -> float:
        lname = name.lower()
        default: tuple[float, float] = (1.0, 1000.0)
        if any(k in lname for k in ("probability", "confidence", "ratio", "rate")):
            default = (0.0, 1.0)
        low, high = self._bounds(s, default)
        if "score" in lname:
            value = low + (self.seed % 1000) / 1000 * (high - low)
        else:
            value = self.rng.uniform(low, high)
        value = round(value, 2)
        if "exclusiveMinimum" in s and value <= low:
            value = low + (high - low) / 2
        if "exclusiveMaximum" in s and value >= high:
            value = low + (high - low) / 2
        return min(max(value, low), high)

    def _string(self, s: dict[str, Any], name: str) -> str:
        text = self._plausible_string(s, name)
        low = int(s.get("minLength") or 0)
        high = s.get("maxLength")
        if len(text) < low:
            text = (text + " " + "x" * low)[:low] if text else "x" * low
        if high is not None:
            text = text[: int(high)]
        return text

    def _plausible_string(self, s: dict[str, Any], name: str) -> str:
        fmt = s.get("format")
        rng = self.rng
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(365))
        if fmt == "date-time":
            return f"{day.isoformat()}T{rng.randrange(8, 18):02d}:00:00Z"
        if fmt == "date":
            return day.isoformat()
        if fmt == "time":
            return f"{rng.randrange(8, 18):02d}:30:00"
        if fmt == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        lname = name.lower()
        first, last, company = self._entity
        if fmt == "email" or "email" in lname:
            return f"{first.lower()}.{last.lower()}@{_domain(company)}"
        if fmt in ("uri", "url") or any(k in lname for k in ("url", "website", "link")):
            return f"https://www.{_domain(company)}"
        if "phone" in lname:
            return f"+1-555-01{rng.randrange(100):02d}"
        if "date" in lname:
            return day.isoformat()
        if lname == "id" or lname.endswith("_id"):
            return f"{lname[:1].upper()}-{rng.randrange(1000, 9999)}"
        if lname in ("first_name", "firstname", "given_name"):
            return first
        if lname in ("last_name", "lastname", "surname", "family_name"):
            return last
        if "name" in lname and not any(k in lname for k in ("company", "account", "org")):
            return f"{first} {last}"
        if any(k in lname for k in ("company", "account", "organization", "organisation")):
            return company
        if lname in ("job_title", "role", "position", "jobtitle"):
            return rng.choice(_TITLES)
        if "industry" in lname or "sector" in lname:
            return rng.choice(_INDUSTRIES)
        if "city" in lname:
            return rng.choice(_CITIES)
        if "country" in lname:
            return rng.choice(_COUNTRIES)
        if "stage" in lname or "status" in lname:
            return rng.choice(_STAGES)
        if "subject" in lname or "title" in lname or "headline" in lname:
            topic = self.words[0] if self.words else "our conversation"
            return f"Following up on {topic}"
        if any(k in lname for k in _PROSE_FIELDS):
            return self._sentence()
        if self.words:
            start = rng.randrange(len(self.words))
            return " ".join(self.words[start : start + 2])
        return "example value"

    def _sentence(self) -> str:
        sentence = self.rng.choice(_SENTENCES)
        if self.words:
            return f"{sentence} (Re: {', '.join(self.words[:2])}.)"
        return sentence


def _number_or_none(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _domain(company: str) -> str:
    stem = re.sub(r"[^a-z]", "", company.lower().split()[0]) if company.strip() else ""
    return f"{stem or 'example'}.com"
