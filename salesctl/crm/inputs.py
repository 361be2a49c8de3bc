"""Validated input for leads and deals, shared by `leads add`, `deals add` and the CSV importer.

Each validator raises `ValueError` with a message that names the value and what it should be,
so a bad CSV row or flag becomes one readable reason ("employees 'fifty' is not a whole
number"), never a pydantic dump.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from salesctl.errors import InvalidInput
from salesctl.vocabulary import (
    DEAL_STAGES,
    LEAD_STATUSES,
    LEAD_TIERS,
    DealStage,
    LeadStatus,
    LeadTier,
)

LEAD_FIELDS = (
    "company_name",
    "contact_name",
    "contact_email",
    "contact_title",
    "phone",
    "industry",
    "employees",
    "website",
    "region",
    "notes",
    "status",
)

# Lead statuses as HubSpot and Salesforce export them, mapped onto ours.
STATUS_SYNONYMS: dict[str, LeadStatus] = {
    "open": "new",
    "open not contacted": "new",
    "not contacted": "new",
    "in progress": "working",
    "attempted to contact": "working",
    "connected": "working",
    "open deal": "working",
    "contacted": "working",
    "working contacted": "working",
    "nurturing": "working",
    "bad timing": "disqualified",
    "unqualified": "disqualified",
    "closed not converted": "disqualified",
    "closed converted": "customer",
    "converted": "customer",
    "won": "customer",
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_AMOUNT_LIMIT = Decimal(10) ** 12  # deals.amount is NUMERIC(14, 2)


def label_key(value: str) -> str:
    """`Open - Not Contacted` → `open not contacted`: labels compared sans case and punctuation."""
    return " ".join(re.sub(r"[\W_]+", " ", value.casefold()).split())


def normalise_status(value: str) -> LeadStatus:
    key = label_key(value)
    if key in LEAD_STATUSES:
        return key
    if key in STATUS_SYNONYMS:
        return STATUS_SYNONYMS[key]
    raise ValueError(f"status {value!r} is not one of {', '.join(LEAD_STATUSES)}")


def lead_status(value: str) -> LeadStatus:
    """A status given as a flag; InvalidInput names the valid ones."""
    try:
        return normalise_status(value)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def normalise_stage(value: str) -> DealStage:
    """`Closed Won`, `closed-won` and `closed_won` are the same stage."""
    key = label_key(value).replace(" ", "_")
    if key not in DEAL_STAGES:
        raise InvalidInput(f"unknown stage {value!r}: valid stages are {', '.join(DEAL_STAGES)}")
    return key


def normalise_tier(value: str) -> LeadTier:
    key = value.strip().casefold()
    if key not in LEAD_TIERS:
        raise InvalidInput(f"unknown tier {value!r}: valid tiers are {', '.join(LEAD_TIERS)}")
    return key


MAX_EMPLOYEES = 10_000_000
"""More than any company employs; also keeps the value inside a 32-bit column."""

MAX_NOTES_CHARS = 20_000
"""Notes go into every agent prompt: a cap keeps a pasted document from costing a fortune."""


def parse_employees(value: Any) -> int | None:
    """Whole numbers as CRMs export them: `250`, `1,200`, `1200.0`."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip().replace(",", "").replace("_", "")
    if not text:
        return None
    if len(text) > 20:  # "9e999999999" would build a billion-digit integer
        raise ValueError(f"employees {value!r} is not a plausible head count")
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"employees {value!r} is not a whole number")
    if number < 0:
        raise ValueError(f"employees {value!r} is negative")
    if number > MAX_EMPLOYEES:
        raise ValueError(f"employees {value!r} is more than {MAX_EMPLOYEES:,}")
    return int(number)


def parse_amount(value: str | Decimal | None) -> Decimal | None:
    """A deal amount in dollars: `12500`, `12,500.50`, `$12,500`; at most cents."""
    if value is None or isinstance(value, Decimal):
        return value
    text = value.strip().removeprefix("$").replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"amount {value!r} is not a number (e.g. 12500 or 12500.50)") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"amount {value!r} must be zero or more")
    # is_finite() above rules out the 'n', 'N' and 'F' exponents of NaN and Infinity.
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"amount {value!r} has more than two decimal places")
    if amount >= _AMOUNT_LIMIT:
        raise ValueError(f"amount {value!r} is too large")
    return amount


