"""`leads import`: read a CSV of leads (our columns or a CRM export's), validate, store.

Headers are matched case-insensitively against our field names and the column names HubSpot
and Salesforce exports use; `--map "Column=field"` settles the rest. Every bad row is reported
with its line number. By default nothing is stored unless every row is good; with
`skip_invalid` the good rows are stored and the bad ones reported. Rows that match a lead
already in the database (same company and email, or contact name) are skipped, so importing
the same file twice does not duplicate leads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.crm.inputs import LEAD_FIELDS, LeadInput, label_key, validation_reasons
from salesctl.db.queries import leads as lead_queries
from salesctl.errors import InvalidInput

# For each field, the header names that mean it, best first: when two columns of a file both
# match a field, the one with the better name is used and the other is reported as ignored.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "company_name": (
        "company name",
        "company",
        "account name",
        "company account",
        "account",
        "organization name",
        "organization",
        "organisation name",
        "organisation",
        "business name",
    ),
    "contact_name": ("contact name", "full name", "name", "contact", "lead name"),
    "first_name": ("first name", "firstname", "given name"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "contact_email": (
        "contact email",
        "email address",
        "email",
        "e mail",
        "work email",
        "business email",
    ),
    "contact_title": ("contact title", "job title", "title", "position", "role"),
    "phone": (
        "phone",
        "phone number",
        "business phone",
        "work phone",
        "mobile phone",
        "mobile",
        "telephone",
    ),
    "industry": ("industry", "vertical", "sector"),
    "employees": (
        "employees",
        "number of employees",
        "no of employees",
        "employee count",
        "num employees",
        "headcount",
        "company size",
    ),
    "website": (
        "website",
        "website url",
        "web site",
        "company website",
        "company domain name",
        "domain",
        "url",
    ),
    "region": (
        "region",
        "country region",
        "country",
        "billing country",
        "mailing country",
        "territory",
        "location",
    ),
    "notes": ("notes", "note", "description", "comments", "comment", "lead notes"),
    "status": ("status", "lead status"),
}
IMPORT_FIELDS = (*LEAD_FIELDS, "first_name", "last_name")
_IGNORE = {"", "ignore", "skip", "-"}
_MAX_PRINTED_HEADERS = 12


def field_for(name: str) -> str | None:
    """The lead field a column or `--map` target names (`Email Address` → contact_email)."""
    key = label_key(name)
    for field_name in IMPORT_FIELDS:
        if key == label_key(field_name):
            return field_name
    for field_name, aliases in FIELD_ALIASES.items():
        if key in aliases:
            return field_name
    return None


@dataclass
class ColumnPlan:
    """Which column of the file feeds which field."""

    headers: list[str]
    fields: dict[str, int]  # field → column index
    ignored: list[str]

    def label(self, field_name: str) -> str:
        """The field as the file names it, for error messages."""
        if field_name in self.fields:
            return self.headers[self.fields[field_name]]
        if field_name == "contact_name":
            parts = [self.headers[self.fields[f]] for f in ("first_name", "last_name") if f in self]
            if parts:
                return " + ".join(parts)
        return field_name

    def __contains__(self, field_name: str) -> bool:
        return field_name in self.fields


def plan_columns(headers: Sequence[str], mappings: Sequence[str], source: str) -> ColumnPlan:
    """Match headers to fields: `--map` first, then exact names and known aliases, best first."""
    headers = list(headers)
    fields: dict[str, int] = {}
    taken: set[int] = set()
    for spec in mappings:
        column, sep, target = spec.partition("=")
        if not sep or not column.strip():
            raise InvalidInput(f"--map {spec!r} must look like 'COLUMN=FIELD'")
        matches = [i for i, h in enumerate(headers) if label_key(h) == label_key(column)]
        if not matches:
            raise InvalidInput(
                f"--map {spec!r}: {source} has no column {column.strip()!r} "
                f"(columns: {_quoted(headers)})"
            )
        taken.add(matches[0])
        if target.strip().casefold() in _IGNORE:
            continue
        field_name = field_for(target)
        if field_name is None:
            raise InvalidInput(
                f"--map {spec!r}: unknown field {target.strip()!r} "
                f"(fields: {', '.join(IMPORT_FIELDS)})"
            )
        if field_name in fields:
            raise InvalidInput(f"--map gives two columns for {field_name}")
        fields[field_name] = matches[0]

    for field_name in IMPORT_FIELDS:
        if field_name in fields:
            continue
        names = (label_key(field_name), *FIELD_ALIASES.get(field_name, ()))
        candidates = [
            (names.index(label_key(h)), i)
            for i, h in enumerate(headers)
            if i not in taken and label_key(h) in names
        ]
        if candidates:
            _, index = min(candidates)
            fields[field_name] = index
            taken.add(index)

    if "company_name" not in fields:
        raise InvalidInput(
            f"{source} has no company column (columns found: {_quoted(headers)}): "
            "name one 'company' or 'Company Name', or pass --map 'COLUMN=company_name'"
        )
    used = set(fields.values())
    ignored = [h for i, h in enumerate(headers) if i not in used and h.strip()]
    return ColumnPlan(headers=headers, fields=fields, ignored=ignored)


@dataclass
class RowProblem:
    """A row that cannot be imported: its line in the file and every reason."""

    line: int
    reasons: list[str]


@dataclass
class ParsedRow:
    line: int
    lead: LeadInput


@dataclass
class ParsedFile:
    """A CSV read and validated, not yet stored."""

    plan: ColumnPlan
    rows: list[ParsedRow]
    invalid: list[RowProblem]
    rows_read: int


@dataclass
class ExistingRow:
    """A row skipped because the database already holds that lead."""

    line: int
    lead_id: int


@dataclass
class ImportReport:
    """What `leads import` did; `committed` is False when nothing was stored."""

    file: str
    committed: bool
    rows_read: int
    imported: int
    lead_ids: list[int]
    invalid: list[RowProblem]
    already_present: list[ExistingRow]
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


def read_text(path: Path) -> str:
    """The file's text, refusing clearly what is not UTF-8 CSV."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"cannot read {path}: it is a directory") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(f"{path} is UTF-16 text: save it as CSV (UTF-8) and import that")
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput(
            f"{path} is a zip archive or Excel workbook, not CSV: export it as CSV (UTF-8)"
        )
    if b"\x00" in data:
        raise InvalidInput(f"{path} is a binary file, not CSV text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{path} is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}): "
            "save it as CSV (UTF-8) and import that"
        ) from None
    if not text.strip():
        raise InvalidInput(f"{path} is empty")
    return text


