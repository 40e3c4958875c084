"""The one loop that writes (`apply_writes`), the workspace held while a run writes
(`workspace_writes`) and the job made from a write-back op (`write_back_job`).

`apply_writes` runs a job's `write_one(row, retry)` over its planned rows: the workspace's
write pace, each row's outcome recorded on its report row, progress, the 400/404 policy
(go on, or stop for creates), a 401/403 stopping the run, and the summary.

Retries of a write that may have been applied live here, not in the client: Secoda has no
conditional update and no idempotency key, so a second attempt built before the first could
undo an edit made in between. After a write answered 5xx, cut off, or left unanswered (and
after a redirect or a proxy's page), the loop calls `write_one` again with ``retry=True``:
it reads the target again (for a create, looks for what the lost attempt may have made)
and sends only what is still needed. A change someone made between attempts is kept.
"""

from __future__ import annotations

import time
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.defs.jobs.writeback.config import flat_run_config
from secoda_pipelines.defs.jobs.writeback.reporting import continue_write_pace
from secoda_pipelines.instance import HEARTBEAT_SECONDS, HEARTBEAT_TAG, RunHeartbeat
from secoda_pipelines.secoda import (
    SecodaAuthError,
    SecodaBadRequestError,
    SecodaClient,
    SecodaError,
    SecodaNotFoundError,
    SecodaResponseError,
)
from secoda_pipelines.store import FAILED, SKIPPED, WRITTEN, ReportStore, WorkspaceBusyError

WRITES_TAG = "secoda/writes"
# Attempts per row: the first, then two after answers that leave the outcome unknown.
MAX_ATTEMPTS = 3
PROGRESS_EVERY = 50
# Outcomes reach the report at least this often (seconds) and every FLUSH_ROWS rows.
FLUSH_SECONDS = 2.0
FLUSH_ROWS = 50
MAX_FAILURES_LISTED = 20

Row = TypeVar("Row")


class WriteBackConfig(dg.Config):
    """What every write-back job's run config holds: `dry_run`, declared once."""

    dry_run: bool = Field(
        default=True, description="Plan and report only; write nothing to Secoda until false."
    )


@dataclass(frozen=True)
class Outcome:
    """What one `write_one` call found and did.

    Attributes:
        status: WRITTEN (a write was sent and answered) or SKIPPED (nothing sent).
        detail: what it did, or why nothing was needed, for the report row.
        columns: the job's own report columns to set on the row (a created id, tags...).
        already: nothing was sent because the target already holds what the plan would
            write: after an attempt that may have been applied, that attempt did it.
    """

    status: str
    detail: str
    columns: dict[str, Any] = field(default_factory=dict)
    already: bool = False


def written(detail: str, **columns: Any) -> Outcome:
    """Returns the outcome of a write that was sent and answered."""
    return Outcome(WRITTEN, detail, columns)


def skipped(detail: str, **columns: Any) -> Outcome:
    """Returns the outcome of a row that needed nothing any more (nothing sent)."""
    return Outcome(SKIPPED, detail, columns)


def already_done(detail: str, **columns: Any) -> Outcome:
    """Returns the outcome of a row whose target already holds what it would write."""
    return Outcome(SKIPPED, detail, columns, already=True)


@dataclass(frozen=True)
class Item(Generic[Row]):
    """One planned write: its report row (`item`), a label for messages, and the job's row."""

    item: int
    label: str
    row: Row


@dataclass(frozen=True)
class Writes:
    """How one job's writes are reported.

    Attributes:
        table: the report table (`reports.<table>`) whose rows the outcomes go on.
        noun: what one write changes, in messages ("dashboard", "user").
        creates: the writes create objects: a 400 or 404 stops the run (the next create
            would most likely be refused the same way), where updates go on.
    """

    table: str
    noun: str
    creates: bool = False


@dataclass
class Applied:
    """What `apply_writes` did: rows by outcome, and the failures that did not stop it."""

    counts: Counter[str] = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        """Returns how many rows were written."""
        return self.counts[WRITTEN]


class _Outcomes:
    """The outcomes not yet in the report, flushed every few seconds and rows."""

    def __init__(self, reports: ReportStore, table: str, run_id: str) -> None:
        self.reports, self.table, self.run_id = reports, table, run_id
        self.pending: list[dict[str, Any]] = []
        self.flushed_at = time.monotonic()

    def add(self, item: int, status: str, detail: str, columns: dict[str, Any]) -> None:
        sent = None if status == SKIPPED else pd.Timestamp.now(tz="UTC")
        self.pending.append(
            {"item": item, "write_status": status, "write_detail": detail, "written_at": sent}
            | columns
        )
        if len(self.pending) >= FLUSH_ROWS or time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.reports.record_writes(self.table, self.run_id, self.pending)
            self.pending = []
        self.flushed_at = time.monotonic()


