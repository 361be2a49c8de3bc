"""Reading lead CSVs: header mapping, CRM exports, encodings, per-row problems with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesctl.crm.csv_import import parse_leads_csv, plan_columns
from salesctl.errors import InvalidInput

DOCS = Path(__file__).resolve().parents[2] / "docs"


def write(tmp_path: Path, text: str, name: str = "leads.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_sample_file_reads_cleanly() -> None:
    parsed = parse_leads_csv(DOCS / "sample-leads.csv")
    assert parsed.invalid == []
    assert len(parsed.rows) == parsed.rows_read >= 20
    assert parsed.plan.ignored == []
    first = parsed.rows[0].lead
    assert first.company_name == "Northwind Analytics"
    assert first.contact_email == "dana.ruiz@northwind-analytics.example"
    assert first.employees == 420


def test_hubspot_export_headers_are_recognised() -> None:
    parsed = parse_leads_csv(DOCS / "sample-hubspot.csv")
    assert parsed.invalid == []
    assert set(parsed.plan.ignored) == {"Record ID", "Contact owner", "Create Date"}
    lead = parsed.rows[0].lead
    assert lead.company_name == "Harborpoint Software"
    assert lead.contact_name == "Rachel Adeyemi"  # First Name + Last Name
    assert lead.contact_title == "VP Sales"
    assert lead.region == "United States"  # Country/Region
    assert lead.website == "harborpoint.example"  # Website URL
    assert [row.lead.status for row in parsed.rows] == [
        "new",
        "working",
        "new",
        "disqualified",
        "working",
    ]
    assert parsed.rows[4].lead.employees == 1050  # "1,050"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Company / Account", "Email", "Title", "No. of Employees", "Country", "Description"],
            {
                "company_name": 0,
                "contact_email": 1,
                "contact_title": 2,
                "employees": 3,
                "region": 4,
                "notes": 5,
            },
        ),
        (
            ["COMPANY_NAME", "Email Address", "Job Title", "Number of Employees", "Website URL"],
            {
                "company_name": 0,
                "contact_email": 1,
                "contact_title": 2,
                "employees": 3,
                "website": 4,
            },
        ),
        (["company", "Company Name"], {"company_name": 1}),  # the better name wins
    ],
)
def test_headers_match_case_insensitively(headers: list[str], expected: dict[str, int]) -> None:
    assert plan_columns(headers, [], "f.csv").fields == expected


def test_map_option_names_columns_and_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "Org,Person,Seats,Company\nAcme,Dana,40,ignored\n")
    parsed = parse_leads_csv(path, ["org=company", "Person=contact_name", "SEATS=employees"])
    lead = parsed.rows[0].lead
    assert (lead.company_name, lead.contact_name, lead.employees) == ("Acme", "Dana", 40)
    assert parsed.plan.ignored == ["Company"]
    # An empty target ignores a column.
    parsed = parse_leads_csv(path, ["Company=", "Org=company_name"])
    assert parsed.rows[0].lead.company_name == "Acme"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("Org", "must look like 'COLUMN=FIELD'"),
        ("Nope=company", "has no column 'Nope' \\(columns: 'Org', 'Email'\\)"),
        ("Org=revenue", "unknown field 'revenue' \\(fields: company_name,"),
    ],
)
def test_bad_map_options(tmp_path: Path, mapping: str, message: str) -> None:
    path = write(tmp_path, "Org,Email\nAcme,a@b.example\n")
    with pytest.raises(InvalidInput, match=message):
        parse_leads_csv(path, [mapping])


def test_missing_company_column_names_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path, "Name,Email,Phone\nDana,d@a.example,1\n")
    with pytest.raises(InvalidInput) as raised:
        parse_leads_csv(path)
    assert "has no company column (columns found: 'Name', 'Email', 'Phone')" in str(raised.value)
    assert "--map 'COLUMN=company_name'" in str(raised.value)


def test_bad_rows_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    text = (
        "Company Name,Email Address,Number of Employees,Notes\n"  # line 1
        "Acme,dana@acme.example,250,fine\n"  # 2
        '"Multi, Line Inc",ops@multi.example,10,"first line\nsecond line"\n'  # 3-4
        "\n"  # 5: blank, skipped
        "Broken Co,bob@,fifty,\n"  # 6
        ",nobody@x.example,3,\n"  # 7
        "ACME,Dana@Acme.example,250,same lead again\n"  # 8
        "Too,t@o.example,1,note,extra\n"  # 9
        "Trailing,t@r.example,1,note,,\n"  # 10: empty extra cells are fine
    )
    parsed = parse_leads_csv(write(tmp_path, text))
    assert [(row.line, row.lead.company_name) for row in parsed.rows] == [
        (2, "Acme"),
        (3, "Multi, Line Inc"),
        (10, "Trailing"),
    ]
    assert parsed.rows[1].lead.notes == "first line\nsecond line"
    problems = {p.line: p.reasons for p in parsed.invalid}
    assert problems == {
        6: [
            "Email Address 'bob@' is not an email address",
            "Number of Employees 'fifty' is not a whole number",
        ],
        7: ["Company Name is empty"],
        8: ["duplicate of line 2"],
        9: ["5 values but 4 columns in the header"],
    }
    assert parsed.rows_read == 7  # blank lines are not rows


def test_utf8_with_bom_and_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffCompany;Contact Name;Employees\nSociété Générale;Zoë;1200\n")
    lead = parse_leads_csv(path).rows[0].lead
    assert (lead.company_name, lead.contact_name, lead.employees) == (
        "Société Générale",
        "Zoë",
        1200,
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Company\nCafé Noir\n".encode("latin-1"), "is not UTF-8 \\(byte 0xe9 on line 2\\)"),
        ("Company\nAcme\n".encode("utf-16"), "is UTF-16 text"),
        (b"PK\x03\x04\x14\x00\x00\x00", "zip archive or Excel workbook, not CSV"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "is a binary file, not CSV text"),
        (b"", "is empty"),
        (b"Company,Email\n", "has a header but no rows"),
    ],
)
def test_files_that_are_not_utf8_csv_are_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        parse_leads_csv(path)


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"cannot read .*missing\.csv: no such file"):
        parse_leads_csv(tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="it is a directory"):
        parse_leads_csv(tmp_path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'company_name,contact_name,notes\nAcme,Dana,"fine"\n'
            'Beta,Li,"unclosed note\nGamma,Jo,x\n',
            "line 3, column 3 (notes): a quote opened here is never closed",
        ),
        (
            'company_name,notes\nAcme,"two\nlines"\nBeta,"half\n\nGamma,y\n',
            "line 4, column 2 (notes): a quote opened here is never closed",
        ),
        (
            'company_name;notes\nAcme;"fine"x\n',
            "line 2, column 2 (notes): a closing quote is followed by 'x'",
        ),
    ],
)
def test_a_quoting_mistake_names_its_line_and_column(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as raised:
        parse_leads_csv(path)
    assert str(raised.value).startswith(f"{path} {says}")