def _delimiter(header_line: str) -> str:
    """Comma unless the header plainly uses semicolons or tabs (European Excel, TSV)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def parse_leads_csv(path: Path, mappings: Sequence[str] = ()) -> ParsedFile:
    """Read and validate every row; duplicates within the file are invalid rows."""
    text = read_text(path)
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    # strict: an unterminated or misplaced quote is an error, not text running to the end.
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = _records(reader, path, text, delimiter)
    try:
        _, headers = next(records)
    except StopIteration:
        raise InvalidInput(f"{path} is empty") from None
    headers = [h.strip() for h in headers]
    plan = plan_columns(headers, mappings, str(path))
    labels = {name: plan.label(name) for name in LEAD_FIELDS}

    rows: list[ParsedRow] = []
    invalid: list[RowProblem] = []
    seen: dict[lead_queries.LeadIdentity, int] = {}
    rows_read = 0
    for line, cells in records:
        rows_read += 1
        if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
            invalid.append(
                RowProblem(line, [f"{len(cells)} values but {len(headers)} columns in the header"])
            )
            continue
        values = _values(cells, plan)
        try:
            lead = LeadInput.model_validate(values)
        except ValidationError as exc:
            invalid.append(RowProblem(line, validation_reasons(exc, labels)))
            continue
        identity = lead_queries.lead_identity(
            lead.company_name, lead.contact_email, lead.contact_name
        )
        if identity in seen:
            invalid.append(RowProblem(line, [f"duplicate of line {seen[identity]}"]))
            continue
        seen[identity] = line
        rows.append(ParsedRow(line, lead))
    if rows_read == 0:
        raise InvalidInput(f"{path} has a header but no rows")
    return ParsedFile(plan=plan, rows=rows, invalid=invalid, rows_read=rows_read)


def _records(reader: Any, path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each non-blank record; a quoted field may span lines."""
    last_line = 0
    try:
        for cells in reader:
            start = last_line + 1
            last_line = reader.line_num
            if any(c.strip() for c in cells):
                yield start, cells
    except csv.Error as exc:
        raise InvalidInput(_quote_problem(path, text, delimiter, last_line + 1, exc)) from None


