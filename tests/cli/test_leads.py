"""`salesctl leads …` through the CLI, checked against what landed in the database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.models import AgentRun, AICostTracking, Deal, Lead
from salesctl.db.session import create_engine, session_factory

DOCS = Path(__file__).resolve().parents[2] / "docs"
T = TypeVar("T")

# For checks made before any SQL runs, one dialect is enough (PostgreSQL cases cost a database).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def salesctl(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input)


def in_db(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the test database."""

    async def go() -> T:
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def lead_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Lead))).scalar_one()


def seed(url: str, *leads: dict[str, Any]) -> list[int]:
    async def add(session: AsyncSession) -> list[int]:
        rows = [Lead(**values) for values in leads]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]

    return in_db(url, add)


def one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# --- add ---------------------------------------------------------------------------------------


def test_add_with_every_field_prints_the_new_lead(db_env: str) -> None:
    result = salesctl(
        "leads", "add", "--company", "Acme Corp", "--contact", "Dana Ruiz",
        "--email", "dana@acme.example", "--title", "VP Sales", "--phone", "+1 415 555 0142",
        "--industry", "SaaS", "--employees", "1,250", "--website", "https://acme.example",
        "--region", "North America", "--notes", "Met at SaaStr", "--status", "working",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    stored = in_db(db_env, lambda s: s.get(Lead, printed["id"]))
    assert stored is not None
    assert (stored.company_name, stored.contact_name, stored.contact_email) == (
        "Acme Corp",
        "Dana Ruiz",
        "dana@acme.example",
    )
    assert (stored.contact_title, stored.phone, stored.industry) == (
        "VP Sales",
        "+1 415 555 0142",
        "SaaS",
    )
    assert (stored.employees, stored.website, stored.region) == (
        1250,
        "https://acme.example",
        "North America",
    )
    assert (stored.notes, stored.status) == ("Met at SaaStr", "working")
    assert printed["employees"] == 1250
    assert printed["status"] == "working"


@sqlite_only
def test_add_plain_output(db_env: str) -> None:
    result = salesctl("leads", "add", "--company", "Beta [bold]Labs[/]")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("✓ added lead 1: Beta [bold]Labs[/]")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--employees", "fifty"], "--employees 'fifty' is not a whole number"),
        (["--email", "dana@"], "--email 'dana@' is not an email address"),
        (["--status", "hot"], "status 'hot' is not one of new, working"),
    ],
)
@sqlite_only
def test_add_refuses_bad_values_and_writes_nothing(
    db_env: str, flags: list[str], message: str
) -> None:
    result = salesctl("leads", "add", "--company", "Acme", *flags)
    assert message in one_error_line(result)
    assert in_db(db_env, lead_count) == 0


@sqlite_only
def test_add_needs_a_company(db_env: str) -> None:
    result = salesctl("leads", "add", "--contact", "Dana")
    assert result.exit_code == 2
    assert "--company" in result.output


# --- list --------------------------------------------------------------------------------------


def test_list_filters_sorts_and_limits(db_env: str) -> None:
    ids = seed(
        db_env,
        {"company_name": "Zenith", "qualification_score": 91, "qualification_tier": "hot"},
        {"company_name": "Apex", "qualification_score": 84, "qualification_tier": "hot"},
        {"company_name": "Midway", "qualification_score": 60, "qualification_tier": "warm"},
        {"company_name": "Fresh", "status": "working"},
    )
    zenith, apex, midway, fresh = ids

    def listed(*flags: str) -> list[int]:
        result = salesctl("leads", "list", "--json", *flags)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["count"] == len(data["leads"])
        return [lead["id"] for lead in data["leads"]]

    assert listed() == [zenith, apex, midway, fresh]
    assert listed("--tier", "hot", "--sort", "company") == [apex, zenith]
    assert listed("--min-score", "70") == [zenith, apex]
    assert listed("--status", "working") == [fresh]
    assert listed("--sort", "created", "--limit", "2") == [fresh, midway]

    table = salesctl("leads", "list", "--tier", "warm")
    assert table.exit_code == 0
    assert "Midway" in table.stdout
    assert "Zenith" not in table.stdout


@sqlite_only
def test_list_rejects_unknown_filter_values(db_env: str) -> None:
    assert "valid tiers are hot, warm, cold" in one_error_line(
        salesctl("leads", "list", "--tier", "boiling")
    )
    assert "unknown sort 'revenue'" in one_error_line(
        salesctl("leads", "list", "--sort", "revenue")
    )


@sqlite_only
def test_list_when_empty_says_how_to_add_leads(db_env: str) -> None:
    result = salesctl("leads", "list")
    assert result.exit_code == 0
    assert "salesctl leads import FILE.csv" in result.stdout


