"""What a prompt says about the lead it is about, so made-up answers fit that lead.

Prompts put their data in tagged blocks (`<lead_data>` JSON, `<transcript>` text, …). The
simulator reads them back: the company, the contact, the industry, the size, the region,
the notes and, for a call, who said what. The schema faker then answers about *this* company
(its size, its region, its contact as a decision maker) instead of inventing another.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TAGGED = re.compile(r"<([a-z_]+)>\s*(.*?)\s*</\1>", re.DOTALL)
_SPEAKER = re.compile(r"^([A-Z][\w .'-]{0,40}):\s+(.+)$")
_FIELDS = {
    "company": ("company_name", "company", "account"),
    "contact": ("contact_name", "contact", "name"),
    "title": ("contact_title", "title", "job_title"),
    "industry": ("industry",),
    "employees": ("employees", "employee_count", "headcount"),
    "region": ("region", "country"),
    "website": ("website", "url"),
    "notes": ("notes", "description"),
}


@dataclass(slots=True)
class Facts:
    company: str | None = None
    contact: str | None = None
    title: str | None = None
    industry: str | None = None
    employees: int | None = None
    region: str | None = None
    website: str | None = None
    notes: str | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)
    """A transcript's lines: (speaker, what they said)."""
    checks: dict[str, list[str]] = field(default_factory=dict)
    """A profile check's `meets` / `misses` / `unknown` lists."""

    @property
    def first_name(self) -> str | None:
        return self.contact.split()[0] if self.contact else None

    @property
    def prospect_lines(self) -> list[str]:
        """What the other side of the call said (the contact, else everyone but the first)."""
        speakers = [s for s, _ in self.lines]
        them = self.first_name or (speakers[1] if len(set(speakers)) > 1 else None)
        return [said for speaker, said in self.lines if them and speaker.startswith(them)]

    @property
    def our_lines(self) -> list[str]:
        prospect = set(self.prospect_lines)
        return [said for _, said in self.lines if said not in prospect]

    def sentences(self, who: str = "all") -> list[tuple[str, str]]:
        """(side, sentence) of the transcript: side is "prospect" or "us"."""
        prospect = set(self.prospect_lines)
        out = []
        for _, said in self.lines:
            side = "prospect" if said in prospect else "us"
            if who not in ("all", side):
                continue
            for sentence in re.split(r"(?<=[.!?])\s+", said):
                if len(sentence) >= 30:
                    out.append((side, sentence.strip()))
        return out

    def note_phrases(self) -> list[str]:
        """The notes cut into short phrases: `Inbound demo request`, `decision by …`."""
        if not self.notes:
            return []
        parts = re.split(r"[;.]\s*|,\s+(?=[a-z])", self.notes)
        phrases = [p.strip().rstrip(".") for p in parts if len(p.strip()) > 3]
        return [p[:1].upper() + p[1:] for p in phrases]


def facts_of(text: str) -> Facts:
    """The facts in a prompt's tagged blocks (nothing when it has none)."""
    facts = Facts()
    for tag, body in _TAGGED.findall(text):
        body = body.replace("<\\/", "</")
        data = _json(body)
        if isinstance(data, dict):
            if tag == "profile_check":
                facts.checks = {
                    k: [str(x) for x in v] for k, v in data.items() if isinstance(v, list)
                }
                continue
            _take(facts, data)
        elif tag == "transcript":
            facts.lines = [
                (m.group(1).strip(), m.group(2).strip())
                for line in body.splitlines()
                if (m := _SPEAKER.match(line.strip()))
            ]
    return facts


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _take(facts: Facts, data: dict[str, Any]) -> None:
    for attribute, keys in _FIELDS.items():
        if getattr(facts, attribute) is not None:
            continue
        for key in keys:
            value = data.get(key)
            if value in (None, "") or isinstance(value, dict | list):
                continue
            if attribute == "employees":
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    continue
            else:
                value = str(value)
            setattr(facts, attribute, value)
            break
