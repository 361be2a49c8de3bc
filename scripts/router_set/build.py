"""Build the router's labelled set: salesctl/llm/router/data/{train,heldout}.jsonl.

    python scripts/router_set/build.py [--check]

Sources: hand-written prompts (hand.py), slot-filled templates (templates.py), long requests
with pasted context, and variants of hand-written prompts as people type them (typos, terse,
polite, a preamble). Everything is seeded, so the output is the same on every run.

The split is by group: a hand-written prompt and its variants form one group, and so do all
the prompts of one template, so nothing in the held-out part is a near copy of a training
example. A quarter of each agent x tier's groups is held out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import hand
import templates

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "salesctl" / "llm" / "router" / "data"
SEED = 20261207
HELD_OUT_EVERY = 4
AGENTS = ("sr_bdr", "pipeline_manager", "customer_success")
TIERS = ("simple", "medium", "complex")

NEIGHBOURS = {
    "a": "qs",
    "e": "wr",
    "i": "uo",
    "o": "ip",
    "n": "bm",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "l": "k",
    "d": "sf",
    "c": "xv",
    "m": "n",
    "u": "yi",
    "p": "o",
    "h": "gj",
    "g": "fh",
}
PREFIXES = [
    "hey, ",
    "Hi! ",
    "quick one: ",
    "morning! ",
    "when you get a sec, ",
    "sorry to bug you, ",
    "hey there - ",
    "Hello, ",
    "ok so ",
    "one more: ",
]
SUFFIXES = [" thanks!", " thx", " please", " ty", ", thanks in advance", " pls", "?? thanks"]
PREAMBLES = [
    "I'm prepping for my 2pm. ",
    "My manager just asked me this. ",
    "For the pipeline meeting: ",
    "Before my next call - ",
    "Back from lunch, ",
    "Need this for the weekly sync: ",
    "Context: I'm new on this account. ",
]

PASTED_BLOCKS = [
    (
        "sr_bdr",
        """Hi Jordan,

Thanks for the demo on Tuesday. The team liked the pipeline view but we have some concerns
about the migration from our current CRM and the time it would take our reps to learn a new
tool. Our budget for this year is mostly committed, but there may be room in Q3.

Best,
Hannah Klein, CRO, Initech""",
    ),
    (
        "sr_bdr",
        """call notes - Vandelay - 20 min
* spoke w/ Olu (VP ops) + someone from finance
* currently on spreadsheets, 25 reps
* biggest pain: forecast is always late
* asked abt pricing for 30 seats, annual
* wants to see a logistics reference
* next: send pricing + reference by fri""",
    ),
    (
        "pipeline_manager",
        """Deal: Stark Industries - platform expansion
Amount: 300,000  Stage: negotiation  Close: Mar 28
Champion: Tom Reyes (left the company last week)
Economic buyer: CFO (never met)
Competitor: shortlisted, 30% cheaper
Legal: MSA redlines on liability, pending 2 weeks
Last activity: 9 days ago""",
    ),
    (
        "pipeline_manager",
        """From the forecast sheet:
Globex   120k  commit     close 3/15  note: CFO sign-off pending
Hooli    250k  best case  close 3/31  note: budget freeze
Initech   84k  commit     close 3/20  note: legal stuck on DPA
Umbrella  60k  pipeline   close 4/10  note: champion quiet""",
    ),
    (
        "customer_success",
        """Ticket #4411 (Umbrella) - opened 21 days ago
Customer: "SSO keeps failing for users in the EU tenant. We were told at signing this would
work out of the box. Our IT director is now asking whether we should keep the contract."
Status: engineering investigating, no ETA""",
    ),
    (
        "customer_success",
        """QBR notes - Wonka - Feb 14
Attendees: Fatima (sponsor), Lars (admin), our CSM Dana
- usage up 18% QoQ, reporting module most used
- 2 teams not onboarded yet (finance, ops)
- asked about API limits and a sandbox
- renewal in June, no pricing discussion yet""",
    ),
]

PASTED_BLOCKS += [
    (
        "sr_bdr",
        """From: Miguel Ortega <miguel@initech.example>
Subject: Re: pricing

Thanks. 30 seats is right for now, but we might grow to 50 by next year. Can you confirm
whether the price per seat drops at 50? Also, our security team will need your SOC 2 report
before we can sign anything.""",
    ),
    (
        "pipeline_manager",
        """Rep: So where are we on the order form?
Customer: Legal still has it. They flagged the auto-renewal clause.
Rep: Is that the only open point?
Customer: That and the payment terms, finance wants net-60.
Rep: And the timeline?
Customer: Honestly, I'd say end of month at the earliest.""",
    ),
    (
        "customer_success",
        """Usage report - TechCorp - last 30 days
Active users: 41 of 120 seats
Most used: dashboards (78%), exports (12%)
Teams with zero logins: finance, support
Support tickets: 6 (4 about permissions)""",
    ),
    (
        "customer_success",
        """Email from Aperture's sponsor:
"We're happy overall, but the team is asking why the mobile app still doesn't support
approvals. We were told it was on the roadmap for Q1. Our renewal is in May and I'll need to
explain this to our COO.\"""",
    ),
]

