"""The tracking spool: a write-ahead log of tracking records in the data directory.

Every tracking record is appended as one JSON line to `<data dir>/spool/tracking.jsonl`
(0600, in 0700 directories) before `complete()` returns; once a batch is in the database,
the byte ranges of its lines are appended to `tracking.progress`. Replay inserts the lines
no range covers; it is idempotent anyway (`ON CONFLICT (request_id) DO NOTHING`).

The bookkeeping cannot outlive or mismatch the file it describes. The spool's first line
names its generation (`{"spool": "<random id>"}`), written with the file in one atomic
`link()`; every progress line carries the generation it belongs to, and only ranges of the
spool's own generation count. A spool deleted, emptied or replaced (by a person, or by a
crash anywhere inside `compact()`) therefore leaves ranges that match nothing, never ranges
that hide new lines. A spool without a valid first line (damaged, emptied, or written by an
older salesctl) is set aside in `spool/aside/` with one warning; everything in it is
replayed by request id, and compaction folds what is left of it back into the spool.

Several processes share one spool. Each append is a single `write()` on an `O_APPEND`
descriptor, so lines never interleave. Every process that appends or replays holds a shared
`flock` on `tracking.lock`; compaction takes it exclusively, so no byte range a live process
still holds can change meaning. Opening, creating and setting aside the spool happen under
a brief exclusive `flock` on `tracking.open.lock`, so two processes never disagree on which
file is the spool.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import time
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
OPEN_LOCK_NAME = "tracking.open.lock"
ASIDE_DIR = "aside"
DATABASE_KEY = "db"
"""The spool-line key naming the database a record belongs to (see `database_tag`)."""
HEADER_KEY = "spool"
"""The first line's key: the spool's generation."""
RECORD_START = b'{"request_id":'
HEADER_START = b'{"spool":'
HEADER_MAX = 128


def spool_path(data_dir: Path) -> Path:
    return data_dir / "spool" / SPOOL_NAME


def progress_path(spool: Path) -> Path:
    return spool.with_name(PROGRESS_NAME)


def lock_path(spool: Path) -> Path:
    return spool.with_name(LOCK_NAME)


def aside_dir(spool: Path) -> Path:
    return spool.parent / ASIDE_DIR


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
            fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd

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


@contextlib.contextmanager
def _opening(spool: Path) -> Iterator[None]:
    """The brief critical section in which the spool file is opened, created or set aside."""
    fd = open_private(spool.with_name(OPEN_LOCK_NAME), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --- the first line ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    """The spool's first line: its generation, and where the records start."""

    generation: str
    length: int


def header_line(generation: str) -> bytes:
    return (json.dumps({HEADER_KEY: generation}, separators=(",", ":")) + "\n").encode()


def parse_header(head: bytes) -> Header | None:
    """The header at the start of `head` (the file's first bytes), or None."""
    end = head.find(b"\n")
    if end < 0 or not head.startswith(HEADER_START):
        return None
    try:
        data = json.loads(head[: end + 1])
    except ValueError:
        return None
    generation = data.get(HEADER_KEY) if isinstance(data, dict) else None
    if not isinstance(generation, str) or not generation.isalnum():
        return None
    return Header(generation, end + 1)


def read_header(spool: Path) -> Header | None:
    """The spool's header; None when the file is missing, empty or has no valid one."""
    try:
        with spool.open("rb") as file:
            return parse_header(file.read(HEADER_MAX))
    except FileNotFoundError:
        return None


