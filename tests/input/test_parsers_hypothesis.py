"""Random text at every parser a user's typing reaches: each value is either understood or
refused with InvalidInput (one clear message); nothing else ever escapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from salesctl.errors import InvalidInput, SalesctlError

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
ZONES = [ZoneInfo("UTC"), ZoneInfo("America/Los_Angeles"), ZoneInfo("Pacific/Kiritimati")]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like what people type: relative spans, ISO dates and times (often out of
# range), named periods, and pure noise.
numbers = st.integers(min_value=-(10**12), max_value=10**12)
date_like = st.one_of(
    st.builds(lambda n, u: f"{n}{u}", numbers, st.sampled_from(["h", "d", "w", " d", "m", ""])),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(0, 9999),
        st.integers(0, 99),
        st.integers(0, 99),
    ),
    st.builds(
        lambda y, m, d, h, tz: f"{y:04d}-{m:02d}-{d:02d}T{h:02d}:00{tz}",
        st.integers(1, 9999),
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(0, 23),
        st.sampled_from(["", "Z", "+14:00", "-12:00", "+99:00"]),
    ),
    st.sampled_from(
        [
            "today",
            "yesterday",
            "this-month",
            "last-month",
            "now",
            "",
            " ",
            "0001-01-01",
            "9999-12-31",
            "9999-12-31T23:59:59.999999",
            "0000-00-00",
            "2025-02-29",
        ]
    ),
    st.text(max_size=40),
)


@FAST
@given(text=date_like, zone=st.sampled_from(ZONES), end=st.booleans())
@example(text="9999-12-31", zone=ZONES[0], end=True)
@example(text="105670w", zone=ZONES[0], end=False)
def test_parse_time_understands_or_refuses(text: str, zone: ZoneInfo, end: bool) -> None:
    from salesctl.reports.filters import parse_time

    try:
        instant = parse_time(text, zone=zone, now=NOW, end=end)
    except InvalidInput:
        return
    assert instant.tzinfo is not None
    assert instant.utcoffset() == timedelta(0)


@FAST
@given(since=st.one_of(st.none(), date_like), until=st.one_of(st.none(), date_like))
@example(since=None, until="0001-01-01")
def test_a_window_is_ordered_or_refused(since: str | None, until: str | None) -> None:
    from salesctl.reports.filters import resolve_window

    try:
        start, stop = resolve_window(since, until, zone=ZONES[0], now=NOW)
    except InvalidInput:
        return
    if start is not None and stop is not None:
        assert start < stop


@FAST
@given(
    agents=st.lists(st.text(max_size=30), max_size=3),
    provider=st.one_of(st.none(), st.text(max_size=20)),
    model=st.one_of(st.none(), st.text(max_size=60)),
    session=st.one_of(st.none(), st.text(max_size=60)),
    lead=st.one_of(st.none(), st.integers()),
)
def test_cost_filters_are_built_or_refused(
    agents: list[str],
    provider: str | None,
    model: str | None,
    session: str | None,
    lead: int | None,
) -> None:
    from salesctl.config import Settings
    from salesctl.reports.filters import build_filters

    try:
        filters = build_filters(
            settings=Settings(),
            agents=agents,
            provider=provider,
            model=model,
            session_id=session,
            lead_id=lead,
            now=NOW,
        )
    except InvalidInput:
        return
    assert filters.lead_id is None or filters.lead_id > 0


conditions = st.one_of(
    st.builds(
        lambda f, op, v: f"{f}{op}{v}",
        st.sampled_from(
            ["industry", "employees", "company", "status", "score", "region", "email", "nope", ""]
        ),
        st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "~", "==", "=>", ""]),
        st.one_of(st.text(max_size=30), numbers.map(str)),
    ),
    st.text(max_size=40),
)


@FAST
@given(text=conditions)
def test_where_conditions_are_parsed_or_refused(text: str) -> None:
    from salesctl.agents.selection import LeadSelection, lead_filter, parse_condition

    try:
        condition = parse_condition(text)
    except InvalidInput:
        return
    # A parsed condition compiles to SQL with its values bound, never written into the text.
    compiled = lead_filter(LeadSelection(conditions=(condition,))).compile()
    assert "'" not in str(compiled).replace("ESCAPE '\\'", "")
    if any(isinstance(v, str) and v for v in condition.values):
        assert compiled.params


@FAST
@given(text=st.one_of(st.text(max_size=40), st.lists(numbers.map(str)).map(",".join)))
def test_lead_id_lists_are_parsed_or_refused(text: str) -> None:
    from salesctl.agents.selection import parse_ids

    try:
        ids = parse_ids(text)
    except InvalidInput:
        return
    assert ids
    assert all(isinstance(i, int) and i > 0 for i in ids)


@FAST
@given(text=st.one_of(st.text(max_size=30), numbers.map(str), st.floats().map(str)))
@pytest.mark.parametrize("parser", ["parse_amount", "parse_employees", "parse_date"])
def test_crm_values_are_parsed_or_refused(parser: str, text: str) -> None:
    from salesctl.crm import inputs

    try:
        getattr(inputs, parser)(text)
    except ValueError:
        return  # inputs' parsers raise ValueError; pydantic turns it into the field's reason


@FAST
@given(text=st.text(max_size=30))
def test_agent_names_are_matched_or_refused_with_suggestions(text: str) -> None:
    from salesctl.reports.filters import AGENT_TYPES, check_agent

    refusal = ""
    try:
        agent = check_agent(text, list(AGENT_TYPES))
    except SalesctlError as exc:
        refusal = str(exc)
    if refusal:
        assert "known:" in refusal
    else:
        assert agent in AGENT_TYPES