PASTED_ASKS = [
    ("simple", "log this as a note on lead {n}"),
    ("simple", "add this to the {company} notes please"),
    ("simple", "save this on the account record, no changes"),
    ("simple", "which company is this about?"),
    ("simple", "what date do they mention in here?"),
    ("medium", "summarize this in 3 bullets"),
    ("medium", "turn this into a short follow-up email"),
    ("medium", "reply to this politely"),
    ("medium", "translate this to {language}"),
    ("medium", "pull the action items out of this"),
    ("medium", "make this sound more professional"),
    ("complex", "given all this, what's our strategy and what do we do first?"),
    ("complex", "what's really going on here and how do we save it?"),
    ("complex", "based on this, should we push, discount or walk? walk me through the trade-offs"),
    ("complex", "build me a plan for the next 30 days from this"),
    ("simple", "attach this to lead {n}"),
    ("simple", "how many seats do they mention?"),
    ("simple", "just log it on deal {n}, thanks"),
    ("simple", "who is the sender?"),
    ("medium", "draft a reply"),
    ("medium", "rewrite this in plain English for my manager"),
    ("medium", "recap this in two sentences for the CRM"),
    ("medium", "what is the one thing they're asking for here?"),
    ("medium", "reword this to be friendlier"),
    ("complex", "what are the risks here and what's the plan to close this by month end?"),
    (
        "complex",
        "considering all of this, how should we respond, and what do we give up if we say yes?",
    ),
    ("complex", "tell me what this means for the renewal and what we should do about it"),
    ("complex", "should we escalate, offer something, or hold? think it through"),
]


def typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    for i in rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2)))):
        w = words[i]
        k = rng.randrange(1, len(w) - 1)
        kind = rng.choice(("swap", "drop", "double", "near"))
        if kind == "swap":
            w = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
        elif kind == "drop":
            w = w[:k] + w[k + 1 :]
        elif kind == "double":
            w = w[:k] + w[k] + w[k:]
        elif w[k].lower() in NEIGHBOURS:
            w = w[:k] + rng.choice(NEIGHBOURS[w[k].lower()]) + w[k + 1 :]
        words[i] = w
    return " ".join(words)


def terse(text: str, rng: random.Random) -> str:
    out = text.lower().rstrip("?.!")
    for long, short in (("please", "pls"), ("you", "u"), ("what is", "whats"), ("what's", "whats")):
        if rng.random() < 0.7:
            out = out.replace(long, short)
    return out


def polite(text: str, rng: random.Random) -> str:
    first = text[0].lower() + text[1:] if text[:2] != text[:2].upper() else text
    return rng.choice(PREFIXES) + first + (rng.choice(SUFFIXES) if rng.random() < 0.6 else "")


def preamble(text: str, rng: random.Random) -> str:
    return rng.choice(PREAMBLES) + text


VARIANTS = (typo, typo, terse, polite, preamble)


def fill(template: str, rng: random.Random) -> str:
    values = {k: rng.choice(v) for k, v in templates.SLOTS.items()}
    others = [c for c in templates.SLOTS["company"] if c != values["company"]]
    values["company2"], values["company3"] = rng.sample(others, 2)
    return template.format(
        n=rng.randint(2, 40),
        n2=rng.randint(8, 60),
        k=rng.choice((2, 3, 3, 5)),
        p1=rng.randint(20, 115),
        p2=rng.randint(5, 40),
        **values,
    )


def items() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    out: list[dict[str, str]] = []

    def add(prompt: str, label: str, agent: str, group: str, source: str) -> None:
        out.append(
            {"prompt": prompt, "label": label, "agent": agent, "group": group, "source": source}
        )

    for agent in AGENTS:
        for tier in TIERS:
            name = f"{'PIPELINE' if agent == 'pipeline_manager' else agent.upper()}_{tier.upper()}"
            name = name.replace("CUSTOMER_SUCCESS", "CS")
            lines = [line.strip() for line in getattr(hand, name).splitlines() if line.strip()]
            for number, prompt in enumerate(lines):
                group = f"hand:{agent}:{tier}:{number}"
                add(prompt, tier, agent, group, "hand")
                if rng.random() < 0.45:
                    variant = rng.choice(VARIANTS)
                    changed = variant(prompt, rng)
                    if changed != prompt:
                        add(changed, tier, agent, group, f"hand+{variant.__name__}")
    for number, (agent, tier, prompt) in enumerate(hand.PASTED):
        add(prompt, tier, agent, f"pasted:{number}", "pasted")
    for number, (agent, tier, template) in enumerate(templates.TEMPLATES):
        group = f"template:{number}"
        made: set[str] = set()
        for _ in range(3):
            prompt = fill(template, rng)
            if rng.random() < 0.3:
                prompt = typo(prompt, rng)
            if prompt not in made:
                made.add(prompt)
                add(prompt, tier, agent, group, "template")
    for number, (tier, ask) in enumerate(PASTED_ASKS):
        for agent, block in rng.sample(PASTED_BLOCKS, 2):
            request = fill(ask, rng)
            prompt = f"{block}\n\n{request}" if rng.random() < 0.7 else f"{request}:\n\n{block}"
            add(prompt, tier, agent, f"pasted-ask:{number}", "pasted-template")
    return out


def split(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A quarter of each agent x tier's groups held out, chosen by a hash of the group name."""
    groups: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        bucket = groups.setdefault((row["agent"], row["label"]), [])
        if row["group"] not in bucket:
            bucket.append(row["group"])
    held: set[str] = set()
    for names in groups.values():
        ordered = sorted(names, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        held.update(ordered[::HELD_OUT_EVERY])
    train = [r for r in rows if r["group"] not in held]
    heldout = [r for r in rows if r["group"] in held]
    return train, heldout


def dump(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    train, heldout = split(items())
    outputs = {OUT / "train.jsonl": dump(train), OUT / "heldout.jsonl": dump(heldout)}
    if args.check:
        stale = [p for p, text in outputs.items() if not p.is_file() or p.read_text() != text]
        for path in stale:
            print(f"{path} differs from the sources")
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
    print(f"train {len(train)}, held out {len(heldout)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
