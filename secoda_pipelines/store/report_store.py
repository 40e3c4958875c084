"""`ReportStore`: the resource every job writes its report through, whatever the backend.

A job appends its rows once per run (`append`; `append_chunks` or `append_file` for a report
too large to hold), then records what each write did on those same rows (`record_writes`): one row
per resource per run. A write-back run holds the Secoda workspace while it writes
(`workspace_lock`), so that one run at a time writes to it. This module turns a job's
frames into rows of the table's fixed schema; the warehouse its `WarehouseResource` names
when the run starts only runs the SQL. See docs/warehouse.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.store.parquet import parquet_columns, parquet_head
from secoda_pipelines.store.report_rows import typed_rows
from secoda_pipelines.store.report_tables import RUN_COLUMNS, ReportTable, report_table
from secoda_pipelines.store.resource import WarehouseResource
from secoda_pipelines.store.warehouse import Warehouse
from secoda_pipelines.store.workspace_lock import (
    WRITE_LOCK_WAIT_DESCRIPTION,
    WRITE_LOCK_WAIT_SECONDS,
    WorkspaceLock,
)
from secoda_pipelines.store.write_journal import WorkspaceJournal


class ReportStore(dg.ConfigurableResource):
    """Where job reports are kept: the warehouse the assets use, `warehouse`
    (default: `WarehouseResource()`, the environment's when the run starts)."""

    warehouse: WarehouseResource
    write_lock_wait_seconds: float = Field(
        default=WRITE_LOCK_WAIT_SECONDS, ge=0, description=WRITE_LOCK_WAIT_DESCRIPTION
    )

    def __init__(self, *, warehouse: WarehouseResource | None = None, **config):
        # Dagster's nested resources take no default value: give the default here.
        super().__init__(
            warehouse=(warehouse if warehouse is not None else WarehouseResource()),
            **config,
        )

    def get_warehouse(self) -> Warehouse:
        """Returns the warehouse `warehouse` (else the environment, now) names.

        Raises:
            WarehouseError: SECODA_WAREHOUSE_URL is not usable (password never shown).
            ValueError: the DuckDB file is named like one of its schemas.
        """
        return self.warehouse.get_warehouse()

    def workspace_lock(
        self, workspace: str, run_id: str, log: logging.Logger | None = None
    ) -> AbstractContextManager[WorkspaceJournal]:
        """Returns the lock that makes run `run_id` the one writer of the Secoda workspace
        at base URL `workspace`, for a `with` block around the run's writes.

        Entering the block takes it: a session advisory lock in the PostgreSQL warehouse,
        else an flock on a lock file beside the DuckDB file (see `workspace_lock`). While
        another run holds the workspace, it waits up to `write_lock_wait_seconds`, logging
        to `log` (a Dagster log manager, a logger; None: this module's) whom it waits for,
        at once and every minute. Leaving the block releases it, also on an exception; the
        server or the kernel releases it when the process dies. Enter it while holding no
        DuckDB connection or transaction.

        The block's value (`with ... as journal`) is the workspace's journal of writes
        (`write_journal`), open for this run until the block ends: the table
        `reports.write_journal` written on the lock's PostgreSQL session, else the file
        `<duckdb file>.writes-<hash>.journal` beside the lock file. Record the run's
        writes in it (`WriteLimiter.journaled`) and read the workspace's recent writes,
        a killed run's included, from it (`recent_ages`).

        Raises:
            ValueError: `workspace` is not an http(s) URL, or `run_id` is empty (at once).
            WarehouseError: SECODA_WAREHOUSE_URL is not usable (at once), or the lock
                cannot be taken or its journal opened (on entering).
            WorkspaceBusyError: on entering, another run still held the workspace after the
                wait; the message names its run id.
        """
        return WorkspaceLock(
            workspace,
            run_id,
            warehouse=self.get_warehouse(),
            wait_seconds=self.write_lock_wait_seconds,
            log=log,
        )

    def append(
        self,
        table: str,
        rows: pd.DataFrame,
        *,
        run_id: str,
        dry_run: bool,
        reported_at: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Appends `rows` to `reports.<table>`, stamped with run_id, dry_run, reported_at
        (`reported_at`, else now) and item (the row's position); returns the rows as stored.

        Reports are never replaced: each run adds its rows, so what was planned and written
        stays queryable by run.

        Raises:
            KeyError: `table` is not a report table.
            ValueError: `rows` has a column the table does not declare.
        """
        stored: list[pd.DataFrame] = []
        self.append_chunks(
            table,
            [rows],
            run_id=run_id,
            dry_run=dry_run,
            reported_at=reported_at,
            on_chunk=stored.append,
        )
        return stored[0]

    def append_chunks(
        self,
        table: str,
        chunks: Iterable[pd.DataFrame],
        *,
        run_id: str,
        dry_run: bool,
        reported_at: pd.Timestamp | None = None,
        on_chunk: Callable[[pd.DataFrame], None] | None = None,
    ) -> int:
        """Appends every frame of `chunks` to `reports.<table>` in one go, as `append` does
        one frame (item runs on from one chunk to the next), consuming them one at a time
        so that a large report is never whole in memory; hands each chunk, typed as it is
        stored, to `on_chunk`; returns how many rows were appended.

        Raises:
            KeyError: `table` is not a report table.
            ValueError: a chunk has a column the table does not declare (that chunk and
                those after it are not appended; see Warehouse.insert_report_rows).
        """
        spec = report_table(table)
        stamp = reported_at if reported_at is not None else pd.Timestamp.now(tz="UTC")
        appended = 0

        def typed() -> Iterator[pd.DataFrame]:
            nonlocal appended
            for rows in chunks:
                _refuse_undeclared(spec, rows.columns, RUN_NAMES)
                stamped = rows.reset_index(drop=True).assign(
                    run_id=run_id,
                    dry_run=dry_run,
                    reported_at=stamp,
                    item=range(appended, appended + len(rows)),
                )
                frame = typed_rows(spec, stamped)
                appended += len(frame)
                if on_chunk is not None:
                    on_chunk(frame)
                yield frame

        self.get_warehouse().insert_report_rows(spec, typed())
        return appended

    def append_file(
        self,
        table: str,
        path: Path,
        *,
        run_id: str,
        dry_run: bool,
        values: Mapping[str, Any] | None = None,
        reported_at: pd.Timestamp | None = None,
        head: int = 0,
    ) -> pd.DataFrame:
        """Appends the rows of the Parquet file at `path` to `reports.<table>`, stamped with
        run_id, dry_run and reported_at as `append` stamps them and with `values` (column:
        value) on every row; returns the `head` rows of smallest item, typed as stored.

        For a report too large to pass through Python, built in SQL (see `parquet`): the
        file's columns are named as the table's, `item` (0, 1, ... in the report's order)
        among them; the DuckDB warehouse copies it in SQL, another reads it a chunk at a
        time.

        Raises:
            KeyError: `table` is not a report table.
            ValueError: the file or `values` name a column the table does not declare or a
                run column, or the file has no `item` (nothing is appended).
            duckdb.Error: the file is missing or not Parquet (nothing is appended).
        """
        spec = report_table(table)
        columns = parquet_columns(path)
        _refuse_undeclared(spec, [*columns, *(values or {})], RUN_NAMES - {"item"})
        if "item" not in columns:
            raise ValueError(
                f"the file for reports.{table} has no `item` column: number its rows 0, 1, "
                "... in the report's order"
            )
        constants = {
            **(values or {}),
            "run_id": run_id,
            "dry_run": dry_run,
            "reported_at": reported_at if reported_at is not None else pd.Timestamp.now(tz="UTC"),
        }
        first = parquet_head(path, head)
        self.get_warehouse().insert_report_file(spec, path, constants)
        return typed_rows(spec, first.assign(**constants))

    def record_writes(self, table: str, run_id: str, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """Sets, on this run's rows named by `item`, what each write did: `write_status`,
        `write_detail`, `written_at` and any other declared column given (a created id).

        Raises:
            KeyError: `table` is not a report table.
            ValueError: an outcome has no `item`, or names a column the table lacks.
        """
        spec = report_table(table)
        if not outcomes:
            return
        frame = pd.DataFrame(list(outcomes))
        if "item" not in frame.columns or frame["item"].isna().any():
            raise ValueError("every write outcome needs the `item` of its report row")
        writable = set(spec.column_names) - {name for name, _ in RUN_COLUMNS}
        unknown = [c for c in frame.columns if c != "item" and c not in writable]
        if unknown:
            raise ValueError(f"reports.{table} has no column(s) {unknown} to record")
        if "written_at" not in frame.columns:
            frame["written_at"] = pd.Timestamp.now(tz="UTC")
        self.get_warehouse().update_report_rows(
            spec, run_id, typed_rows(spec, frame, only=list(frame.columns))
        )


RUN_NAMES = frozenset(name for name, _ in RUN_COLUMNS)


def _refuse_undeclared(
    spec: ReportTable, columns: Iterable[Any], stamped: AbstractSet[str]
) -> None:
    """Raises ValueError naming the `columns` that `spec` does not declare or that are
    `stamped` (run columns the store sets itself)."""
    undeclared = [c for c in columns if c not in spec.column_names or c in stamped]
    if undeclared:
        raise ValueError(
            f"reports.{spec.name} has no column(s) {undeclared}; declare them in "
            "secoda_pipelines/store/report_tables.py (run_id, dry_run and reported_at are "
            "stamped, not given)"
        )
