"""Mask personal data and secrets in prompt and completion text before it is stored.

Used when `store_prompts = "redacted"`: emails, phone numbers and anything shaped like an API
key or bearer token are replaced by a tag naming what was there, so stored text stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# Provider key shapes (sk-…, sk-ant-…, csk-…, AIza…, gsk_…, ghp_…, xox…-…, AKIA…), bearer tokens,
# JWTs and long opaque tokens that mix letters and digits.
SECRET = re.compile(
    r"""
    \b(?:sk|csk|pk|rk|gsk|ghp|gho|ghs|ghu|glpat|xox[abposr])[-_][A-Za-z0-9_\-]{8,}
    | \bAIza[0-9A-Za-z_\-]{20,}
    | \bAKIA[0-9A-Z]{16}\b
    | \beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}
    | (?<=[Bb]earer\s)[A-Za-z0-9._~+/\-]{12,}=*
    | \b(?=[A-Za-z0-9_\-]{32,}\b)(?=[A-Za-z_\-]*[0-9])(?=[0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{32,}\b
    """,
    re.VERBOSE,
)

# International (+44 20 7946 0958), North American ((415) 555-0132, 415.555.0132) and plain
# grouped numbers of 9 to 15 digits; dates and short numbers (scores, counts) are left alone.
PHONE = re.compile(
    r"""
    (?<![\w+])
    (?:\+\d{1,3}[\s.\-]?)?
    (?:\(\d{1,4}\)[\s.\-]?)?
    \d{2,4}(?:[\s.\-]\d{2,4}){1,4}
    (?!\w)
    """,
    re.VERBOSE,
)
DIGITS = re.compile(r"\d")
DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def _mask_phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = len(DIGITS.findall(candidate))
    if digits < 9 or digits > 15 or DATE_LIKE.match(candidate):
        return candidate
    return "[phone]"


def redact(text: str | None) -> str | None:
    """`text` with emails, phone numbers and key-like secrets replaced by `[email]` etc."""
    if not text:
        return text
    text = SECRET.sub("[secret]", text)
    text = EMAIL.sub("[email]", text)
    return PHONE.sub(_mask_phone, text)


def text_policy(mode: str) -> Callable[[str | None], str | None]:
    """What `store_prompts = mode` keeps of a text: all of it (`full`), a `redact()`ed copy
    (`redacted`) or nothing (`none`). One policy for every place text is stored."""
    if mode == "none":
        return lambda _text: None
    if mode == "redacted":
        return redact
    return lambda text: text
