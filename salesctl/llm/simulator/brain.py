"""The simulator's answer "brain", shared by every wire format.

Each wire module parses its provider's request into a provider-neutral `ChatRequest`; the
brain decides what the model "says" (text, JSON or tool calls) and how many tokens it took.
Everything is derived from a hash of the request, so the same request always gets the same
answer and the same token counts.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from .prose import describe_result, first_label
from .schema_faker import SchemaFaker, property_schemas, resolve
from .words import keywords, names, words_of

FinishReason = Literal["stop", "length", "tool_calls"]

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens added per message (role markers), like OpenAI's chat format."""
REPLY_PRIMING_TOKENS = 3
"""Tokens added once per request for the assistant's reply header."""
IMAGE_TOKENS = 85
"""Flat price of one image part, whatever its size (real providers vary)."""


def count_tokens(text: str) -> int:
    """Deterministic token approximation: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4) if text else 0


def stable_hash(*parts: str) -> int:
    """A process-independent 64-bit hash (Python's `hash()` is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def new_id(prefix: str) -> str:
    """A response id that says it is simulated (`sim_`/`sim-` prefix)."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True, slots=True)
class Segment:
    """One cacheable unit of the prompt: a tool definition, a system block or a message block.

    `key` is a canonical serialisation, so equal units in equal positions hash equal and the
    prompt cache can recognise a repeated prefix.
    """

    key: str
    tokens: int
    cache_mark: bool = False
    """True where the request put a `cache_control` breakpoint (Anthropic)."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered by the request; `parameters` is its JSON Schema."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the simulated model makes."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's answer found at the end of the conversation."""

    name: str
    content: str


@dataclass(slots=True)
class ChatRequest:
    """A provider-neutral view of one request, built by the wire modules."""

    provider: str
    model: str
    segments: list[Segment]
    user_text: str = ""
    """Text of the last user message (the question being answered)."""
    tool_results: list[ToolResult] = field(default_factory=list)
    """Non-empty when the conversation ends with tool results rather than a user question."""
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str = "auto"
    """"auto", "none", "required", or the name of a forced tool."""
    schema: dict[str, Any] | None = None
    json_mode: bool = False
    max_tokens: int | None = None
    stream: bool = False
    thinking_budget: int = 0

    @property
    def prompt_tokens(self) -> int:
        """All prompt tokens (cached or not)."""
        return REPLY_PRIMING_TOKENS + sum(s.tokens for s in self.segments)

    @property
    def seed(self) -> int:
        """The request's hash: every "random" choice in the answer derives from it."""
        schema = json.dumps(self.schema, sort_keys=True) if self.schema else ""
        return stable_hash(*(s.key for s in self.segments), schema)


@dataclass(slots=True)
class Script:
    """A scripted answer that overrides the brain for one request."""

    text: str | None = None
    json: Any = None
    tool_calls: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class Answer:
    """What the simulated model says, with its output token count."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish: FinishReason = "stop"
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def text_chunks(self) -> list[str]:
        """The text split the way it is streamed: a few words per chunk."""
        return split_chunks(self.text)


def split_chunks(text: str, words_per_chunk: int = 3) -> list[str]:
    """Split text into stream deltas; JSON falls back to fixed-width pieces."""
    if not text:
        return []
    if text.lstrip().startswith(("{", "[")):
        return [text[i : i + 24] for i in range(0, len(text), 24)]
    words = re.split(r"(?<=\s)(?=\S)", text)
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]


def tool_call_tokens(call: ToolCall) -> int:
    """Output tokens of one tool call: its name, its arguments and a little framing."""
    return 3 + count_tokens(call.name) + count_tokens(json.dumps(call.arguments))


# --- answers --------------------------------------------------------------------------------

_OPENERS = (
    "Here is a short take on {a}.",
    "Looking at {a}, a few points stand out.",
    "Good question about {a}.",
    "Based on what you shared about {a}, here is my view.",
)
_MIDDLES = (
    "The strongest signal is {b}, which suggests real interest worth a prompt follow-up.",
    "I would prioritise {b} this week and confirm the decision maker before sending pricing.",
    "Keep the next message brief, reference {b}, and propose two concrete meeting times.",
    "{B} looks like the main lever; tie it to a measurable outcome for the buyer.",
)
_CLOSERS = (
    "Revisit {c} after the next touchpoint and update the pipeline stage accordingly.",
    "If {c} stalls, offer a short call to unblock it rather than another email.",
    "Log the outcome against {c} so the team can track progress.",
    "Overall the outlook is positive, provided {c} stays on track.",
)


def prose_answer(req: ChatRequest) -> str:
    """A short, plausible, deterministic answer built around the question's keywords."""
    rng = random.Random(req.seed)
    kws = [*names(req.user_text), *keywords(req.user_text)]
    kws = list(dict.fromkeys(k for k in kws if not any(k in n and k != n for n in kws)))
    kws = kws or ["your request", "the account", "next steps"]
    a, b, c = (kws * 3)[:3]
    parts = [rng.choice(_OPENERS), rng.choice(_MIDDLES), rng.choice(_CLOSERS)]
    return " ".join(parts).format(a=a, b=b, B=b[:1].upper() + b[1:], c=c)


_ADVICE_WORDS = re.compile(
    r"\b(recommend|strategy|plan|compare|analy[sz]e|should|draft|how (?:do|to|can)|suggest)",
    re.IGNORECASE,
)
_ADVICE = (
    "I would start with {label}: confirm the decision maker and the budget this week, then "
    "propose two concrete meeting times.",
    "Prioritise {label}: address the open concern first (price or security), then ask for a "
    "date for the decision.",
    "Focus on {label} next: send a short recap of what was agreed and one clear next step.",
)


def tool_summary(req: ChatRequest) -> str:
    """A prose answer from the tool results (never their JSON, never the data notice), with
    a recommendation when the question asks for one."""
    lines: list[str] = []
    for result in req.tool_results:
        lines.extend(describe_result(result.name, result.content))
    if _ADVICE_WORDS.search(req.user_text):
        label = next(
            (found for r in req.tool_results if (found := first_label(r.content))),
            "the strongest opportunity",
        )
        lines.append(random.Random(req.seed).choice(_ADVICE).format(label=label))
    return "\n".join(lines)


def answer(req: ChatRequest, script: Script | None = None, wrong_content: bool = False) -> Answer:
    """Decide what the model says for this request."""
    if script is not None:
        return _scripted(req, script)
    faker = SchemaFaker(seed=req.seed, context=req.user_text or _results_text(req))
    call = choose_tool(req)
    if call is not None:
        if wrong_content:
            call = ToolCall(call.id, call.name, {"unexpected_argument": "???"})
        return _finish(req, Answer(tool_calls=[call], finish="tool_calls"))
    if req.schema is not None:
        value = wrong_value(req.schema) if wrong_content else faker.value(req.schema)
        return _finish(req, Answer(text=json.dumps(value)))
    if req.json_mode or wrong_content:
        value = (
            {"unexpected": "value"}
            if wrong_content
            else {"answer": prose_answer(req), "keywords": keywords(req.user_text)}
        )
        return _finish(req, Answer(text=json.dumps(value)))
    if req.tool_results:
        return _finish(req, Answer(text=tool_summary(req)))
    return _finish(req, Answer(text=prose_answer(req)))


def _results_text(req: ChatRequest) -> str:
    return " ".join(r.content for r in req.tool_results)


def _scripted(req: ChatRequest, script: Script) -> Answer:
    if script.tool_calls:
        calls = [
            ToolCall(new_id("sim_call_"), c["name"], dict(c.get("arguments") or {}))
            for c in script.tool_calls
        ]
        return _finish(req, Answer(tool_calls=calls, finish="tool_calls"))
    if script.json is not None:
        return _finish(req, Answer(text=json.dumps(script.json)))
    return _finish(req, Answer(text=script.text or ""))


def _finish(req: ChatRequest, ans: Answer) -> Answer:
    """Count output tokens and honour max_tokens (truncate, finish reason "length")."""
    text_tokens = count_tokens(ans.text)
    if req.max_tokens is not None and text_tokens > req.max_tokens:
        ans.text = ans.text[: max(req.max_tokens, 0) * 4]
        ans.finish = "length"
        text_tokens = count_tokens(ans.text)
    ans.output_tokens = text_tokens + sum(tool_call_tokens(c) for c in ans.tool_calls)
    if req.thinking_budget > 0:
        ans.reasoning_tokens = min(req.thinking_budget, 32 + req.seed % 96)
    return ans


def wrong_value(schema: dict[str, Any]) -> Any:
    """Valid JSON that does not fit the schema: required fields missing, wrong types."""
    root = resolve(schema, schema)
    if root.get("type") == "array" or "items" in root:
        return {"unexpected": "an object where a list was expected"}
    if root.get("type") not in (None, "object") and "properties" not in root:
        return {"unexpected": "an object where a scalar was expected"}
    out: dict[str, Any] = {"unexpected_field": True}
    required = list(root.get("required") or [])
    for name, sub in list(property_schemas(root, schema).items())[1:]:
        kind = sub.get("type")
        out[name] = "not-a-number" if kind in ("integer", "number") else 12345
    for name in required[:1]:
        out.pop(name, None)
    return out


# --- tools ------------------------------------------------------------------------------------


def choose_tool(req: ChatRequest) -> ToolCall | None:
    """The tool call the model makes, or None to answer in text.

    Forced and "required" tool choices always call. With "auto", the model calls the best
    matching tool for a user question, and answers in text after a tool result (one round).
    """
    if not req.tools or req.tool_choice == "none":
        return None
    by_name = {t.name: t for t in req.tools}
    if req.tool_choice in by_name:
        return make_call(by_name[req.tool_choice], req, fill_all=True)
    if req.tool_results and req.tool_choice != "required":
        return None
    scored = [(tool_score(t, req.user_text), -i, t) for i, t in enumerate(req.tools)]
    score, _, best = max(scored, key=lambda s: (s[0], s[1]))
    if score == 0 and req.tool_choice != "required":
        return None
    return make_call(best, req, fill_all=False)


def tool_score(tool: ToolSpec, text: str) -> int:
    """Word overlap between the question and the tool's name (double weight), description
    and parameter names; a question naming a company favours tools that take one."""
    asked = {_SYNONYMS.get(w, w) for w in words_of(text)}
    name_words = set(words_of(tool.name))
    desc_words = set(words_of(tool.description))
    params = (tool.parameters or {}).get("properties") or {}
    param_words = {w for p in params if not p.endswith("id") for w in words_of(p)}
    score = 2 * len(asked & name_words) + len(asked & desc_words) + len(asked & param_words)
    if names(text) and param_words & _NAME_PARAMS:
        score += 1
    return score


_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)(?![\w.]*[A-Za-z])")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_COUNT_WORDS = {"top", "first", "limit", "last", "max", "maximum", "latest", "recent"}
_COUNT_PARAMS = {"limit", "top", "count", "n", "k", "max", "size", "number"}
_TEXT_PARAMS = {"query", "q", "search", "text", "question", "keyword", "keywords", "term", "prompt"}
_SYNONYMS = {"hottest": "top", "best": "top", "highest": "top", "biggest": "top"}
_NOTE_PARAMS = {"note", "notes", "comment", "message", "body", "content"}
_NAME_PARAMS = {"company", "account", "organization", "organisation"}
_NOTE_ASKED = re.compile(r"\b(note|notes|log|record|jot|remember|write down)\b", re.I)
_SAYING = re.compile(r"\b(?:saying|that says|which says|reading|to say)\b\s*[:,]?\s*", re.I)