class _RowFailed(Exception):
    """A row's write failed for good: its error, and what the earlier attempts met."""

    def __init__(self, error: SecodaError, notes: list[str]) -> None:
        super().__init__(str(error))
        self.error = error
        self.notes = notes


def _unknown_outcome(error: SecodaError) -> bool:
    """Returns whether the error leaves it open whether the write happened (or says the
    answer was not Secoda's): worth reading the target again and another attempt."""
    return error.maybe_applied or isinstance(error, SecodaResponseError)


def _short(error: SecodaError) -> str:
    text = str(error)
    return text if len(text) <= 300 else text[:297] + "..."


def _with_notes(notes: list[str], detail: str) -> str:
    return "; ".join([*notes, detail]) if notes else detail


def _write_with_attempts(
    client: SecodaClient,
    log: dg.DagsterLogManager,
    entry: Item[Row],
    write_one: Callable[[Row, bool], Outcome],
) -> Outcome:
    """Returns the outcome of one row, trying again (after reading the target again) while
    an attempt's outcome is unknown, at most MAX_ATTEMPTS times.

    Raises:
        _RowFailed: the row's write failed for good.
    """
    notes: list[str] = []
    maybe_applied = False
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            outcome = write_one(entry.row, attempt > 1)
        except SecodaError as error:
            if not _unknown_outcome(error) or attempt == MAX_ATTEMPTS:
                raise _RowFailed(error, notes) from None
            maybe_applied = maybe_applied or error.maybe_applied
            status = getattr(error, "status", None)
            notes.append(f"attempt {attempt} failed ({status or 'no answer'}): {_short(error)}")
            log.warning(
                f"{entry.label}: attempt {attempt} failed ({_short(error)}); reading it again "
                f"before attempt {attempt + 1}"
            )
            time.sleep(client.backoff_factor * 2**attempt)
            continue
        if outcome.already and maybe_applied:
            detail = f"{outcome.detail}: read again, the target holds what attempt 1 sent"
            return Outcome(WRITTEN, _with_notes(notes, detail), outcome.columns, True)
        return Outcome(
            outcome.status, _with_notes(notes, outcome.detail), outcome.columns, outcome.already
        )
    raise AssertionError("unreachable")  # the last attempt returns or raises


def apply_writes(
    context: dg.OpExecutionContext,
    client: SecodaClient,
    reports: ReportStore,
    writes: Writes,
    items: Iterable[Item[Row]],
    total: int,
    write_one: Callable[[Row, bool], Outcome],
) -> Applied:
    """Applies `total` planned writes (`items`), recording each row's outcome on its report
    row (`written`, `skipped` or `failed`, with what happened and, when something was sent,
    `written_at`), and returns what it did.

    `write_one(row, retry)` reads the row's target, sends what is still needed and returns
    its `Outcome`; with ``retry`` an earlier attempt's outcome is unknown (for a create, it
    first looks for what that attempt may have made). The client paces every write (its
    pace continued from earlier runs' by `workspace_writes`, which every write runs inside).

    A 400 or 404 fails its row; updates go on to the next row (the run fails at the end,
    naming them), creates stop. A 401 or 403 stops at once. Any other error that outlives
    the attempts (Secoda down, throttled, a read that fails) stops the run: run the job
    again and it writes only what is still missing.

    Raises:
        dagster.Failure: rows failed (each named, at most MAX_FAILURES_LISTED), or the run
            stopped (what was written before it said).
    """
    outcomes = _Outcomes(reports, writes.table, context.run_id)
    applied = Applied()
    started = time.monotonic()
    done = 0
    try:
        for done, entry in enumerate(items, start=1):
            try:
                outcome = _write_with_attempts(client, context.log, entry, write_one)
            except _RowFailed as failure:
                error = failure.error
                outcomes.add(entry.item, FAILED, _with_notes(failure.notes, str(error)), {})
                applied.counts[FAILED] += 1
                listed = f"{entry.label}: {_short(error)}"
                if isinstance(error, SecodaAuthError):
                    raise _stopped(writes, applied, done, total, listed, rerun=False) from None
                if isinstance(error, SecodaBadRequestError | SecodaNotFoundError):
                    if writes.creates:
                        raise _stopped(writes, applied, done, total, listed) from None
                    applied.failed.append(listed)
                    continue
                raise _stopped(writes, applied, done, total, listed) from None
            outcomes.add(entry.item, outcome.status, outcome.detail, outcome.columns)
            applied.counts[outcome.status] += 1
            if done % PROGRESS_EVERY == 0 and done < total:
                _progress(context, client, writes, done, total, started)
    finally:
        outcomes.flush()
    context.add_output_metadata(
        {
            "writes": applied.counts[WRITTEN],
            "skipped": applied.counts[SKIPPED],
            "failed": applied.counts[FAILED],
            "dry_run": False,
        }
    )
    context.log.info(
        f"{writes.noun.capitalize()}s: {applied.counts[WRITTEN]} written, "
        f"{applied.counts[SKIPPED]} skipped (nothing needed any more), "
        f"{applied.counts[FAILED]} failed, of {total}"
    )
    if applied.failed:
        raise dg.Failure(
            description=f"{len(applied.failed)} of {total} {writes.noun} write(s) failed: "
            + "; ".join(applied.failed[:MAX_FAILURES_LISTED]),
            metadata={"written": applied.written, "failed": len(applied.failed)},
            allow_retries=False,
        )
    return applied


