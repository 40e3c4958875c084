"""The journal of a workspace's writes (`write_journal`) when the warehouse is the DuckDB
file: a text file beside the workspace's lock file (`duckdb.lock.write_journal_path`)."""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from contextlib import suppress
from pathlib import Path

from secoda_pipelines.store.errors import WarehouseError
from secoda_pipelines.store.write_journal import KEEP_SECONDS, WorkspaceJournal, recent_ages

SENT, ANSWERED = "sent", "answered"


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class FileJournal(WorkspaceJournal):
    """The journal as a text file beside the DuckDB file's lock file: one line per event,
    `<token> sent <unix time>` or `<token> answered <unix time>`, each appended whole in
    one write with O_APPEND. A line cut off by a kill (no newline) is ignored, and dropped
    when the next holder opens the file. No fsync: a killed process loses nothing of what
    it wrote (the page cache is the kernel's); a machine that crashes loses its runs too.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        run_id: str,
        clock: Callable[[], float] = time.time,
    ):
        """Opens the journal for run `run_id`, which holds the lock: drops the entries of
        more than KEEP_SECONDS ago and any cut-off or unreadable line (rewriting the file
        into a temporary file renamed over it), then opens it for appending.

        Raises:
            WarehouseError: the file cannot be read, rewritten or opened.
        """
        super().__init__(run_id, clock)
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._fd: int | None = None
        try:
            self._prune()
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except OSError as error:
            raise self._error("cannot open", error) from None

    def __repr__(self) -> str:
        return f"FileJournal({os.path.abspath(self.path)!r})"

    def _error(self, doing: str, error: OSError) -> WarehouseError:
        return WarehouseError(
            f"{doing} the journal of writes {os.path.abspath(self.path)} ({error.strerror}); "
            "its folder, the DuckDB file's, must be writable"
        )

    def _read(self) -> tuple[dict[str, tuple[float, float | None]], bool]:
        """Returns (token -> [sent at, answered at or None], whether every line was whole
        and readable)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return {}, True
        *lines, tail = text.split("\n")  # tail: "" after the last newline, else cut off
        clean = tail == ""
        entries: dict[str, tuple[float, float | None]] = {}
        for line in lines:
            parts = line.split()
            at = _finite(parts[2]) if len(parts) == 3 else None
            if at is None or parts[1] not in (SENT, ANSWERED):
                clean = False
                continue
            token, event = parts[0], parts[1]
            if event == SENT:
                entries[token] = (at, None)
            elif token in entries:  # an answer whose sending is not on record has no use
                entries[token] = (entries[token][0], at)
        return entries, clean

    def _prune(self) -> None:
        entries, clean = self._read()
        oldest = self._clock() - KEEP_SECONDS
        kept = {
            token: (sent_at, answered_at)
            for token, (sent_at, answered_at) in entries.items()
            if max(sent_at, answered_at or sent_at) >= oldest
        }
        if clean and len(kept) == len(entries):
            return
        lines = []
        for token, (sent_at, answered_at) in kept.items():
            lines.append(f"{token} {SENT} {sent_at:.6f}\n")
            if answered_at is not None:
                lines.append(f"{token} {ANSWERED} {answered_at:.6f}\n")
        # Only the lock's holder touches the journal: a rename over it loses nobody's line.
        fd, temporary = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write("".join(lines))
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _append(self, line: str) -> None:
        with self._write_lock:
            self._refuse_if_closed()
            if self._fd is None:  # never opened: __init__ raised
                raise WarehouseError(f"{self!r} is not open")
            try:
                os.write(self._fd, line.encode("utf-8"))
            except OSError as error:
                raise self._error("cannot record a write in", error) from None

    def sent(self, at: float) -> str:
        token = self._next_token()
        self._append(f"{token} {SENT} {at:.6f}\n")
        return token

    def answered(self, token: Hashable, at: float) -> None:
        self._append(f"{token} {ANSWERED} {at:.6f}\n")

    def recent_ages(self, window: float) -> list[float]:
        try:
            entries, _ = self._read()
        except OSError as error:
            raise self._error("cannot read", error) from None
        return recent_ages(entries.values(), window, self._clock())

    def close(self) -> None:
        with self._write_lock:
            super().close()
            fd, self._fd = self._fd, None
        if fd is not None:
            with suppress(OSError):  # the descriptor is gone either way
                os.close(fd)