@dataclass(slots=True)
class _Mention:
    value: float
    before: str
    after: str
    used: bool = False


def make_call(tool: ToolSpec, req: ChatRequest, *, fill_all: bool) -> ToolCall:
    """A call to `tool` whose arguments come from the question where possible."""
    schema = tool.parameters or {"type": "object", "properties": {}}
    faker = SchemaFaker(seed=stable_hash(str(req.seed), tool.name), context=req.user_text)
    text = _spoken(req.user_text)
    numbers = _mentions(text)
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
    required = set(resolve(schema, schema).get("required") or [])
    args: dict[str, Any] = {}
    for name, sub in property_schemas(resolve(schema, schema), schema).items():
        value = _argument_from_text(name, sub, text, numbers, quoted)
        if value is None and (fill_all or name in required):
            value = faker.value(sub, name=name, root=schema)
        if value is not None:
            args[name] = value
    return ToolCall(new_id("sim_call_"), tool.name, args)


def _spoken(text: str) -> str:
    """The words of a request, without the data it carries: tagged blocks and JSON lines
    are what the prompt analyses, not what the user asked (their quotes and numbers are
    no arguments)."""
    text = re.sub(r"<([a-z_]+)>.*?</\1>", " ", text, flags=re.DOTALL)
    lines = [
        line for line in text.splitlines() if line.strip()[:1] not in ("{", "[", '"', "}", "]")
    ]
    return "\n".join(lines)