def _progress(
    context: dg.OpExecutionContext,
    client: SecodaClient,
    writes: Writes,
    done: int,
    total: int,
    started: float,
) -> None:
    remaining = total - done
    eta = client.limiter.seconds_for(remaining)
    context.log.info(
        f"{writes.noun.capitalize()}s: {done} of {total} done, {remaining} remaining, "
        f"{time.monotonic() - started:.0f} s so far, about {duration(eta)} to go"
    )


def _stopped(
    writes: Writes, applied: Applied, done: int, total: int, what: str, rerun: bool = True
) -> dg.Failure:
    """Returns the Failure of a run whose writes stopped at row `done` of `total`."""
    then = (
        " Run the job again: it plans from what Secoda holds then and writes only what is "
        "still needed, never anything twice."
        if rerun
        else ""
    )
    return dg.Failure(
        description=(
            f"wrote {applied.written} of {total} {writes.noun} write(s), then stopped at "
            f"{what}.{then}"
        ),
        metadata={"written": applied.written, "stopped_at_row": done},
        allow_retries=False,
    )


def duration(seconds: float) -> str:
    """Returns seconds as "N min" or "H h M min", for estimates in logs and metadata."""
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


@contextmanager
def workspace_writes(
    context: dg.OpExecutionContext,
    reports: ReportStore,
    client: SecodaClient,
    dry_run: bool,
) -> Iterator[None]:
    """Holds the Secoda workspace for this run while it plans and writes (nothing in a dry
    run), so that one write-back run at a time writes to it, however each was started;
    once it holds it, the client's pace continues the workspace's writes of the last
    minute, as the workspace's journal of writes records them (`continue_write_pace`),
    so a run that starts right after another, even one killed mid-write, never sends more
    than the pace allows within one minute. The client's writes in the block are recorded
    in that journal (`WriteLimiter.journaled`): each before it is sent, again when
    answered.

    Dry run or not, the run beats its heartbeat into the instance for the whole block
    (`RunHeartbeat`), so the deployment's launcher can tell when its worker has died.

    Raises:
        dagster.Failure: another run held it past the store's `write_lock_wait_seconds`
            (names that run; nothing planned or written).
        WarehouseError: the lock could not be taken, or the journal opened or read.
    """
    with ExitStack() as held:
        held.enter_context(RunHeartbeat(context.instance, context.run_id))
        if dry_run:
            yield
            return
        try:
            journal = held.enter_context(
                reports.workspace_lock(client.base_url, context.run_id, log=context.log)
            )
        except WorkspaceBusyError as busy:
            raise dg.Failure(
                description=f"{busy}; nothing was planned or written",
                metadata={"holder_run_id": str(busy.holder.run_id)},
                allow_retries=False,
            ) from None
        continue_write_pace(context, client, journal)
        held.enter_context(client.limiter.journaled(journal))
        yield


def write_back_job(op: dg.OpDefinition, *, name: str, description: str) -> dg.JobDefinition:
    """Returns the job that runs the write-back `op` alone: its run config flat (the fields
    of the op's config class at top level, `flat_run_config`), tagged with the op's
    `secoda/writes` tag so the deployment runs one write-back run at a time, and with
    `secoda/heartbeat` so the deployment's launcher fails it when its worker dies.

    The op runs in the run's own process (the in-process executor), never in a child of
    it: killing the run's worker kills the writer, so no writer outlives its run, and the
    workspace lock it holds is freed with it.

    Raises:
        ValueError: the op declares no `secoda/writes` tag, or takes no `WriteBackConfig`.
    """
    tag = op.tags.get(WRITES_TAG)
    config_class = _config_class(op)
    if not tag or config_class is None:
        raise ValueError(
            f"op {op.name} is not a write-back op: it needs the tag {WRITES_TAG!r} and a "
            "`config` parameter whose type is a WriteBackConfig"
        )

    @dg.job(
        name=name,
        description=description,
        config=flat_run_config(config_class, op.name),
        tags={WRITES_TAG: tag, HEARTBEAT_TAG: f"{HEARTBEAT_SECONDS:g}"},
        executor_def=dg.in_process_executor,
    )
    def write_back() -> None:
        op()

    return write_back


def _config_class(op: dg.OpDefinition) -> type[WriteBackConfig] | None:
    """Returns the WriteBackConfig class of the op's `config` parameter (None without one)."""
    function = op.compute_fn.decorated_fn  # type: ignore[union-attr]
    hint = typing.get_type_hints(function).get("config")
    return hint if isinstance(hint, type) and issubclass(hint, WriteBackConfig) else None
