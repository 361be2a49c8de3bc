"""What the learned router reads in a request: words, word pairs, character n-grams and a few
structural signals, as a sparse feature vector.

A long request is read at its start and its end (where the ask usually is, around pasted
context); its length is a feature of its own. Character n-grams make a typo ("anaylze",
"folow up") land near the word it misspells. Every feature name says what it is, so
`router explain` can show the ones that decided:

    w:discount      a word              b:or walk       two words in a row
    c:strat         characters of a word (word edges marked "<" and ">")
    f:should        the first word      f2:should we    the first two words
    l:how           first word of the last sentence (the ask after pasted context)
    a:summarize     a word of the first or last paragraph of a request with pasted context
    s:words=10-19   a structural signal (length, questions, lines, lists, figures…)
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from itertools import pairwise

SCAN_HEAD = 600
SCAN_TAIL = 400
"""Characters read at the start and at the end of a long request."""
CHAR_NGRAMS = (3, 4, 5)

WORD = re.compile(r"[a-z0-9$%€£][a-z0-9'$%€£.\-]*[a-z0-9%]|[a-z0-9$%€£]")
PARAGRAPH = re.compile(r"\n\s*\n")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+", re.MULTILINE)
QUOTED = re.compile(r"[\"“”«»]|^>", re.MULTILINE)
FIGURE = re.compile(r"\d")

CUES = {
    # The kinds of ask the old keyword rules looked for, as features the model weighs (it
    # learns, for one, that "analysis" inside a lookup says little).
    "lookup": re.compile(
        r"^(?:\W*(?:hey|hi|ok|so|quick one|pls|please|can you|could you|can u)\W+)*"
        r"(?:show|list|find|get|pull|look|lookup|display|count|how many|how much|which|who|"
        r"when|where|what(?:'s| is| are| was)?|whats|is|are|did|does|do we|any)\b"
    ),
    "change": re.compile(
        r"^(?:\W*(?:hey|hi|ok|pls|please|can you|could you|can u)\W+)*"
        r"(?:move|mark|set|change|update|add|log|tag|tick|complete|push|put|rename|assign)\b"
    ),
    "draft": re.compile(
        r"\b(?:draft|write|wrte|rewrite|reword|rephrase|polish|translate|shorten|proofread|"
        r"summari[sz]e|sum up|recap|turn (?:these|this|the|my)|make (?:this|it|my)|"
        r"give me \d+|\d+ (?:options|versions|ways|ideas|subject lines)|explain)\b"
    ),
    "decide": re.compile(
        r"\b(?:should (?:we|i)\b.*\bor\b|or walk|or wait|or drop|or hold|what's (?:our|my) "
        r"play|what would it take|how do (?:i|we)\b|what do we do|walk me through|"
        r"which \w+ (?:should|do)|what should (?:we|i))"
    ),
    "analyse": re.compile(
        r"\b(?:analy[sz]|diagnos|prioriti[sz]|strateg|plan\b|planning|forecast|compare|"
        r"trade-?offs?|assess|evaluate|recommend|risks?\b|why\b)"
    ),
}

WORD_BUCKETS = ((4, "1-4"), (9, "5-9"), (19, "10-19"), (39, "20-39"), (79, "40-79"))
PUNCTUATION = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def scan_window(text: str) -> str:
    """The part of `text` that is read: all of it, or its head and its tail."""
    if len(text) <= SCAN_HEAD + SCAN_TAIL:
        return text
    return f"{text[:SCAN_HEAD]}\n{text[-SCAN_TAIL:]}"


def _token(word: str) -> str:
    """A word as a feature: figures collapse to their shape (deal 19 and deal 7 read alike)."""
    word = word.strip(".-'")
    if FIGURE.search(word):
        if word.startswith(("$", "€", "£")) or word.endswith("k"):
            return "<money>"
        if word.endswith("%"):
            return "<pct>"
        return "<num>" if word.isdigit() else "<code>"
    return word


def words_of(text: str) -> list[str]:
    """The request's words, lower-cased, with figures collapsed (see `_token`)."""
    return [t for t in (_token(w) for w in WORD.findall(text.lower())) if t]


