"""Which leads a run works on: `--lead`, `--ids`, `--all`, `--status` and `--where` filters.

`--where` takes a small filter language, never SQL: `FIELD OP VALUE` with OP one of
`= != > >= < <=` and `~` (contains, case-insensitive). Text comparisons ignore case;
`a|b` after `=` or `!=` means any of the values; `null` means no value recorded. Several
`--where` options must all hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from salesctl.errors import InvalidInput
from salesctl.vocabulary import LEAD_STATUSES

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

Op = Literal["=", "!=", ">", ">=", "<", "<=", "~"]
FieldKind = Literal["text", "int"]

FILTER_FIELDS: dict[str, FieldKind] = {
    "id": "int",
    "company_name": "text",
    "contact_name": "text",
    "contact_email": "text",
    "contact_title": "text",
    "industry": "text",
    "employees": "int",
    "website": "text",
    "region": "text",
    "status": "text",
    "notes": "text",
    "qualification_score": "int",
    "qualification_tier": "text",
}
FIELD_ALIASES = {
    "company": "company_name",
    "title": "contact_title",
    "email": "contact_email",
    "score": "qualification_score",
    "tier": "qualification_tier",
}

_CONDITION = re.compile(r"^\s*([A-Za-z_]+)\s*(>=|<=|!=|=|>|<|~)\s*(.*?)\s*$")
_ORDERING_OPS = {">", ">=", "<", "<="}
MAX_EXPLICIT_IDS = 100_000


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed `--where` filter."""

    field: str
    op: Op
    values: tuple[str | int | None, ...]

    def __str__(self) -> str:
        shown = "|".join("null" if v is None else str(v) for v in self.values)
        return f"{self.field}{self.op}{shown}"


def parse_condition(text: str) -> Condition:
    """`employees>=100` → Condition("employees", ">=", (100,)), or InvalidInput naming the fix."""
    match = _CONDITION.match(text)
    if not match:
        raise InvalidInput(
            f"cannot read filter {text!r}: write FIELD OP VALUE, e.g. industry=software or "
            "employees>=100 (OP is one of = != > >= < <= ~)"
        )
    name, op, raw = match.group(1).lower(), match.group(2), match.group(3)
    field = FIELD_ALIASES.get(name, name)
    if field not in FILTER_FIELDS:
        known = ", ".join(sorted(FILTER_FIELDS))
        raise InvalidInput(f"cannot filter on {name!r}: known fields are {known}")
    kind = FILTER_FIELDS[field]
    if op in _ORDERING_OPS and kind != "int":
        raise InvalidInput(f"{field!r} is text: compare it with =, != or ~, not {op}")
    if op == "~" and kind != "text":
        raise InvalidInput(f"{field!r} is a number: ~ (contains) works on text fields only")
    if raw == "":
        raise InvalidInput(f"filter {text!r} has no value (use null for 'not recorded')")
    parts = raw.split("|") if op in {"=", "!="} else [raw]
    values = tuple(_value(field, kind, op, part.strip()) for part in parts)
    return Condition(field=field, op=op, values=values)  # type: ignore[arg-type]  # op: parsed


def _value(field: str, kind: FieldKind, op: str, raw: str) -> str | int | None:
    if raw.lower() == "null":
        if op not in {"=", "!="}:
            raise InvalidInput(f"null can only be compared with = or != (in {field!r})")
        return None
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(f"{field!r} is a number, not {raw!r}") from None
    return raw


def parse_ids(text: str) -> tuple[int, ...]:
    """`1,2, 3` → (1, 2, 3); duplicates dropped, order kept."""
    ids: dict[int, None] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit() or not 0 < int(part) < 2**31:
            raise InvalidInput(f"--ids takes positive lead ids separated by commas, not {part!r}")
        ids[int(part)] = None
    if not ids:
        raise InvalidInput("--ids needs at least one lead id, e.g. --ids 1,2,3")
    if len(ids) > MAX_EXPLICIT_IDS:
        raise InvalidInput(f"--ids takes at most {MAX_EXPLICIT_IDS} ids; use --where or --all")
    return tuple(ids)