# --- show --------------------------------------------------------------------------------------


def test_show_includes_qualification_enrichment_deals_and_exact_ai_cost(db_env: str) -> None:
    (lead_id,) = seed(
        db_env,
        {
            "company_name": "Acme",
            "qualification_score": 88,
            "qualification_tier": "hot",
            "qualification_reasoning": "Fits the ICP.",
            "enrichment": {"funding": "Series B"},
        },
    )

    async def add_activity(session: AsyncSession) -> None:
        session.add(Deal(lead_id=lead_id, name="Pilot", amount=Decimal("12000.50")))
        for cost, agent in (
            (Decimal("123.4567890123"), "enrichment"),
            (Decimal("0.000000075"), "qualification"),
        ):
            session.add(
                AICostTracking(
                    request_id=uuid.uuid4().hex, agent_type=agent, lead_id=lead_id,
                    provider="claude", model="claude-3-haiku-20240307", cost_usd=cost,
                    prompt_tokens=10, completion_tokens=5,
                )
            )  # fmt: skip

    in_db(db_env, add_activity)
    result = salesctl("leads", "show", str(lead_id), "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout, parse_float=Decimal)
    assert shown["qualification_score"] == 88
    assert shown["enrichment"] == {"funding": "Series B"}
    assert [(d["name"], d["amount"]) for d in shown["deals"]] == [("Pilot", Decimal("12000.50"))]
    assert shown["ai_cost"] == {
        "total_cost_usd": Decimal("123.4567890873"),
        "total_requests": 2,
        "unpriced_requests": 0,
        "agents_used": ["enrichment", "qualification"],
    }

    panel = salesctl("leads", "show", str(lead_id))
    assert panel.exit_code == 0
    assert "88 (hot)" in panel.stdout
    assert "$123.46 over 2 calls" in panel.stdout  # exact digits: --json, above
    assert "Pilot" in panel.stdout


def test_show_unknown_lead(db_env: str) -> None:
    assert one_error_line(salesctl("leads", "show", "404")) == (
        "error: no lead with id 404: see `salesctl leads list`"
    )


# --- delete ------------------------------------------------------------------------------------


def add_lead_with_history(url: str) -> int:
    (lead_id,) = seed(url, {"company_name": "Doomed Inc"})

    async def history(session: AsyncSession) -> None:
        session.add(Deal(lead_id=lead_id, name="Doomed deal"))
        session.add(AgentRun(agent="qualification", lead_id=lead_id, status="ok"))
        session.add(
            AICostTracking(
                request_id=uuid.uuid4().hex, agent_type="qualification", lead_id=lead_id,
                provider="cerebras", model="llama3.1-8b", cost_usd=Decimal("0.00042"),
                prompt_tokens=10, completion_tokens=5,
            )
        )  # fmt: skip

    in_db(url, history)
    return lead_id


def test_delete_with_yes_keeps_the_cost_rows_unlinked(db_env: str) -> None:
    lead_id = add_lead_with_history(db_env)
    result = salesctl("leads", "delete", str(lead_id), "--yes")
    assert result.exit_code == 0, result.output
    assert f"deleted lead {lead_id}: Doomed Inc" in result.stdout

    async def remaining(session: AsyncSession) -> tuple[int, int, int, list[Any]]:
        deals = (await session.execute(select(func.count()).select_from(Deal))).scalar_one()
        runs = (await session.execute(select(func.count()).select_from(AgentRun))).scalar_one()
        costs = (
            await session.execute(select(AICostTracking.lead_id, AICostTracking.cost_usd))
        ).all()
        return await lead_count(session), deals, runs, [tuple(row) for row in costs]

    assert in_db(db_env, remaining) == (0, 0, 0, [(None, Decimal("0.00042"))])


@sqlite_only
def test_delete_without_a_terminal_needs_yes(db_env: str) -> None:
    lead_id = add_lead_with_history(db_env)
    line = one_error_line(salesctl("leads", "delete", str(lead_id)))
    assert "without confirmation: pass --yes" in line
    assert in_db(db_env, lead_count) == 1


@pytest.mark.parametrize(("answer", "left"), [("n\n", 1), ("y\n", 0)])
def test_delete_asks_on_a_terminal(
    db_env: str, monkeypatch: pytest.MonkeyPatch, answer: str, left: int
) -> None:
    from salesctl.cli import leads as leads_cli

    lead_id = add_lead_with_history(db_env)
    monkeypatch.setattr(leads_cli, "stdin_is_terminal", lambda: True)
    result = salesctl("leads", "delete", str(lead_id), input=answer)
    assert f"Delete lead {lead_id} (Doomed Inc) and its 1 deal?" in result.output
    assert result.exit_code == (1 if left else 0)
    assert in_db(db_env, lead_count) == left


@sqlite_only
def test_delete_unknown_lead(db_env: str) -> None:
    assert "no lead with id 9" in one_error_line(salesctl("leads", "delete", "9", "--yes"))


# --- import ------------------------------------------------------------------------------------


def test_import_sample_then_again_skips_what_is_there(db_env: str) -> None:
    first = salesctl("leads", "import", str(DOCS / "sample-leads.csv"))
    assert first.exit_code == 0, first.output
    assert "imported 25 leads" in first.stdout
    assert in_db(db_env, lead_count) == 25

    again = salesctl("leads", "import", str(DOCS / "sample-leads.csv"), "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["imported"], len(summary["already_present"])) == (0, 25)
    assert in_db(db_env, lead_count) == 25


def test_import_hubspot_export(db_env: str) -> None:
    result = salesctl("leads", "import", str(DOCS / "sample-hubspot.csv"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["imported"] == 5
    assert summary["ignored_columns"] == ["Record ID", "Contact owner", "Create Date"]
    names = in_db(db_env, lambda s: s.scalars(select(Lead.contact_name).order_by(Lead.id)))
    assert list(names)[:2] == ["Rachel Adeyemi", "Lukas Brandt"]


BAD_CSV = (
    "Company Name,Email Address,Number of Employees\n"
    "Good One,one@good.example,10\n"
    "Bad Count,two@bad.example,fifty\n"
    "Good Two,two@good.example,20\n"
    "Bad Mail,nope@,5\n"
    "Good One,one@good.example,10\n"
)


def test_import_is_all_or_nothing(db_env: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    result = salesctl("leads", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 3: Number of Employees 'fifty' is not a whole number",
        "line 5: Email Address 'nope@' is not an email address",
        "line 6: duplicate of line 2",
        f"error: 3 of 5 rows are invalid in {path}; nothing imported "
        "(fix them, or pass --skip-invalid to import the 2 valid ones)",
    ]
    assert result.stdout == ""
    assert in_db(db_env, lead_count) == 0


def test_import_skip_invalid_loads_the_good_rows(db_env: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    result = salesctl("leads", "import", str(path), "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["committed"] is True
    assert summary["imported"] == 2
    assert [(p["line"], p["reasons"]) for p in summary["invalid"]] == [
        (3, ["Number of Employees 'fifty' is not a whole number"]),
        (5, ["Email Address 'nope@' is not an email address"]),
        (6, ["duplicate of line 2"]),
    ]
    companies = in_db(db_env, lambda s: s.scalars(select(Lead.company_name).order_by(Lead.id)))
    assert list(companies) == ["Good One", "Good Two"]
    assert (
        summary["lead_ids"]
        == in_db(db_env, lambda s: s.scalars(select(Lead.id).order_by(Lead.id))).all()
    )


@sqlite_only
def test_import_json_summary_when_nothing_is_imported(db_env: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    result = salesctl("leads", "import", str(path), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["committed"], summary["imported"], len(summary["invalid"])) == (False, 0, 3)
    assert "nothing imported" in result.stderr


def test_import_with_map(db_env: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Org,Seats,Who\nAcme,40,Dana Ruiz\n", encoding="utf-8")
    result = salesctl(
        "leads", "import", str(path), "--map", "Org=company", "--map", "seats=employees",
        "-m", "Who=contact_name",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lead = in_db(db_env, lambda s: s.scalar(select(Lead)))
    assert (lead.company_name, lead.employees, lead.contact_name) == ("Acme", 40, "Dana Ruiz")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"Name,Email\nDana,d@a.example\n",
            "has no company column (columns found: 'Name', 'Email')",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not CSV text"),
        ("Company\nCafé\n".encode("cp1252"), "is not UTF-8 (byte 0xe9 on line 2)"),
    ],
)
@sqlite_only
def test_import_refuses_files_it_cannot_read(
    db_env: str, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    assert message in one_error_line(salesctl("leads", "import", str(path)))
    assert in_db(db_env, lead_count) == 0


@sqlite_only
def test_import_missing_file(db_env: str, tmp_path: Path) -> None:
    line = one_error_line(salesctl("leads", "import", str(tmp_path / "nope.csv")))
    assert line == f"error: cannot read {tmp_path / 'nope.csv'}: no such file"


# --- the "done when" -------------------------------------------------------------------


def test_init_import_list_on_a_fresh_database(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.config import get_settings

    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    for args in (["init"], ["leads", "import", str(DOCS / "sample-leads.csv")], ["leads", "list"]):
        result = salesctl(*args)
        assert result.exit_code == 0, (args, result.output)
    assert "Northwind Analytics" in result.stdout
    assert "Relay Commerce" in result.stdout
    assert in_db(empty_database_url, lead_count) == 25
