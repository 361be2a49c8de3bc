"""Labelled prompts: the shipped set and a team's own files.

A labelled file is JSON lines, one `{"prompt": "…", "label": "simple" | "medium" |
"complex"}` per line; other keys are kept (the shipped set adds `agent`, `group`, `source`).
The shipped set's rubric and how it was made are in docs/cost-tracking-guide.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesctl.errors import InvalidInput
from salesctl.vocabulary import COMPLEXITIES


@dataclass(frozen=True, slots=True)
class Example:
    prompt: str
    label: str
    weight: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def parse_labelled(lines: list[str], where: str) -> list[Example]:
    """Examples from JSON lines; a bad line is one error naming `where` and the line."""
    examples: list[Example] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{where}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise InvalidInput(f"{where}:{number}: expected an object with prompt and label")
        prompt, label = item.get("prompt"), item.get("label")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidInput(f"{where}:{number}: 'prompt' must be non-empty text")
        if label not in COMPLEXITIES:
            raise InvalidInput(
                f"{where}:{number}: 'label' is {label!r}; expected simple, medium or complex"
            )
        extra = {k: v for k, v in item.items() if k not in ("prompt", "label")}
        examples.append(Example(prompt=prompt, label=label, extra=extra))
    return examples


def read_labelled(path: Path) -> list[Example]:
    """The examples of a labelled JSON-lines file (one-line errors for a bad file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    examples = parse_labelled(text.splitlines(), str(path))
    if not examples:
        raise InvalidInput(f"{path} has no labelled prompts")
    return examples