@dataclass(frozen=True, slots=True)
class LeadSelection:
    """Named leads (always run) or a bulk filter (skips leads the agent already did)."""

    lead_ids: tuple[int, ...] = ()
    status: str | None = None
    conditions: tuple[Condition, ...] = ()
    everything: bool = False

    @property
    def explicit(self) -> bool:
        return bool(self.lead_ids)

    @classmethod
    def from_options(
        cls,
        *,
        lead: int | None = None,
        ids: str | None = None,
        all_leads: bool = False,
        status: str | None = None,
        where: list[str] | None = None,
    ) -> LeadSelection:
        """The selection the command-line options describe, or InvalidInput naming the fix."""
        named = (lead is not None) + (ids is not None)
        bulk = all_leads or status is not None or bool(where)
        if named > 1 or (named and bulk):
            raise InvalidInput(
                "choose leads one way: --lead ID, --ids 1,2,3, or --all/--status/--where"
            )
        if lead is not None:
            if lead <= 0:
                raise InvalidInput(f"--lead takes a positive lead id, not {lead}")
            return cls(lead_ids=(lead,))
        if ids is not None:
            return cls(lead_ids=parse_ids(ids))
        if not bulk:
            raise InvalidInput(
                "which leads? use --lead ID, --ids 1,2,3, --all, --status STATUS or "
                "--where FILTER (e.g. --where industry=software)"
            )
        if status is not None and status not in LEAD_STATUSES:
            raise InvalidInput(
                f"unknown lead status {status!r}: use one of {', '.join(LEAD_STATUSES)}"
            )
        conditions = tuple(parse_condition(text) for text in where or [])
        return cls(status=status, conditions=conditions, everything=all_leads)

    def describe(self) -> str:
        if self.explicit:
            if len(self.lead_ids) == 1:
                return f"lead {self.lead_ids[0]}"
            return f"{len(self.lead_ids)} named leads"
        filters = ([f"status={self.status}"] if self.status else []) + [
            str(c) for c in self.conditions
        ]
        return "all leads" + (f" where {' and '.join(filters)}" if filters else "")


def lead_filter(selection: LeadSelection) -> ColumnElement[bool]:
    """The selection as a SQLAlchemy condition on `leads` (bound parameters only)."""
    from sqlalchemy import and_, true

    from salesctl.db.models.crm import Lead

    clauses: list[ColumnElement[bool]] = []
    if selection.explicit:
        clauses.append(Lead.id.in_(selection.lead_ids))
    if selection.status is not None:
        clauses.append(Lead.status == selection.status)
    clauses.extend(_condition_clause(condition) for condition in selection.conditions)
    return and_(true(), *clauses)


def _condition_clause(condition: Condition) -> ColumnElement[bool]:
    from sqlalchemy import func, not_, or_

    from salesctl.db.models.crm import Lead

    column: ColumnElement[Any] = getattr(Lead, condition.field)
    text = FILTER_FIELDS[condition.field] == "text"
    if condition.op in {"=", "!="}:
        matches: list[ColumnElement[bool]] = []
        for value in condition.values:
            if value is None:
                matches.append(column.is_(None))
            elif text:
                matches.append(func.lower(column) == str(value).lower())
            else:
                matches.append(column == value)
        clause = or_(*matches)
        if condition.op == "=":
            return clause
        if None in condition.values:
            return not_(clause)
        # "industry!=retail" keeps leads with no industry recorded (SQL would drop them).
        return or_(column.is_(None), not_(clause))
    (value,) = condition.values
    if condition.op == "~":
        pattern = "%" + _escape_like(str(value).lower()) + "%"
        return func.lower(column).like(pattern, escape="\\")
    return {
        ">": column > value,
        ">=": column >= value,
        "<": column < value,
        "<=": column <= value,
    }[condition.op]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