def parse_date(value: str | date | None, what: str = "date") -> date | None:
    """An ISO date (YYYY-MM-DD)."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date: use YYYY-MM-DD") from None


class LeadInput(BaseModel):
    """A new lead as typed on the command line or read from a CSV row."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    company_name: str = Field(min_length=1, max_length=255)
    contact_name: str | None = Field(None, max_length=255)
    contact_email: str | None = Field(None, max_length=320)
    contact_title: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=64)
    industry: str | None = Field(None, max_length=255)
    employees: int | None = None
    website: str | None = Field(None, max_length=2048)
    region: str | None = Field(None, max_length=255)
    notes: str | None = Field(None, max_length=MAX_NOTES_CHARS)
    status: LeadStatus = "new"

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("company_name", mode="before")
    @classmethod
    def _company_required(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("company is empty")
        # One space between words, so "Acme  Corp" and "Acme Corp" are the same company.
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"email {value!r} is not an email address")
        return value

    @field_validator("employees", mode="before")
    @classmethod
    def _employees(cls, value: Any) -> int | None:
        return parse_employees(value)

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        if value is not None and (any(c.isspace() for c in value) or "." not in value):
            raise ValueError(f"website {value!r} is not a web address")
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "new"
        return normalise_status(str(value))


class DealInput(BaseModel):
    """A new deal on a lead."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    lead_id: int
    name: str = Field(min_length=1, max_length=255)
    stage: DealStage = "prospecting"
    amount: Decimal | None = None
    close_date: date | None = None
    next_step: str | None = None

    @field_validator("stage", mode="before")
    @classmethod
    def _stage(cls, value: Any) -> Any:
        if value is None:
            return "prospecting"
        try:
            return normalise_stage(str(value))
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Decimal | None:
        return parse_amount(value)

    @field_validator("close_date", mode="before")
    @classmethod
    def _close_date(cls, value: Any) -> date | None:
        return parse_date(value, "close date")

    @field_validator("next_step", mode="before")
    @classmethod
    def _blank_step(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


def validation_reasons(exc: ValidationError, labels: Mapping[str, str] | None = None) -> list[str]:
    """One readable reason per invalid field; `labels` name fields as the user wrote them."""
    labels = labels or {}
    reasons: list[str] = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        label = labels.get(field, field)
        if error["type"] == "value_error":
            message = str(error["ctx"]["error"])
            # Validators name the field generically ("employees '5x' …"); use the user's name.
            reasons.append(_relabel(message, field, label))
        elif error["type"] == "string_too_long":
            limit = error["ctx"]["max_length"]
            reasons.append(f"{label} is longer than {limit} characters")
        elif error["type"] == "string_too_short":
            reasons.append(f"{label} is empty")
        elif error["type"] == "missing":
            reasons.append(f"{label} is missing")
        else:
            reasons.append(f"{label}: {error['msg']}")
    return reasons


_GENERIC_NAMES = {
    "company_name": "company",
    "contact_email": "email",
    "employees": "employees",
    "website": "website",
    "status": "status",
    "amount": "amount",
    "close_date": "close date",
}


def _relabel(message: str, field: str, label: str) -> str:
    generic = _GENERIC_NAMES.get(field)
    if generic and label != field and message.startswith(generic + " "):
        return label + message[len(generic) :]
    return message


def lead_input(values: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> LeadInput:
    """Validate a new lead, raising InvalidInput with every reason on one line."""
    try:
        return LeadInput.model_validate(dict(values))
    except ValidationError as exc:
        raise InvalidInput("; ".join(validation_reasons(exc, labels))) from None


def deal_input(values: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> DealInput:
    """Validate a new deal, raising InvalidInput with every reason on one line."""
    try:
        return DealInput.model_validate(dict(values))
    except ValidationError as exc:
        raise InvalidInput("; ".join(validation_reasons(exc, labels))) from None