_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip


def _mentions(text: str) -> list[_Mention]:
    out = []
    spelled = "|".join(_NUMBER_WORDS)
    for m in re.finditer(rf"{_NUMBER.pattern}|\b({spelled})\b", text, re.IGNORECASE):
        before = re.findall(r"[A-Za-z]+", text[: m.start()])
        after = re.findall(r"[A-Za-z]+", text[m.end() :])
        digits = m.group(1)
        out.append(
            _Mention(
                value=float(digits) if digits else float(_NUMBER_WORDS[m.group(2).lower()]),
                before=(before[-1].lower() if before else ""),
                after=(after[0].lower() if after else ""),
            )
        )
    return out


def _argument_from_text(
    name: str, schema: dict[str, Any], text: str, numbers: list[_Mention], quoted: list[str]
) -> Any:
    """A value for one parameter found in the user's words, or None."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    name_words = set(words_of(name))
    if "enum" in schema:
        lowered = text.lower()
        return next((v for v in schema["enum"] if str(v).lower() in lowered), None)
    if kind in ("integer", "number"):
        mention = _pick_number(name_words, numbers)
        if mention is None:
            return None
        if "id" in name_words and not (
            {_singular(mention.before), _singular(mention.after)} & (name_words - {"id"})
            or mention.before in {"id", "no", "number"}
        ):
            return None  # "a 90-day plan" names no record 90
        mention.used = True
        value = mention.value
        return int(value) if kind == "integer" else value
    if kind == "string":
        if "email" in name_words and (m := _EMAIL.search(text)):
            return m.group(0)
        if quoted:
            return quoted.pop(0)
        if name_words & _NOTE_PARAMS and _NOTE_ASKED.search(text):
            return _note_from(text)
        if name_words & _NAME_PARAMS and (found := names(text)):
            return found[0]
        if name_words & _TEXT_PARAMS and text.strip():
            return " ".join(text.split())[:200]
    return None


def _note_from(text: str) -> str:
    """The words the user wants written down: after "saying", else after a colon."""
    said = _SAYING.split(text, maxsplit=1)
    if len(said) == 2 and said[1].strip():
        return said[1].strip()
    _, colon, rest = text.partition(":")
    if colon and rest.strip():
        return rest.strip()
    return " ".join(text.split())


def _pick_number(name_words: set[str], numbers: list[_Mention]) -> _Mention | None:
    free = [n for n in numbers if not n.used]
    for n in free:  # "deal 1" → deal_id=1
        if {_singular(n.before), _singular(n.after)} & name_words:
            return n
    if name_words & _COUNT_PARAMS:  # "top 3 leads" → limit=3
        for n in free:
            if n.before in _COUNT_WORDS:
                return n
    return free[0] if free else None


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
