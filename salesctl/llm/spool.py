"""The tracking spool: a write-ahead log of tracking records in the data directory.

Every tracking record is appended as one JSON line to `<data dir>/spool/tracking.jsonl`
(0600, in 0700 directories) before `complete()` returns; once a batch is in the database,
the byte ranges of its lines are appended to `tracking.progress`. Replay inserts the lines
no range covers; it is idempotent anyway (`ON CONFLICT (request_id) DO NOTHING`).

Several processes share one spool. Each append is a single `write()` on an `O_APPEND`
descriptor, so lines never interleave. Every process that appends or replays holds a shared
`flock` on `tracking.lock`; compaction (dropping committed lines, or rewriting pending ones)
takes it exclusively, so no byte range a live process still holds can change meaning.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

log = logging.getLogger("salesctl.tracking")

Span = tuple[int, int]

SPOOL_NAME = "tracking.jsonl"
PROGRESS_NAME = "tracking.progress"
LOCK_NAME = "tracking.lock"
DATABASE_KEY = "db"
"""The spool-line key naming the database a record belongs to (see `database_tag`)."""
RECORD_START = b'{"request_id":'


def spool_path(data_dir: Path) -> Path:
    return data_dir / "spool" / SPOOL_NAME


def progress_path(spool: Path) -> Path:
    return spool.with_name(PROGRESS_NAME)


def lock_path(spool: Path) -> Path:
    return spool.with_name(LOCK_NAME)


def database_tag(url: URL | str) -> str:
    """A short, password-free fingerprint of a database URL, stored with each spool line so a
    replay lands records in the database they were meant for."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url) if isinstance(url, str) else url
    where = (
        f"{parsed.get_backend_name()}://{parsed.username or ''}@{parsed.host or ''}:"
        f"{parsed.port or ''}/{parsed.database or ''}"
    )
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_APPEND | os.O_CREAT) -> int:
    """Open (creating owner-only) a spool file, its directories owner-only too."""
    private_dirs(path.parent)
    return os.open(path, flags, 0o600)


