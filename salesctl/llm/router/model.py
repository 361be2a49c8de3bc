"""The learned router's model: a multinomial logistic regression over `features`, loaded
lazily from a small JSON artifact, and the decision rule that turns its probabilities into a
tier.

The rule leans towards the stronger tier (a wrong cheap answer costs a rep more than a few
cents): a request goes to a tier when the chance that it needs at least that tier reaches
`0.5 - margin` (`router.margin` in the settings). With margin 0 that is the median tier.
"""

from __future__ import annotations

import heapq
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesctl.errors import ConfigError
from salesctl.llm.router.features import describe, features
from salesctl.vocabulary import COMPLEXITIES

if TYPE_CHECKING:
    from salesctl.config import RouterSettings
    from salesctl.vocabulary import Complexity

TIERS = COMPLEXITIES
"""The router's tiers, cheapest first: the order of its probabilities."""
FORMAT = "salesctl-router/1"
DATA_DIR = Path(__file__).parent / "data"
SHIPPED_MODEL = DATA_DIR / "model.json"
TUNED_DIR = "router"
"""Where `router tune` keeps its artifacts, under the data directory."""
ACTIVE_FILE = "ACTIVE"
"""The file (in the tuned directory) naming the artifact the router uses instead of the
shipped one."""


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature of a request and how much it pushed towards the chosen tier."""

    name: str
    description: str
    weight: float


@dataclass(frozen=True, slots=True)
class Prediction:
    complexity: Complexity
    probabilities: dict[str, float]
    top_features: list[Feature]


class RouterModel:
    """A trained artifact: per-feature weights for each tier."""

    def __init__(self, artifact: dict[str, Any], path: Path | None = None) -> None:
        if artifact.get("format") != FORMAT or list(artifact.get("tiers", ())) != list(TIERS):
            raise ConfigError(
                f"{path or 'the router artifact'} is not a {FORMAT} artifact: run "
                "`salesctl router tune --reset` to use the shipped router"
            )
        self.version: str = artifact["version"]
        self.path = path
        self.meta = {k: v for k, v in artifact.items() if k != "weights"}
        self.weights: dict[str, list[float]] = artifact["weights"]

    @classmethod
    def load(cls, path: Path) -> RouterModel:
        try:
            artifact = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the router artifact {str(path)!r}: {exc}") from exc
        return cls(artifact, path)

    def _matched(self, vector: dict[str, float]) -> list[tuple[str, float, list[float]]]:
        """The request's features the model has weights for."""
        weights = self.weights
        return [(n, x, w) for n, x in vector.items() if (w := weights.get(n)) is not None]

    @staticmethod
    def _scores(matched: list[tuple[str, float, list[float]]]) -> tuple[float, float, float]:
        s0 = s1 = s2 = 0.0
        for _, x, w in matched:
            s0 += w[0] * x
            s1 += w[1] * x
            s2 += w[2] * x
        return s0, s1, s2

    def probabilities(self, text: str) -> tuple[float, float, float]:
        return softmax(self._scores(self._matched(features(text))))

    def predict(self, text: str, *, margin: float, explain: int = 0) -> Prediction:
        """The tier for `text`, its probabilities, and (when asked) the top features."""
        matched = self._matched(features(text))
        probs = softmax(self._scores(matched))
        tier = decide(probs, margin)
        top: list[Feature] = []
        if explain:
            top = self._top_features(matched, TIERS.index(tier), explain)
        return Prediction(
            complexity=tier,
            probabilities={t: round(p, 4) for t, p in zip(TIERS, probs, strict=True)},
            top_features=top,
        )

    @staticmethod
    def _top_features(
        matched: list[tuple[str, float, list[float]]], tier: int, count: int
    ) -> list[Feature]:
        """The features that pushed hardest towards `tier` rather than the other two: each
        one's weight for the tier less the mean of its other two weights, times its value."""
        pushes = []
        for name, x, w in matched:
            push = (1.5 * w[tier] - 0.5 * (w[0] + w[1] + w[2])) * x
            if push > 0 and name != "s:bias":
                pushes.append((push, name))
        return [
            Feature(name=name, description=describe(name), weight=round(push, 3))
            for push, name in heapq.nlargest(count, pushes)
        ]


def softmax(scores: tuple[float, float, float]) -> tuple[float, float, float]:
    top = max(scores)
    e0, e1, e2 = (math.exp(s - top) for s in scores)
    total = e0 + e1 + e2
    return e0 / total, e1 / total, e2 / total


def decide(probabilities: tuple[float, float, float], margin: float) -> Complexity:
    """The strongest tier whose chance of being needed (it or stronger) reaches 0.5 - margin."""
    threshold = 0.5 - margin
    if probabilities[2] >= threshold:
        return "complex"
    if probabilities[1] + probabilities[2] >= threshold:
        return "medium"
    return "simple"


# --- which artifact is in force -----------------------------------------------------------

_loaded: dict[Path, tuple[int, RouterModel]] = {}


def tuned_dir(data_dir: Path) -> Path:
    return data_dir / TUNED_DIR


def active_path(router: RouterSettings) -> Path:
    """The artifact the router uses: `router.model_path` when set, else the one `router tune`
    made active in the data directory, else the shipped one."""
    if router.model_path is not None:
        return Path(router.model_path).expanduser()
    data_dir = router.data_dir
    if data_dir is not None:
        pointer = tuned_dir(data_dir) / ACTIVE_FILE
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except OSError:
            name = ""
        if name:
            return tuned_dir(data_dir) / name
    return SHIPPED_MODEL


def load_model(path: Path) -> RouterModel:
    """The artifact at `path`, loaded once per process (again if the file changes)."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ConfigError(
            f"the router artifact {str(path)!r} is missing: run `salesctl router tune --reset` "
            "or fix router.model_path"
        ) from exc
    cached = _loaded.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    model = RouterModel.load(path)
    _loaded[path] = (stamp, model)
    return model


def active_model(router: RouterSettings) -> RouterModel:
    return load_model(active_path(router))
