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
from collections.abc import Sequence
from typing import Any, TypeVar

from .facts import Facts, facts_of
from .words import keywords, proper_nouns

T = TypeVar("T")

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
_REGIONS = ("North America", "Europe", "APAC")
_CITIES_BY_REGION = {
    "north america": ("San Francisco, CA", "Austin, TX", "Boston, MA", "Toronto, ON"),
    "europe": ("London, UK", "Berlin, Germany", "Amsterdam, Netherlands", "Dublin, Ireland"),
    "apac": ("Singapore", "Sydney, Australia", "Bangalore, India"),
    "": ("Chicago, IL", "London, UK", "Singapore"),
}
_FUNDING = ("Series A", "Series B", "Series C", "Bootstrapped", "Private equity backed")
_TECHNOLOGIES = ("Salesforce", "HubSpot", "Snowflake", "Slack", "Gong", "Outreach", "AWS")
_DAYS = (0, 3, 7, 14, 21, 30)
_SUBJECTS = (
    "A faster path to qualified pipeline at {company}",
    "{company}: lead scoring your reps will trust",
    "Following up on our conversation",
    "Security review and next steps for {company}",
    "Two options for the {company} rollout",
)
_VALUE_PROPOSITIONS = (
    "Score every inbound lead for {company} in seconds, with the reasons attached, so reps "
    "spend their time on the accounts most likely to buy.",
    "Give {of} managers their Fridays back: call summaries and next steps written "
    "for them, in the CRM they already use.",
)
_PAIN_POINTS = (
    "Reps spend hours a week qualifying leads by hand",
    "Lead scoring lives in a spreadsheet nobody trusts",
    "Managers review call recordings one by one",
    "Next steps in the CRM are stale by the time of the pipeline review",
)
_PROOF_POINTS = (
    "A {industry} customer of similar size cut qualification time by 40%",
    "SOC 2 Type II report available on request",
    "Live in two weeks with the Salesforce integration",
)
_BODIES = (
    "Sales teams like the one at {company} use us to score every inbound lead in seconds, "
    "with the reasons attached, so reps call the right accounts first.",
    "Managers at companies like {company} get call summaries and next steps written for "
    "them, in the CRM they already use.",
    "A SaaS team of your size cut the time its reps spend qualifying leads by 40% in the "
    "first quarter.",
)
_NEXT_STEPS = (
    "Hold the security review with {of} IT lead, then send a two-option proposal",
    "Confirm the meeting with {who} and share the agenda the day before",
    "Send {who} a proposal with an annual and a phased option before the budget meeting",
)
_ACTIONS = (
    "Send the security questionnaire answers and the SOC 2 report",
    "Call {who} to confirm the meeting time",
    "Share a reference customer of similar size",
    "Send the two-option proposal",
    "Check in on the decision timeline",
)
_OBJECTION_CUES = re.compile(
    r"\b(price|cheaper|cost|budget|security|concern|worr|risk|though|but|stop|review)\b", re.I
)
_COMMITMENT_CUES = re.compile(r"\b(I'll|we'll|I will|we will|we can send|send me)\b", re.I)
_GOOD_MOOD = re.compile(r"\b(liked|yes|great|helps?|works|sounds right|possibly|love)\b", re.I)
_BAD_MOOD = re.compile(r"\b(cheaper|concern|worried|no budget|not interested|stop|problem)\b", re.I)
_OBJECTIONS = (
    "The price is higher than the alternative",
    "IT needs a security review before rollout",
    "The budget for next quarter is not approved yet",
)
_RESPONSES = (
    "Offer an annual plan with a phased rollout to spread the cost",
    "Send the SOC 2 report and book a call with their IT lead",
    "Share a reference customer of similar size",
    "Propose a paid pilot scoped to one team",
)
_COMMITMENTS = (
    "Send the security documents",
    "Set up a call with their IT lead",
    "Send a proposal with two pricing options",
    "Review the proposal with the CFO",
)
_DUE = ("today", "next Tuesday", "before the 20th", "end of the quarter")
_RISKS = (
    "A cheaper competitor in the final round",
    "Security review could delay the start",
    "Budget approval sits with the CFO",
    "Key champion at {company} could change roles",
)
_PLAYS = (
    "Run a joint security review with {of} IT lead",
    "Offer a phased rollout tied to the team's growth",
    "Introduce a reference customer in the same industry",
    "Send {who} a one-page ROI case for the CFO",
)
_OPPORTUNITIES = (
    "Expand from the core sales team to customer success",
    "Roll out to the {region} team after the first phase",
    "Add call analysis for the managers",
)
_RATIONALES = (
    "{company} is adding reps this year, and every new rep needs qualified leads on day one.",
    "The team in {region} runs the same process by hand today.",
    "Managers at {company} spend a day a week on call reviews.",
)
_COMPETITORS = ("PipelinePro", "LeadLoop", "Scorely", "Funnelwise")
_COMPETITOR_NOTES = (
    "Cheaper per seat, fewer integrations",
    "Strong in mid-market, weak on security reviews",
    "Spreadsheet-era scoring, no call analysis",
)
_SIGNALS = (
    "Asked for pricing",
    "Engaged with the last two emails",
    "Decision maker identified",
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

    def __init__(self, seed: int, context: str = "", facts: Facts | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.context = context
        self.facts = facts if facts is not None else facts_of(context)
        self.words = keywords(_untagged(context), limit=6)
        self.proper = proper_nouns(_untagged(context))
        self._people = 0
        self._picked: dict[str, int] = {}
        self._siblings: frozenset[str] = frozenset()
        self._side: str | None = None
        self._entity = self._new_entity(depth=0)

    def _new_entity(self, depth: int) -> tuple[str, str, str]:
        """The person and company an object describes, so its name and email agree. The
        first person is the prompt's contact, when it names one."""
        company = self.facts.company or self.rng.choice(_COMPANIES)
        if depth == 0 and self.proper and not self.facts.company:
            company = self.proper[0]
        if depth > 0 and self._people == 0 and self.facts.contact:
            self._people += 1
            first, _, last = self.facts.contact.partition(" ")
            return first, last or self.rng.choice(_LAST), company
        if depth > 0:
            self._people += 1
        return self.rng.choice(_FIRST), self.rng.choice(_LAST), company

    def pick(self, name: str, options: Sequence[T]) -> T:
        """The next of `options` for this field: list items differ, the start is seeded."""
        index = self._picked.get(name, self.rng.randrange(len(options)))
        self._picked[name] = index + 1
        return options[index % len(options)]

    def value(self, schema: Any, *, name: str = "", root: Any = None, depth: int = 0) -> Any:
        """A value valid against `schema` (resolved against `root`, default the schema)."""
        root = schema if root is None else root
        s = resolve(schema, root)
        if "const" in s:
            return s["const"]
        if s.get("enum"):
            return self._enum(s["enum"], name)
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

    def _enum(self, options: list[Any], name: str = "") -> Any:
        if "sentiment" in name.lower() and self.facts.lines:
            mood = self._mood()
            if mood in options:
                return mood
        lowered = self.context.lower()
        for option in options:
            if isinstance(option, str) and len(option) > 2 and option.lower() in lowered:
                return option
        return options[self.rng.randrange(len(options))]

    def _object(self, s: dict[str, Any], root: Any, depth: int) -> dict[str, Any]:
        required = set(s.get("required") or [])
        out: dict[str, Any] = {}
        outer, self._entity = self._entity, self._new_entity(depth)
        outer_siblings, self._siblings = self._siblings, frozenset(s.get("properties") or {})
        self._side = None
        for prop, sub in (s.get("properties") or {}).items():
            if prop in required or depth < 3:
                out[prop] = self.value(sub, name=prop, root=root, depth=depth + 1)
        owner = (s.get("properties") or {}).get("owner")
        owners = resolve(owner, root).get("enum") or [] if owner is not None else []
        if self._side and isinstance(out.get("owner"), str) and self._side in owners:
            out["owner"] = self._side  # whoever said the commitment owns it
        channel = (s.get("properties") or {}).get("channel")
        channels = resolve(channel, root).get("enum") or [] if channel is not None else []
        action = str(out.get("action", "")).lower()
        if "call" in channels and action.startswith("call"):
            out["channel"] = "call"  # "Call Dana to confirm" is not an email
        self._entity, self._siblings = outer, outer_siblings
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
        this_year = dt.date.today().year
        if any(k in lname for k in ("employee", "headcount", "staff")):
            return self._clamped(s, self.facts.employees or self._company_size())
        if "year" in lname:
            low, high = self._bounds(s, (1985, this_year - 2))
            high = min(high, this_year)  # a founding year, a year of anything done: not ahead
            low = min(max(low, 1900), high)
            return self.rng.randint(math.ceil(low), math.floor(high))
        if lname == "day" or lname.endswith(("_day", "_days")):
            return self._clamped(s, self.pick(lname, _DAYS))
        if lname == "id" or lname.endswith("_id"):
            low, _ = self._bounds(s, (1, 100))
            return max(1, math.ceil(low))  # the first record: a model cannot know the others
        if any(k in lname for k in ("limit", "count", "top", "quantity", "size")):
            default = (1, 10)
        elif "score" in lname:
            default = (0, 100)
        low, high = self._bounds(s, default)
        lo, hi = math.ceil(low), math.floor(high)
        if "minimum" not in s and "exclusiveMinimum" in s and lo == low:
            lo += 1
        if "maximum" not in s and "exclusiveMaximum" in s and hi == high:
            hi -= 1
        hi = max(hi, lo)
        fit = self._fit_score() if "score" in lname else None
        if fit is not None:
            value = min(max(fit, lo), hi)
        elif "score" in lname or "rating" in lname:
            value = lo + self.seed % (hi - lo + 1)  # realism: tied to the prompt
        else:
            value = self.rng.randint(lo, hi)
        step = s.get("multipleOf")
        if isinstance(step, int) and step > 0 and value % step:
            up = value + step - value % step
            value = up if up <= hi else value - value % step
        return value

    def _company_size(self) -> int:
        """A plausible head count: log-uniform from a small team to a large company."""
        return round(math.exp(self.rng.uniform(math.log(15), math.log(5000))))

    def _clamped(self, s: dict[str, Any], value: int | str) -> int:
        low, high = self._bounds(s, (int(value), int(value)))
        return int(min(max(int(value), math.ceil(low)), math.floor(high)))

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
            return self.facts.website or f"https://www.{_domain(company)}"
        if "phone" in lname:
            return f"+1-555-01{rng.randrange(100):02d}"
        if "date" in lname:
            return day.isoformat()
        if lname == "id" or lname.endswith("_id"):
            return f"{lname[:1].upper()}-{rng.randrange(1000, 9999)}"
        sales = self._sales_text(lname)
        if sales is not None:
            return sales
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
            return self.facts.industry or rng.choice(_INDUSTRIES)
        if "city" in lname:
            return rng.choice(_CITIES)
        if "country" in lname:
            return rng.choice(_COUNTRIES)
        if "stage" in lname or "status" in lname:
            return rng.choice(_STAGES)
        if "subject" in lname or "title" in lname or "headline" in lname:
            return self._subject()
        if any(k in lname for k in _PROSE_FIELDS):
            return self._sentence()
        if self.words:
            start = rng.randrange(len(self.words))
            return " ".join(self.words[start : start + 2])
        return "example value"

    def _sales_text(self, lname: str) -> str | None:
        """Sales-team wording for the fields lead agents ask for, about the prompt's lead;
        None for fields this does not know."""
        f = self.facts
        first, last, company = self._entity
        who = f.first_name or first
        industry = _common_noun(f.industry or "software")
        of = _possessive(company)
        region = f.region or self.rng.choice(_REGIONS)
        siblings = self._siblings
        if lname == "title" and "rationale" in siblings:
            return self.pick("opportunity", _OPPORTUNITIES).format(region=region)
        if lname == "title" and "name" in siblings:
            if f.contact and f"{first} {last}".startswith(f.contact.split()[0]):
                return f.title or self.rng.choice(_TITLES)
            return self.pick("person_title", _TITLES)
        if lname == "name" and "note" in siblings:
            return self.pick("competitor", _COMPETITORS)
        if lname == "note" and "name" in siblings:
            return self.pick("competitor_note", _COMPETITOR_NOTES)
        if "region" in lname:
            return region
        if "headquarters" in lname or lname in ("hq", "location", "address"):
            return self.rng.choice(_CITIES_BY_REGION.get(region.lower(), _CITIES_BY_REGION[""]))
        if "funding" in lname:
            found = re.search(r"Series [A-F]", f.notes or "")
            return found.group(0) if found else self.rng.choice(_FUNDING)
        if "revenue" in lname:
            return _revenue_range(f.employees or self._company_size())
        if "technolog" in lname or "tech_stack" in lname or lname in ("tool", "tools"):
            return self.pick("technology", _TECHNOLOGIES)
        if "description" in lname:
            size = f"about {f.employees:,} people" if f.employees else "a growing team"
            notes = f" {f.notes}" if f.notes else ""
            return f"{company} is {_article(industry)} company in {region} with {size}.{notes}"
        if "reasoning" in lname or "justification" in lname:
            return self._reasoning(company)
        if "signal" in lname:
            phrases = f.note_phrases()
            return self.pick("signal", tuple(phrases) or _SIGNALS)
        if "audience" in lname:
            size = f"{f.employees:,}-person " if f.employees else ""
            first_in = f"{f.contact}, {f.title}," if f.contact and f.title else f.contact or who
            return (
                f"Sales leaders and RevOps at {size}{industry} companies in {region}, "
                f"starting with {first_in} at {company}."
            )
        if "value_proposition" in lname or lname == "proposition":
            return self.pick("value", _VALUE_PROPOSITIONS).format(company=company, of=of)
        if "pain_point" in lname:
            return self.pick("pain", _PAIN_POINTS)
        if "proof_point" in lname:
            return self.pick("proof", _PROOF_POINTS).format(industry=industry)
        if "call_to_action" in lname or lname == "cta":
            return f"Book a 30-minute working session with {who} next week."
        if "next_step" in lname:
            return self.pick("next_step", _NEXT_STEPS).format(of=of, who=who)
        if lname == "action":
            return self.pick("action", _ACTIONS).format(company=company, who=who)
        if "objection" in lname:
            heard = [text for _, text in f.sentences("prospect") if _OBJECTION_CUES.search(text)]
            return self.pick("objection", tuple(heard) or _OBJECTIONS)
        if "response" in lname:
            return self.pick("response", _RESPONSES)
        if "commitment" in lname:
            promised = [said for said in f.sentences() if _COMMITMENT_CUES.search(said[1])]
            if not promised:
                return self.pick("commitment", _COMMITMENTS)
            self._side, text = self.pick("commitment", tuple(promised))
            return text
        if lname == "due":
            return self.pick("due", _DUE)
        if "risk" in lname:
            return self.pick("risk", _RISKS).format(company=company)
        if "play" in lname:
            return self.pick("play", _PLAYS).format(of=of, who=who)
        if "rationale" in lname:
            return self.pick("rationale", _RATIONALES).format(company=company, region=region)
        if lname == "body":
            return self._email_body(who)
        if "summary" in lname:
            return self._summary(company, industry, region)
        return None

    def _mood(self) -> str:
        said = " ".join(self.facts.prospect_lines)
        good, bad = len(_GOOD_MOOD.findall(said)), len(_BAD_MOOD.findall(said))
        if good and bad:
            return "positive" if good >= 2 * bad else "mixed"
        return "positive" if good else "negative" if bad else "neutral"

    def _reasoning(self, company: str) -> str:
        checks = self.facts.checks
        if not checks:
            return self._sentence()
        missed = checks.get("misses", [])
        phrases = self.facts.note_phrases()
        intent = (
            f"; the notes show intent ({phrases[0][:1].lower()}{phrases[0][1:]})" if phrases else ""
        )
        if not missed:
            text = f"{company} fits the profile on every point checked{intent}."
        else:
            text = f"{company} misses {', '.join(missed)}, which lowers the score{intent}."
        if checks.get("unknown"):
            text += f" Still to find out: {', '.join(checks['unknown'])}."
        return text

    def _fit_score(self) -> int | None:
        """A score that follows the profile check: most of it met, a high score."""
        checks = self.facts.checks
        counted = sum(len(checks.get(k, [])) for k in ("meets", "misses", "unknown"))
        if not counted:
            return None
        met = len(checks.get("meets", [])) / counted
        return round(20 + 75 * met - 10 * bool(checks.get("misses"))) + self.seed % 9 - 4

    def _summary(self, company: str, industry: str, region: str) -> str:
        f = self.facts
        if f.lines:
            said = " ".join(f.prospect_lines[:2]) or f.lines[0][1]
            return f"Call with {f.contact or 'the prospect'} of {company}. {said}"
        size = f" of about {f.employees:,} people" if f.employees else ""
        notes = " ".join(p[:1].upper() + p[1:] + "." for p in f.note_phrases()[:2])
        return (
            f"{company} is {_article(industry)} company{size} in {region}. {notes} Its growth "
            "depends on adding sales capacity without slowing qualification."
        ).replace("  ", " ")

    def _email_body(self, who: str) -> str:
        middle = self.pick("body", _BODIES).format(company=self._entity[2])
        return (
            f"Hi {who},\n\n{middle}\n\nWould a 30-minute session next week work? "
            "I can show it on your own leads.\n\nBest,\nAlex"
        )

    def _subject(self) -> str:
        company = self.facts.company or (self.words[0] if self.words else "your team")
        return self.pick("subject", _SUBJECTS).format(company=company)

    def _sentence(self) -> str:
        sentence = self.rng.choice(_SENTENCES)
        if self.words:
            return f"{sentence} (Re: {', '.join(self.words[:2])}.)"
        return sentence


def _untagged(text: str) -> str:
    """The prompt without its data blocks (their JSON keys are not words of the question)."""
    return re.sub(r"<([a-z_]+)>.*?</\1>", " ", text, flags=re.DOTALL)


def _common_noun(industry: str) -> str:
    """`healthcare technology`, but `SaaS` and `AI` keep their capitals."""
    return " ".join(w if any(c.isupper() for c in w[1:]) else w.lower() for w in industry.split())


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _revenue_range(employees: int) -> str:
    revenue = employees * 180_000
    for low, high in ((0, 1), (1, 10), (10, 50), (50, 100), (100, 500), (500, 1000)):
        if revenue < high * 1_000_000:
            return f"${low}M–${high}M"
    return "$1B+"


def _number_or_none(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _domain(company: str) -> str:
    stem = re.sub(r"[^a-z]", "", company.lower().split()[0]) if company.strip() else ""
    return f"{stem or 'example'}.com"
