"""`--where` filters (parsed, never SQL), lead selections, and reading source documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from salesctl.agents.selection import LeadSelection, lead_filter, parse_condition, parse_ids
from salesctl.agents.sources import html_to_text, read_source, read_transcript
from salesctl.db.models import Lead
from salesctl.db.session import session_factory
from salesctl.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("industry=software", ("industry", "=", ("software",))),
        ("employees >= 100", ("employees", ">=", (100,))),
        ("tier=hot|warm", ("qualification_tier", "=", ("hot", "warm"))),
        ("industry!=null", ("industry", "!=", (None,))),
        ("notes~budget", ("notes", "~", ("budget",))),
    ],
)
def test_filters_parse(text: str, expected: tuple[str, str, tuple[Any, ...]]) -> None:
    condition = parse_condition(text)
    assert (condition.field, condition.op, condition.values) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("industry", "write FIELD OP VALUE"),
        ("password=x", "cannot filter on 'password'"),
        ("industry>b", "'industry' is text"),
        ("employees=many", "'employees' is a number"),
        ("employees~1", "works on text fields only"),
        ("region=", "has no value"),
        ("employees>null", "null can only be compared"),
    ],
)
def test_bad_filters_say_how_to_write_them(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_condition(text)


def test_selections_take_one_way_of_naming_leads() -> None:
    assert LeadSelection.from_options(lead=5).lead_ids == (5,)
    assert parse_ids("3, 1,3") == (3, 1)
    assert LeadSelection.from_options(all_leads=True, status="new").status == "new"
    with pytest.raises(InvalidInput, match="choose leads one way"):
        LeadSelection.from_options(lead=5, all_leads=True)
    with pytest.raises(InvalidInput, match="which leads"):
        LeadSelection.from_options()
    with pytest.raises(InvalidInput, match="unknown lead status 'hot'"):
        LeadSelection.from_options(status="hot")
    with pytest.raises(InvalidInput, match="positive lead ids"):
        parse_ids("1,x")


async def test_filters_select_the_right_leads(engine: Any) -> None:
    rows = [
        ("Acme", "Software", 500),
        ("Beta", "software", 40),
        ("Gamma", None, 900),
        ("Delta 100%", "Retail", 120),
    ]
    async with session_factory(engine)() as session, session.begin():
        session.add_all(Lead(company_name=c, industry=i, employees=e) for c, i, e in rows)

    async def names(*where: str) -> list[str]:
        selection = LeadSelection.from_options(where=list(where))
        async with session_factory(engine)() as session:
            query = select(Lead.company_name).where(lead_filter(selection)).order_by(Lead.id)
            return list((await session.scalars(query)).all())

    assert await names("industry=SOFTWARE") == ["Acme", "Beta"]
    assert await names("industry=software", "employees>=100") == ["Acme"]
    assert await names("industry!=software") == ["Gamma", "Delta 100%"]
    assert await names("industry=null") == ["Gamma"]
    assert await names("company~100%") == ["Delta 100%"]
    assert await names("company~a_") == []
    assert await names("industry=x' OR '1'='1") == []


def test_html_is_reduced_to_its_text() -> None:
    html = (
        "<!doctype html><html><head><title>Acme</title>"
        '<meta name="description" content="CRM for dentists"><style>p{color:red}</style></head>'
        "<body><nav>Home</nav><p>We sell   CRM&nbsp;software.</p>"
        "<script>track()</script></body></html>"
    )
    assert html_to_text(html) == "Acme\nCRM for dentists\nHome\nWe sell CRM software."


def test_binary_and_non_utf8_sources_are_refused(tmp_path: Path) -> None:
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    latin = tmp_path / "notes.txt"
    latin.write_bytes("Café".encode("latin-1"))

    with pytest.raises(InvalidInput, match=r"logo\.png is a binary file"):
        read_source(png)
    with pytest.raises(InvalidInput, match="not UTF-8 text"):
        read_source(latin)
    with pytest.raises(InvalidInput, match="no such file"):
        read_source(tmp_path / "missing.html")
    with pytest.raises(InvalidInput, match="stdin is empty"):
        read_transcript(b"  \n", "stdin")
