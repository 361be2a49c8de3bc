"""Train the learned router: multinomial logistic regression, pure Python, deterministic.

    python -m salesctl.llm.router.train [--data DIR] [--out FILE] [--check]

trains on the shipped set's train part (`data/train.jsonl`) and writes `data/model.json`;
`--check` only reports whether the shipped artifact is what training produces. The same
examples always give the same bytes: examples are visited in an order fixed by a seeded
generator, weights are rounded before they are written, and the JSON is canonical.

Optimisation is AdaGrad on the cross-entropy with an L2 penalty, classes weighted so each tier
counts alike, and each example's own weight (the team's evidence counts more in `router tune`).
Features seen in fewer than `min_count` examples are dropped: they would only memorise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from salesctl.llm.router.dataset import Example, read_labelled
from salesctl.llm.router.features import features
from salesctl.llm.router.model import DATA_DIR, FORMAT, SHIPPED_MODEL, TIERS

DECIMALS = 4


@dataclass(frozen=True, slots=True)
class TrainParams:
    epochs: int = 20
    learning_rate: float = 0.3
    l2: float = 1e-4
    min_count: int = 2
    seed: int = 20261207


def train(
    examples: Sequence[Example], *, name: str = "shipped", params: TrainParams | None = None
) -> dict[str, Any]:
    """The artifact (a JSON-ready dict) trained on `examples`."""
    params = params or TrainParams()
    if not examples:
        raise ValueError("no examples to train on")
    vectors = [features(e.prompt) for e in examples]
    seen: Counter[str] = Counter()
    for vector in vectors:
        seen.update(vector.keys())
    names = sorted(f for f, n in seen.items() if n >= params.min_count or f.startswith("s:"))
    index = {f: i for i, f in enumerate(names)}
    rows = [
        ([index[f] for f in v if f in index], [x for f, x in v.items() if f in index])
        for v in vectors
    ]
    labels = [TIERS.index(e.label) for e in examples]
    per_class = Counter(labels)
    class_weight = [len(labels) / (3 * per_class[k]) if per_class[k] else 0.0 for k in range(3)]
    sample_weight = [e.weight * class_weight[y] for e, y in zip(examples, labels, strict=True)]

    w = [[0.0, 0.0, 0.0] for _ in names]
    g = [[1e-8, 1e-8, 1e-8] for _ in names]
    rate, l2 = params.learning_rate, params.l2
    order = list(range(len(examples)))
    rng = random.Random(params.seed)
    for _ in range(params.epochs):
        rng.shuffle(order)
        for i in order:
            ids, xs = rows[i]
            s = [0.0, 0.0, 0.0]
            for j, x in zip(ids, xs, strict=True):
                wj = w[j]
                s[0] += wj[0] * x
                s[1] += wj[1] * x
                s[2] += wj[2] * x
            top = max(s)
            e = [math.exp(v - top) for v in s]
            total = e[0] + e[1] + e[2]
            y, sw = labels[i], sample_weight[i]
            e0 = (e[0] / total - (y == 0)) * sw
            e1 = (e[1] / total - (y == 1)) * sw
            e2 = (e[2] / total - (y == 2)) * sw
            for j, x in zip(ids, xs, strict=True):
                wj, gj = w[j], g[j]
                g0 = e0 * x + l2 * wj[0]
                g1 = e1 * x + l2 * wj[1]
                g2 = e2 * x + l2 * wj[2]
                gj[0] += g0 * g0
                gj[1] += g1 * g1
                gj[2] += g2 * g2
                wj[0] -= rate * g0 / math.sqrt(gj[0])
                wj[1] -= rate * g1 / math.sqrt(gj[1])
                wj[2] -= rate * g2 / math.sqrt(gj[2])

    weights = {
        f: [round(v, DECIMALS) + 0.0 for v in wf]
        for f, wf in zip(names, w, strict=True)
        if any(round(v, DECIMALS) for v in wf)
    }
    body = {
        "format": FORMAT,
        "tiers": list(TIERS),
        "trained_on": {
            "examples": len(examples),
            "by_tier": {t: per_class[k] for k, t in enumerate(TIERS)},
            "sha256": examples_digest(examples),
        },
        "params": asdict(params),
        "weights": weights,
    }
    digest = hashlib.sha256(canonical(body)).hexdigest()[:12]
    return {"version": f"{name}-{digest}", **body}


def examples_digest(examples: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps([e.prompt, e.label, e.weight]).encode())
    return h.hexdigest()


def canonical(artifact: dict[str, Any]) -> bytes:
    """The artifact's bytes: sorted keys, one feature per line (readable diffs)."""
    head = {k: v for k, v in artifact.items() if k != "weights"}
    lines = [json.dumps(head, sort_keys=True, ensure_ascii=False)[:-1] + ', "weights": {']
    items = sorted(artifact.get("weights", {}).items())
    for n, (name, weights) in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        lines.append(f"{json.dumps(name, ensure_ascii=False)}: {json.dumps(weights)}{comma}")
    lines.append("}}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def shipped_examples() -> list[Example]:
    return read_labelled(DATA_DIR / "train.jsonl")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m salesctl.llm.router.train", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, default=DATA_DIR / "train.jsonl")
    parser.add_argument("--out", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = parser.parse_args(argv)
    artifact = train(read_labelled(args.data))
    data = canonical(artifact)
    if args.check:
        same = args.out.is_file() and args.out.read_bytes() == data
        print(f"{args.out}: {'up to date' if same else 'differs from training'}")
        return 0 if same else 1
    args.out.write_bytes(data)
    print(f"{args.out}: {artifact['version']}, {len(artifact['weights'])} features")
    return 0


if __name__ == "__main__":
    sys.exit(main())