@lru_cache(maxsize=8192)
def _char_grams(word: str) -> tuple[str, ...]:
    padded = f"<{word}>"
    grams: list[str] = []
    for n in CHAR_NGRAMS:
        grams.extend("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    return tuple(grams)


def _bucket(count: int) -> str:
    for top, name in WORD_BUCKETS:
        if count <= top:
            return name
    return "80+"


def ask_segments(text: str) -> list[str]:
    """Where the ask sits in a request with pasted context: its first and last paragraphs
    (or lines), when it has several; nothing when it is one block (all of it is the ask)."""
    parts = [p for p in PARAGRAPH.split(text.strip()) if p.strip()]
    if len(parts) < 2:
        parts = [p for p in text.strip().splitlines() if p.strip()]
    if len(parts) < 3:
        return []
    return [parts[0], parts[-1]]


@lru_cache(maxsize=64)
def structure(text: str) -> dict[str, int]:
    """Counts the router reports as signals (and reads as features, bucketed): words and lines
    of the whole request, the rest within the part that is read."""
    stripped = text.strip()
    window = scan_window(stripped)
    return {
        "words": len(stripped.split()),
        "questions": window.count("?"),
        "lines": stripped.count("\n") + 1 if stripped else 0,
        "list_items": len(LIST_ITEM.findall(window)),
        "quoted": len(QUOTED.findall(window)),
        "figures": len(re.findall(r"\d+", window)),
        "sentences": len([s for s in SENTENCE.split(window) if s.strip()]),
    }


def features(text: str) -> dict[str, float]:
    """The sparse feature vector of one request.

    Word, pair and character features are each scaled by one over the square root of their
    count, so a long request does not outweigh a short one by its vocabulary alone.
    """
    text = text.translate(PUNCTUATION)
    window = scan_window(text)
    tokens = words_of(window)
    vector: dict[str, float] = {}

    unique = list(dict.fromkeys(tokens))
    if unique:
        scale = 1 / math.sqrt(len(unique))
        for word in unique:
            vector["w:" + word] = scale
        pairs = list(dict.fromkeys(f"b:{a} {b}" for a, b in pairwise(tokens)))
        if pairs:
            scale = 1 / math.sqrt(len(pairs))
            for pair in pairs:
                vector[pair] = scale
        grams: dict[str, None] = {}
        for word in unique:
            if not word.startswith("<"):
                grams.update(dict.fromkeys(_char_grams(word)))
        if grams:
            scale = 1 / math.sqrt(len(grams))
            for gram in grams:
                vector[gram] = scale
        vector["f:" + tokens[0]] = 1.0
        if len(tokens) > 1:
            vector[f"f2:{tokens[0]} {tokens[1]}"] = 1.0

    for segment in ask_segments(window):
        for word in dict.fromkeys(words_of(segment)):
            vector["a:" + word] = 1.0

    sentences = [s for s in SENTENCE.split(window.strip()) if words_of(s)]
    if len(sentences) > 1:
        last = words_of(sentences[-1])
        vector["l:" + last[0]] = 1.0
        if len(last) > 1:
            vector[f"l2:{last[0]} {last[1]}"] = 1.0

    ask = window.lower()
    for name, pattern in CUES.items():
        if pattern.search(ask):
            vector["s:cue=" + name] = 1.0

    counts = structure(text)
    vector["s:words=" + _bucket(counts["words"])] = 1.0
    vector["s:questions=" + str(min(counts["questions"], 3))] = 1.0
    if counts["lines"] > 1:
        vector["s:lines=" + ("2-4" if counts["lines"] <= 4 else "5+")] = 1.0
    if counts["list_items"]:
        vector["s:list=" + ("1-2" if counts["list_items"] <= 2 else "3+")] = 1.0
    if counts["quoted"]:
        vector["s:quoted"] = 1.0
    if counts["sentences"] > 1:
        vector["s:sentences=" + ("2-3" if counts["sentences"] <= 3 else "4+")] = 1.0
    vector["s:bias"] = 1.0
    return vector


CUE_NAMES = {
    "lookup": "reads like a lookup",
    "change": "asks to change one field",
    "draft": "asks for a draft, rewrite or recap",
    "decide": "asks for a decision",
    "analyse": "analysis or strategy words",
}
SIGNAL_NAMES = {
    "words": "{} words",
    "questions": "{} question marks",
    "lines": "{} lines",
    "list": "{} list items",
    "sentences": "{} sentences",
}


def describe(feature: str) -> str:
    """A feature name for people: `w:discount` -> `word "discount"`."""
    kind, _, value = feature.partition(":")
    labels = {
        "w": "word",
        "b": "words",
        "c": "letters",
        "f": "starts with",
        "f2": "starts with",
        "l": "last sentence starts with",
        "l2": "last sentence starts with",
        "a": "the ask has",
    }
    if kind == "s":
        name, _, bucket = value.partition("=")
        if name == "cue":
            return CUE_NAMES.get(bucket, bucket)
        if name in SIGNAL_NAMES:
            return SIGNAL_NAMES[name].format(bucket)
        return {"quoted": "quotes pasted text"}.get(name, name)
    return f'{labels.get(kind, kind)} "{value}"'