def _quote_problem(path: Path, text: str, delimiter: str, start: int, exc: csv.Error) -> str:
    """`FILE line 3, column 3 (notes): a quote opened here is never closed`: where a record
    the csv module refused goes wrong, found by reading it again quote by quote."""
    lines = text.splitlines(keepends=True)
    record = "".join(lines[start - 1 :])
    line, column, quoted, opened = start, 1, False, (start, 1)
    i = 0
    while i < len(record):
        char = record[i]
        if quoted:
            if char == '"' and record[i + 1 : i + 2] == '"':
                i += 1
            elif char == '"':
                quoted = False
                after = record[i + 1 : i + 2]
                if after not in ("", delimiter, "\r", "\n"):
                    return _where(path, text, delimiter, line, column) + (
                        f": a closing quote is followed by {after!r} (quote the whole value, "
                        'and double any quote inside it: "say ""hi""")'
                    )
        elif char == '"' and (i == 0 or record[i - 1] in (delimiter, "\n", "\r")):
            quoted, opened = True, (line, column)
        elif char == delimiter:
            column += 1
        elif char == "\n":
            break
        if char == "\n":
            line += 1
        i += 1
    if quoted:
        return _where(path, text, delimiter, *opened) + (
            ": a quote opened here is never closed (close it, or double a quote inside a value)"
        )
    return f"{path} line {start}: {exc}"


def _where(path: Path, text: str, delimiter: str, line: int, column: int) -> str:
    """`FILE line 3, column 3 (notes)`: the column named by the header when it can be read."""
    header = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    try:
        names = next(csv.reader([header], delimiter=delimiter))
    except (csv.Error, StopIteration):
        names = []
    name = f" ({names[column - 1].strip()})" if 0 < column <= len(names) else ""
    return f"{path} line {line}, column {column}{name}"


def _values(cells: list[str], plan: ColumnPlan) -> dict[str, str | None]:
    def cell(field_name: str) -> str | None:
        index = plan.fields.get(field_name)
        return cells[index] if index is not None and index < len(cells) else None

    values = {name: cell(name) for name in LEAD_FIELDS if name in plan}
    if not (values.get("contact_name") or "").strip():
        parts = [(cell(f) or "").strip() for f in ("first_name", "last_name")]
        if any(parts):
            values["contact_name"] = " ".join(p for p in parts if p)
    return values


async def import_leads(
    *,
    session: AsyncSession,
    path: Path,
    mappings: Sequence[str] = (),
    skip_invalid: bool = False,
) -> ImportReport:
    """Read, validate and store a CSV in the caller's transaction (or store nothing)."""
    parsed = parse_leads_csv(path, mappings)
    return await store_leads(
        session=session, parsed=parsed, source=str(path), skip_invalid=skip_invalid
    )


async def store_leads(
    *, session: AsyncSession, parsed: ParsedFile, source: str, skip_invalid: bool = False
) -> ImportReport:
    """Store the valid rows not already in the database; nothing if any row is invalid and
    `skip_invalid` is off."""
    existing = await lead_queries.existing_identities(
        session=session, company_names=[row.lead.company_name for row in parsed.rows]
    )
    new_rows: list[ParsedRow] = []
    already_present: list[ExistingRow] = []
    for row in parsed.rows:
        identity = lead_queries.lead_identity(
            row.lead.company_name, row.lead.contact_email, row.lead.contact_name
        )
        if identity in existing:
            already_present.append(ExistingRow(row.line, existing[identity]))
        else:
            new_rows.append(row)

    committed = skip_invalid or not parsed.invalid
    lead_ids: list[int] = []
    if committed:
        lead_ids = await lead_queries.insert_leads(
            session=session, rows=[row.lead.model_dump() for row in new_rows]
        )
    return ImportReport(
        file=source,
        committed=committed,
        rows_read=parsed.rows_read,
        imported=len(lead_ids),
        lead_ids=lead_ids,
        invalid=parsed.invalid,
        already_present=already_present,
        columns={parsed.plan.headers[i]: name for name, i in parsed.plan.fields.items()},
        ignored_columns=parsed.plan.ignored,
    )


def _quoted(headers: Sequence[str]) -> str:
    shown = [repr(h) for h in headers[:_MAX_PRINTED_HEADERS]]
    if len(headers) > _MAX_PRINTED_HEADERS:
        shown.append(f"… {len(headers) - _MAX_PRINTED_HEADERS} more")
    return ", ".join(shown) if shown else "none"