def _create(spool: Path) -> None:
    """Create the spool with its header in one step (written aside, then linked into place):
    no process ever sees it without its first line. Does nothing if it exists."""
    temporary = spool.with_name(f".{SPOOL_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        os.write(fd, header_line(secrets.token_hex(8)))
    finally:
        os.close(fd)
    try:
        os.link(temporary, spool)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def set_aside(spool: Path, *, why: str, warn: Callable[[str], None] | None = None) -> Path | None:
    """Move a spool without a valid header into `aside/`, to be replayed in full (by request
    id) and folded back by the next compaction. Call it inside `_opening`."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = aside_dir(spool) / f"tracking-{stamp}-{os.getpid()}-{secrets.token_hex(3)}.jsonl"
    private_dirs(target.parent)
    try:
        os.rename(spool, target)
    except FileNotFoundError:
        return None
    (warn or log.warning)(
        f"tracking spool {spool} {why}; set aside as {target}: its records are replayed by "
        "request id (none is inserted twice)"
    )
    return target


def _open_current(
    spool: Path, flags: int, *, create: bool, warn: Callable[[str], None] | None
) -> tuple[int, Header] | None:
    """Open the spool (creating it if `create`), setting aside one without a valid header."""
    with _opening(spool):
        for _ in range(3):
            try:
                fd = os.open(spool, flags)
            except FileNotFoundError:
                if not create:
                    return None
                _create(spool)
                continue
            try:
                header = parse_header(os.pread(fd, HEADER_MAX, 0))
            except BaseException:
                os.close(fd)
                raise
            if header is not None:
                return fd, header
            os.close(fd)
            empty = os.stat(spool).st_size == 0
            why = "is empty" if empty else "has no valid first line (damaged, or older format)"
            set_aside(spool, why=why, warn=None if empty else warn)
            if not create:
                return None
    raise OSError(f"cannot open the tracking spool {spool}")


# --- appending ---------------------------------------------------------------------------


class Spool:
    """Append-only JSON lines (0600) after the generation header; knows where each line
    landed.

    No fsync per line: a line is safe from a crash of this process once `append` returns
    (the kernel has it); `sync()` makes it safe from power loss too. A failed append (a full
    disk, a read-only file system) is tried again with the next line.
    """

    def __init__(self, path: Path, *, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._fd: int | None = None
        self._progress_fd: int | None = None
        self._lock = SpoolLock(path)
        self._warn = warn or log.warning
        self.generation: str | None = None
        self.failure: OSError | None = None
        """Why the last append failed; None while appending works."""
        self._warned = False

    @property
    def broken(self) -> bool:
        """The last append failed (the next one tries again)."""
        return self.failure is not None

    def hold(self) -> None:
        """Keep compaction away until `close()` (appending and marking do this themselves)."""
        self._lock.shared()

    def open(self, *, create: bool = True) -> bool:
        """Open the current spool (creating it); False when it does not exist and not `create`."""
        if self._fd is not None:
            return True
        self._lock.shared()
        opened = _open_current(self.path, os.O_RDWR | os.O_APPEND, create=create, warn=self._warn)
        if opened is None:
            return False
        self._fd, header = opened
        self.generation = header.generation
        return True

    def append(self, line: bytes) -> Span | None:
        """Write one line; its byte range in the file, or None when it could not be written."""
        try:
            self.open()
            assert self._fd is not None
            written = os.write(self._fd, line)
            while written < len(line):  # a short write (disk nearly full): finish the line
                written += os.write(self._fd, line[written:])
            end = os.lseek(self._fd, 0, os.SEEK_CUR)
        except OSError as exc:
            self.failure = exc
            if not self._warned:
                self._warned = True
                self._warn(
                    f"tracking spool {self.path} unusable ({exc.strerror or exc}); "
                    "rows still go to the database but are not protected against a crash"
                )
            return None
        self.failure = None
        return (end - len(line), end)

    def probe(self) -> bool:
        """After a failed append: whether the spool's file system takes writes again (a 4 KiB
        scratch file is written and removed beside it)."""
        scratch = self.path.with_name(f".probe.{os.getpid()}")
        try:
            fd = open_private(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            try:
                os.write(fd, bytes(4096))
            finally:
                os.close(fd)
        except OSError as exc:
            self.failure = exc
            return False
        finally:
            with contextlib.suppress(OSError):
                scratch.unlink()
        self.failure = None
        return True

    def mark_committed(self, spans: Iterable[Span]) -> None:
        """Record that these lines are in the database (merged into as few ranges as possible)."""
        merged = merge(spans)
        if not merged or self.generation is None:
            return
        try:
            self._lock.shared()
            if self._progress_fd is None:
                self._progress_fd = open_private(progress_path(self.path))
            tag = self.generation
            os.write(self._progress_fd, "".join(f"{tag} {s} {e}\n" for s, e in merged).encode())
        except OSError as exc:
            log.debug("cannot record spool progress: %s", exc)

    def replaced(self) -> bool:
        """The file this spool appends to is no longer the spool (deleted or replaced by
        someone else): what only it holds must be appended again to the current one."""
        if self._fd is None:
            return False
        try:
            held = os.fstat(self._fd)
            current = os.stat(self.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return held.st_nlink == 0 or (held.st_ino, held.st_dev) != (
            current.st_ino,
            current.st_dev,
        )

    def reopen(self) -> None:
        """Append to the current spool from now on (after `replaced()`)."""
        for fd in (self._fd, self._progress_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._progress_fd = None
        self.generation = None

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
        self.generation = None
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


def read_progress(spool: Path, generation: str | None = None) -> list[Span]:
    """The merged byte ranges of spool lines known to be in the database: those recorded for
    `generation` (default: the spool's own); ranges of any other generation are ignored."""
    if generation is None:
        header = read_header(spool)
        if header is None:
            return []
        generation = header.generation
    try:
        text = progress_path(spool).read_text(errors="replace")
    except FileNotFoundError:
        return []
    spans: list[Span] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == generation and parts[1].isdigit() and parts[2].isdigit():
            spans.append((int(parts[1]), int(parts[2])))
    return merge(spans)


def aside_files(spool: Path) -> list[Path]:
    """Spools set aside (damaged or mismatched), oldest first."""
    try:
        names = os.listdir(aside_dir(spool))
    except FileNotFoundError:
        return []
    return sorted(aside_dir(spool) / name for name in names if name.endswith(".jsonl"))


def is_settled(spool: Path) -> bool:
    """True when the spool holds nothing the database may lack: cheap (two stats, and reads
    of the header and the small progress file only when the spool is not empty)."""
    if aside_dir(spool).exists() and aside_files(spool):
        return False
    try:
        size = spool.stat().st_size
    except FileNotFoundError:
        return True
    if size == 0:
        return True
    header = read_header(spool)
    if header is None:
        return False
    if size == header.length:
        return True
    return read_progress(spool, header.generation) == [(header.length, size)]


def pending_lines(
    path: Path, committed: list[Span], *, start: int | None = None
) -> Iterator[tuple[Span, bytes]]:
    """Complete spool lines not covered by a committed range, with their byte ranges; the
    header (when the file has one) is not a line. `start` skips a known header."""
    index = 0
    with path.open("rb") as spool:
        if start is None:
            header = parse_header(spool.read(HEADER_MAX))
            start = header.length if header is not None else 0
        spool.seek(start)
        offset = start
        for line in spool:
            begin, offset = offset, offset + len(line)
            if not line.endswith(b"\n"):
                break  # a line cut short by a crash: not a record
            while index < len(committed) and committed[index][1] <= begin:
                index += 1
            if (
                index < len(committed)
                and committed[index][0] <= begin
                and offset <= committed[index][1]
            ):
                continue
            yield (begin, offset), line


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One spool line as a dict; None when damaged beyond use (or a header).

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
    return data if isinstance(data, dict) and HEADER_KEY not in data else None


def count_pending(spool: Path) -> int:
    """How many spooled records are not known to be in the database."""
    if is_settled(spool):
        return 0
    count = 0
    header = read_header(spool)
    if header is not None:
        committed = read_progress(spool, header.generation)
        count += sum(1 for _ in pending_lines(spool, committed, start=header.length))
    elif spool.exists():
        count += sum(1 for _, line in pending_lines(spool, []) if parse_line(line) is not None)
    for aside in aside_files(spool):
        count += sum(1 for _, line in pending_lines(aside, []) if parse_line(line) is not None)
    return count


# --- compaction --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compaction:
    """What compacting the spool did."""

    done: bool
    """False when another process was using the spool (nothing changed)."""
    kept: int = 0
    """Pending records kept (rewritten, possibly transformed)."""
    dropped_bytes: int = 0


Step = Callable[[str], None]
"""Called with each step's name as compaction passes it (a seam for crash tests)."""


def compact(
    spool: Path,
    *,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    landed: frozenset[str] = frozenset(),
    on_step: Step | None = None,
) -> Compaction:
    """Drop the lines known to be in the database, keeping (and optionally transforming) the
    rest, and fold spools set aside back in; only when no other process uses the spool.

    `landed` names request ids known to be in the database (a replay of set-aside spools
    passes what it inserted or found). Crash-safe at every step: the new spool (with a new
    generation) is written aside and fsynced before it replaces the old one, so until then
    the old spool and its ranges are intact, and after it the old ranges match nothing; the
    set-aside files are removed only once the new spool holding their records is in place
    (a crash in between replays them twice, which inserts nothing twice).
    """
    step = on_step or (lambda _name: None)
    with exclusive(spool) as alone:
        if not alone:
            return Compaction(done=False)
        step("locked")
        with _opening(spool):
            return _compact_alone(spool, transform, landed, step)


def _compact_alone(
    spool: Path,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None,
    landed: frozenset[str],
    step: Step,
) -> Compaction:
    spool.with_name(SPOOL_NAME + ".compacting").unlink(missing_ok=True)  # a crash's leftover
    asides = aside_files(spool)
    try:
        size = spool.stat().st_size
    except FileNotFoundError:
        size = 0
    header = read_header(spool) if size else None
    if size and header is None:
        # Damaged or older format: it joins the set-aside files being folded in.
        moved = set_aside(spool, why="has no valid first line (damaged, or older format)")
        asides += [moved] if moved is not None else []
        size = 0
    kept: list[bytes] = []
    dropped = 0
    settled = True
    if header is not None:
        committed = read_progress(spool, header.generation)
        for span, line in pending_lines(spool, committed, start=header.length):
            settled = False
            data = parse_line(line)
            if data is None:
                log.warning("dropping a damaged spool line at byte %d", span[0])
            elif transform is not None:
                kept.append(_dump(transform(data)))
            else:
                kept.append(line if line.startswith(RECORD_START) else _dump(data))
    for aside in asides:
        for _, line in pending_lines(aside, []):
            data = parse_line(line)
            if data is None or data.get("request_id") in landed:
                continue
            settled = False
            kept.append(_dump(transform(data) if transform is not None else data))
    step("read")
    if settled and not kept:
        if size:
            spool.unlink()
            step("spool-removed")
        progress_path(spool).unlink(missing_ok=True)
        step("progress-removed")
        dropped = size
    elif header is not None and not asides and transform is None:
        if sum(map(len, kept)) == size - header.length:
            return Compaction(done=True, kept=len(kept))  # nothing to drop
        _replace(spool, kept, step)
        dropped = max(size - header.length - sum(map(len, kept)), 0)
    else:
        _replace(spool, kept, step)
    for aside in asides:
        aside.unlink(missing_ok=True)
    if asides:
        step("aside-removed")
    with contextlib.suppress(OSError):
        aside_dir(spool).rmdir()  # only when empty
    return Compaction(done=True, kept=len(kept), dropped_bytes=dropped)


def _replace(spool: Path, kept: list[bytes], step: Step) -> None:
    """Put a new spool (new generation) holding `kept` in place of the old one."""
    rewritten = spool.with_name(SPOOL_NAME + ".compacting")
    fd = open_private(rewritten, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, header_line(secrets.token_hex(8)) + b"".join(kept))
        os.fsync(fd)
    finally:
        os.close(fd)
    step("written")
    os.replace(rewritten, spool)
    _sync_directory(spool.parent)
    step("replaced")
    progress_path(spool).unlink(missing_ok=True)
    step("progress-removed")


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
