"""Match a lead against the ideal customer profile (`[icp]` in the config file).

The match is deterministic: it decides which parts of the profile a lead meets, misses or
leaves unknown from the lead's own fields, so the qualification's reasoning always names them
and a disqualified lead is never scored hot, whatever the model says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from salesctl.agents.lead import LeadSnapshot
from salesctl.config import ICPSettings
from salesctl.vocabulary import LeadTier

CriterionName = Literal["industry", "size", "region", "buyer title", "disqualifiers"]
Verdict = Literal["met", "missed", "unknown"]

REGION_COUNTRIES: dict[str, tuple[str, ...]] = {
    "north america": ("us", "usa", "united states", "canada", "mexico"),
    "europe": (
        "eu",
        "uk",
        "united kingdom",
        "england",
        "ireland",
        "germany",
        "france",
        "spain",
        "portugal",
        "italy",
        "netherlands",
        "belgium",
        "switzerland",
        "austria",
        "sweden",
        "norway",
        "denmark",
        "finland",
        "poland",
        "emea",
    ),
    "apac": (
        "asia",
        "australia",
        "new zealand",
        "japan",
        "singapore",
        "india",
        "china",
        "korea",
    ),
    "latam": ("latin america", "brazil", "argentina", "chile", "colombia", "peru"),
}
"""Countries that place a lead in a region named by the profile (matched as whole words)."""

_FILLER_WORDS = {"of", "the", "and", "&", "for"}


@dataclass(frozen=True, slots=True)
class Criterion:
    """One part of the profile and how the lead fares on it."""

    name: CriterionName
    verdict: Verdict
    detail: str


@dataclass(frozen=True, slots=True)
class ProfileMatch:
    criteria: tuple[Criterion, ...]
    disqualified_by: tuple[str, ...]

    def _with(self, verdict: Verdict) -> list[Criterion]:
        return [c for c in self.criteria if c.verdict == verdict]

    @property
    def met(self) -> list[str]:
        return [f"{c.name} ({c.detail})" for c in self._with("met")]

    @property
    def missed(self) -> list[str]:
        return [f"{c.name} ({c.detail})" for c in self._with("missed")]

    @property
    def unknown(self) -> list[str]:
        return [c.name for c in self._with("unknown")]

    def describe(self) -> str:
        """One line naming what the lead meets, misses and leaves unknown."""
        parts = [
            f"Meets: {', '.join(self.met) or 'none of the profile'}.",
            f"Misses: {', '.join(self.missed) or 'nothing'}.",
        ]
        if self.unknown:
            parts.append(f"Unknown: {', '.join(self.unknown)}.")
        return " ".join(parts)


def match_profile(lead: LeadSnapshot, icp: ICPSettings) -> ProfileMatch:
    """Which parts of `icp` the lead meets, misses, or cannot be judged on."""
    hits = _disqualifiers_found(lead, icp.disqualifiers)
    criteria = (
        _industry(lead.industry, icp.target_industries),
        _size(lead.employees, icp.employee_min, icp.employee_max),
        _region(lead.region, icp.regions),
        _buyer_title(lead.contact_title, icp.buyer_titles),
        Criterion(
            "disqualifiers",
            "missed" if hits else "met",
            f"found {', '.join(repr(h) for h in hits)}" if hits else "none found",
        ),
    )
    return ProfileMatch(criteria=criteria, disqualified_by=hits)


def icp_origin() -> str:
    """Where the profile in force comes from: the config file's `[icp]`, or the default."""
    import tomllib

    from salesctl.config import config_path

    path = config_path()
    try:
        with path.open("rb") as handle:
            configured = "icp" in tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        configured = False
    return f"[icp] in {path}" if configured else "default: no [icp] in the config file"


def tier_for(score: int, icp: ICPSettings) -> LeadTier:
    """The tier a score earns under the profile's thresholds."""
    if score >= icp.hot_threshold:
        return "hot"
    if score >= icp.warm_threshold:
        return "warm"
    return "cold"


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _FILLER_WORDS]


def _contains_phrase(text: str, phrase: str) -> bool:
    words, wanted = _words(text), _words(phrase)
    if not wanted:
        return False
    return any(words[i : i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))


def _industry(industry: str | None, targets: list[str]) -> Criterion:
    if not industry:
        return Criterion("industry", "unknown", "not recorded")
    for target in targets:
        if _contains_phrase(industry, target):
            return Criterion("industry", "met", industry)
    return Criterion("industry", "missed", f"{industry} is not a target industry")


def _size(employees: int | None, low: int, high: int) -> Criterion:
    if employees is None:
        return Criterion("size", "unknown", "employee count not recorded")
    if low <= employees <= high:
        return Criterion("size", "met", f"{employees} employees, target {low}–{high}")
    return Criterion("size", "missed", f"{employees} employees, target {low}–{high}")


def _region(region: str | None, regions: list[str]) -> Criterion:
    if not region:
        return Criterion("region", "unknown", "not recorded")
    for wanted in regions:
        names = (wanted, *REGION_COUNTRIES.get(wanted.lower(), ()))
        if any(_contains_phrase(region, name) for name in names):
            return Criterion("region", "met", region)
    return Criterion("region", "missed", f"{region} is outside {', '.join(regions)}")


def _buyer_title(title: str | None, buyer_titles: list[str]) -> Criterion:
    if not title:
        return Criterion("buyer title", "unknown", "contact title not recorded")
    have = set(_words(title))
    for wanted in buyer_titles:
        if set(_words(wanted)) <= have:
            return Criterion("buyer title", "met", title)
    return Criterion("buyer title", "missed", f"{title} is not a target buyer")


def _disqualifiers_found(lead: LeadSnapshot, disqualifiers: list[str]) -> tuple[str, ...]:
    text = " ".join(
        part for part in (lead.company_name, lead.contact_title, lead.industry, lead.notes) if part
    )
    return tuple(d for d in disqualifiers if _contains_phrase(text, d))
