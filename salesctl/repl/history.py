"""The REPL's input history (what was typed, for the up arrow), kept as `store_prompts` says.

`full` keeps it in an owner-only file in the data directory; `redacted` keeps it there with
emails, phone numbers and keys masked (the current run still recalls what was typed); `none`
keeps it in memory only, so nothing typed outlives the run. `rewrite_history()` applies a mode
to a file written before. prompt_toolkit is imported only where a REPL needs it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from prompt_toolkit.history import History

    from salesctl.config import StorePrompts

HISTORY_FILE = "chat_history"


def history_path(data_dir: Path) -> Path:
    """The history file, created owner-only (0600) in an owner-only (0700) data directory."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / HISTORY_FILE
    fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    return path


def open_history(data_dir: Path | None, store_prompts: StorePrompts) -> History:
    """The REPL's history for this `store_prompts`; in memory only without a data directory."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    if data_dir is None or store_prompts == "none":
        return InMemoryHistory()
    path = str(history_path(data_dir))
    if store_prompts == "full":
        return FileHistory(path)
    from salesctl.llm.redact import redact

    class RedactedFileHistory(FileHistory):
        """Recalls this run's lines as typed; writes them to the file redacted."""

        def store_string(self, string: str) -> None:
            super().store_string(redact(string) or "")

    return RedactedFileHistory(path)


def _redacted_entries(text: str) -> tuple[str, int]:
    """`text` (prompt_toolkit's format: a `# time` line, then one `+line` per line typed) with
    each entry redacted whole, and how many entries changed."""
    from salesctl.llm.redact import redact

    lines = text.split("\n")
    kept: list[str] = []
    changed = 0
    start = 0
    while start < len(lines):
        if not lines[start].startswith("+"):
            kept.append(lines[start])
            start += 1
            continue
        end = start
        while end < len(lines) and lines[end].startswith("+"):
            end += 1
        entry = "\n".join(line[1:] for line in lines[start:end])
        masked = redact(entry) or ""
        changed += masked != entry
        kept += [f"+{line}" for line in masked.split("\n")]
        start = end
    return "\n".join(kept), changed


def rewrite_history(data_dir: Path, mode: Literal["redacted", "none"]) -> int:
    """Apply `mode` to the history file already there: `redacted` masks each entry, `none`
    empties the file. Returns how many entries changed (0 when there is no file)."""
    path = data_dir / HISTORY_FILE
    if not path.is_file():
        return 0
    text = path.read_text(encoding="utf-8", errors="replace")
    if mode == "none":
        lines = text.split("\n")
        first_lines = [
            n
            for n, line in enumerate(lines)
            if line[:1] == "+" and (n == 0 or lines[n - 1][:1] != "+")
        ]
        rewritten, changed = "", len(first_lines)
    else:
        rewritten, changed = _redacted_entries(text)
    if not changed:
        return 0
    fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".chat_history.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp: owner-only already
            out.write(rewritten)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return changed
