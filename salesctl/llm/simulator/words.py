"""Word handling shared by the brain and the schema faker: keywords, proper nouns, matching."""

from __future__ import annotations

import re

_STOPWORDS_TEXT = (
    "a an and are as at be by can could do does for from get give has have how i in into is it "
    "its me my of on or our please show tell that the their them then there these this those to "
    "up us was we what when where which who why will with would you your all any about list "
    "find some just also more most other than very via"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def words_of(text: str) -> list[str]:
    """Lower-cased content words, roughly singularised, without stopwords."""
    out = []
    for raw in re.findall(r"[A-Za-z][A-Za-z0-9]*", split_identifier(text)):
        word = raw.lower()
        if word in STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def split_identifier(text: str) -> str:
    """`get_dealStatus` → `get deal Status`, so identifiers match ordinary words."""
    text = text.replace("_", " ").replace("-", " ")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)


_NOT_TOPICS_TEXT = (
    "should shall must might need want know think make help explain describe write draft "
    "summarise summarize follow hello hi hey thanks thank there here which whose whom "
    "answer question using based does doing done been being like look looks"
)
_NOT_TOPICS = frozenset(_NOT_TOPICS_TEXT.split())


def keywords(text: str, limit: int = 4) -> list[str]:
    """Notable words of the text: proper nouns first, then other content words, no repeats."""
    proper: list[str] = []
    common: list[str] = []
    for match in re.finditer(r"[A-Za-z][A-Za-z0-9'-]{2,}", text):
        word = match.group().strip("'-")
        lowered = word.lower()
        if lowered in STOPWORDS or lowered in _NOT_TOPICS or len(word) < 3:
            continue
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?:\n"
        bucket = proper if word[0].isupper() and not sentence_start else common
        if lowered not in {w.lower() for w in proper + common}:
            bucket.append(word if bucket is proper else lowered)
    return (proper + common)[:limit]


def proper_nouns(text: str) -> list[str]:
    """Capitalised words that do not start a sentence (company and people names, mostly)."""
    found = keywords(text, limit=8)
    return [w for w in found if w[:1].isupper()]


_NAME_RUN = re.compile(r"\b[A-Z][\w&'-]*(?:\s+(?:of\s+|&\s+)?[A-Z][\w&'-]*)*")


def names(text: str) -> list[str]:
    """Runs of capitalised words, as company and people names are written: `Vantage Cloud
    Security`, `Ledgerline` (a sentence's first word is not a name on its own)."""
    found: list[str] = []
    for match in _NAME_RUN.finditer(text):
        words = match.group().split()
        before = text[: match.start()].rstrip()
        if not before or before[-1] in ".!?:\n":
            words = words[1:]
        phrase = " ".join(words)
        if phrase and phrase.lower() not in STOPWORDS and len(phrase) > 2 and phrase not in found:
            found.append(phrase)
    return found
