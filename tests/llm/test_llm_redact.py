"""`store_prompts = "redacted"`: personal data and secrets masked, the rest left readable."""

from __future__ import annotations

import pytest

from salesctl.llm.redact import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Email dana.ruiz@acme-corp.example today", "Email [email] today"),
        ("call +44 20 7946 0958 or (415) 555-0132", "call [phone] or [phone]"),
        ("her cell is 415.555.0132.", "her cell is [phone]."),
        ("key sk-ant-api03-AbCdEfGh12345678 leaked", "key [secret] leaked"),
        ("use csk-9a2f8b7c6d5e4f3a2b1c and go", "use [secret] and go"),
        ("google AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv", "google [secret]"),
        ("Authorization: Bearer abc.def-ghi_jkl123456", "Authorization: Bearer [secret]"),
        ("token 3f9a1c2b4d5e6f708192a3b4c5d6e7f8091a2b3c", "token [secret]"),
    ],
)
def test_masks_personal_data_and_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Qualify TechCorp Inc (250 employees, founded 2015) for a $120,000 deal",
        "Meeting on 2025-01-15 at 10:30, score 87/100, 12.5% growth",
        "Lead 123 moved to proposal stage",
        "The deal closes in Q3 2025",
    ],
)
def test_leaves_business_facts_alone(text: str) -> None:
    assert redact(text) == text


def test_empty_and_none_pass_through() -> None:
    assert redact("") == ""
    assert redact(None) is None