def private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents owner-only (0700).

    `mkdir(parents=True, mode=…)` gives the parents the umask's mode, which would leave the
    data directory world-readable when the spool is the first thing written there.
    """
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


# --- locking -----------------------------------------------------------------------------


class SpoolLock:
    """A `flock` on the spool's lock file: shared by writers and replays, exclusive for
    compaction. Each instance is its own open file, so two in one process conflict too."""

    def __init__(self, spool: Path) -> None:
        self.path = lock_path(spool)
        self._fd: int | None = None

    def shared(self) -> None:
        """Block until no compaction runs, then hold the lock shared (idempotent)."""
        if self._fd is None:
            self._fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def try_exclusive(self) -> bool:
        """Hold the lock exclusively if nobody else holds it at all; never waits."""
        if self._fd is None:
            self._fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock


@contextlib.contextmanager
def exclusive(spool: Path) -> Iterator[bool]:
    """Yield True while holding the spool exclusively, False when another process (or
    another writer in this one) is using it."""
    lock = SpoolLock(spool)
    try:
        yield lock.try_exclusive()
    finally:
        lock.release()


# --- appending ---------------------------------------------------------------------------


class Spool:
    """Append-only JSON lines (0600); knows where each line landed.

    No fsync per line: a line is safe from a crash of this process once `append` returns
    (the kernel has it); `sync()` makes it safe from power loss too.
    """

    def __init__(self, path: Path, *, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._fd: int | None = None
        self._progress_fd: int | None = None
        self._lock = SpoolLock(path)
        self._warn = warn or log.warning
        self.broken = False

    def hold(self) -> None:
        """Keep compaction away until `close()` (appending and marking do this themselves)."""
        self._lock.shared()

    def append(self, line: bytes) -> Span | None:
        """Write one line; its byte range in the file, or None when the spool is unusable."""
        if self.broken:
            return None
        try:
            if self._fd is None:
                self._lock.shared()
                self._fd = open_private(self.path)
            written = os.write(self._fd, line)
            while written < len(line):  # a short write (disk nearly full): finish the line
                written += os.write(self._fd, line[written:])
            end = os.lseek(self._fd, 0, os.SEEK_CUR)
        except OSError as exc:
            self.broken = True
            self._warn(
                f"tracking spool {self.path} unusable ({exc.strerror or exc}); "
                "rows still go to the database but are not protected against a crash"
            )
            return None
        return (end - len(line), end)

    def mark_committed(self, spans: Iterable[Span]) -> None:
        """Record that these lines are in the database (merged into as few ranges as possible)."""
        merged = merge(spans)
        if not merged or self.broken:
            return
        try:
            self._lock.shared()
            if self._progress_fd is None:
                self._progress_fd = open_private(progress_path(self.path))
            os.write(self._progress_fd, "".join(f"{s} {e}\n" for s, e in merged).encode())
        except OSError as exc:
            log.debug("cannot record spool progress: %s", exc)

    def sync(self) -> None:
        """fsync what was appended, so it survives a power loss as well as a crash."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            log.debug("cannot fsync the spool: %s", exc)

    def close(self) -> None:
        for fd in (self._fd, self._progress_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._progress_fd = None
        self._lock.release()


def merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


# --- reading -----------------------------------------------------------------------------


def read_progress(spool: Path) -> list[Span]:
    """The merged byte ranges of spool lines known to be in the database."""
    try:
        text = progress_path(spool).read_text()
    except FileNotFoundError:
        return []
    spans: list[Span] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            spans.append((int(parts[0]), int(parts[1])))
    return merge(spans)


def is_settled(spool: Path) -> bool:
    """True when the spool holds nothing the database may lack: cheap (a stat, and a read of
    the small progress file only when the spool is not empty)."""
    try:
        size = spool.stat().st_size
    except FileNotFoundError:
        return True
    if size == 0:
        return True
    return read_progress(spool) == [(0, size)]


def pending_lines(path: Path, committed: list[Span]) -> Iterator[tuple[Span, bytes]]:
    """Complete spool lines not covered by a committed range, with their byte ranges."""
    index = 0
    offset = 0
    with path.open("rb") as spool:
        for line in spool:
            start, offset = offset, offset + len(line)
            if not line.endswith(b"\n"):
                break  # a line cut short by a crash: not a record
            while index < len(committed) and committed[index][1] <= start:
                index += 1
            if (
                index < len(committed)
                and committed[index][0] <= start
                and offset <= committed[index][1]
            ):
                continue
            yield (start, offset), line


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One spool line as a dict; None when damaged beyond use.

    A line that is not JSON but contains a later record start (a torn write, e.g. after a
    full disk, followed by another process's line) yields that later, whole record.
    """
    try:
        data = json.loads(line)
    except ValueError:
        cut = line.rfind(RECORD_START)
        if cut <= 0:
            return None
        return parse_line(line[cut:])
    return data if isinstance(data, dict) else None


def count_pending(spool: Path) -> int:
    """How many spooled records are not known to be in the database."""
    if is_settled(spool):
        return 0
    return sum(1 for _ in pending_lines(spool, read_progress(spool)))


# --- compaction --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compaction:
    """What compacting the spool did."""

    done: bool
    """False when another process was using the spool (nothing changed)."""
    kept: int = 0
    """Pending records kept (rewritten, possibly transformed)."""
    dropped_bytes: int = 0


def compact(
    spool: Path, *, transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> Compaction:
    """Drop the lines known to be in the database, keeping (and optionally transforming) the
    rest; only when no other process or writer uses the spool.

    Crash-safe in any order: the new spool is written aside and fsynced, the progress file is
    removed (so at worst every line is replayed again, which inserts nothing twice), then the
    new spool is renamed into place.
    """
    with exclusive(spool) as alone:
        if not alone:
            return Compaction(done=False)
        try:
            size = spool.stat().st_size
        except FileNotFoundError:
            progress_path(spool).unlink(missing_ok=True)
            return Compaction(done=True)
        committed = read_progress(spool)
        if committed == [(0, size)] or size == 0:
            spool.unlink()
            progress_path(spool).unlink(missing_ok=True)
            return Compaction(done=True, dropped_bytes=size)
        kept: list[bytes] = []
        for span, line in pending_lines(spool, committed):
            data = parse_line(line)
            if data is None:
                log.warning("dropping a damaged spool line at byte %d", span[0])
            elif transform is not None:
                kept.append(_dump(transform(data)))
            else:
                kept.append(line if line.startswith(RECORD_START) else _dump(data))
        if transform is None and sum(map(len, kept)) == size:
            return Compaction(done=True, kept=len(kept))  # nothing to drop
        aside = spool.with_name(SPOOL_NAME + ".compacting")
        fd = open_private(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, b"".join(kept))
            os.fsync(fd)
        finally:
            os.close(fd)
        progress_path(spool).unlink(missing_ok=True)
        os.replace(aside, spool)
        written = sum(map(len, kept))
        return Compaction(done=True, kept=len(kept), dropped_bytes=max(size - written, 0))


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
