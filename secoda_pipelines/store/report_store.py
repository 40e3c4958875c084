"""`ReportStore`: the resource every job writes its report through, whatever the backend.

A job appends its rows once per run (`append`), then records what each write did on those
same rows (`record_writes`): one row per resource per run. This module holds what every
backend shares, turning a job's frame into rows of the table's fixed schema; the warehouse
`selection.choose_warehouse` picks when the run starts only runs the SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from secoda_pipelines.store.report_tables import (
    BOOL,
    INT,
    JSON,
    REPORT_TABLES,
    RUN_COLUMNS,
    TIMESTAMP,
    ReportTable,
    report_table,
)
from secoda_pipelines.store.selection import (
    choose_warehouse,
    database_field,
    lock_wait_field,
    warehouse_url_field,
)
from secoda_pipelines.store.warehouse import Warehouse

_PANDAS_TYPES = {BOOL: "boolean", INT: "Int64", TIMESTAMP: "datetime64[ns, UTC]"}


class ReportStore(dg.ConfigurableResource):
    """Where job reports are kept: the warehouse the assets use (PostgreSQL when
    SECODA_WAREHOUSE_URL is set when the run starts, else the DuckDB file)."""

    warehouse_url: str = warehouse_url_field()
    database: str = database_field()
    lock_wait_seconds: float = lock_wait_field()

    def warehouse(self) -> Warehouse:
        """Returns the warehouse these settings (else the environment, now) name.

        Raises:
            WarehouseError: SECODA_WAREHOUSE_URL is not usable (password never shown).
            ValueError: the DuckDB file is named like one of its schemas.
        """
        return choose_warehouse(self.warehouse_url, self.database, self.lock_wait_seconds)

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
        """Appends every frame of `chunks` to `reports.<table>` in one go, as
        `append` does one frame (item runs on from one chunk to the next), consuming them
        one at a time so that a large report is never whole in memory; hands each chunk, typed
        as it is stored, to `on_chunk`; returns how many rows were appended.

        Raises:
            KeyError: `table` is not a report table.
            ValueError: a chunk has a column the table does not declare (that chunk and
                those after it are not appended; see Warehouse.insert_report_rows).
        """
        spec = report_table(table)
        run_names = {name for name, _ in RUN_COLUMNS}
        stamp = reported_at if reported_at is not None else pd.Timestamp.now(tz="UTC")
        appended = 0

        def typed() -> Iterator[pd.DataFrame]:
            nonlocal appended
            for rows in chunks:
                undeclared = [
                    c for c in rows.columns if c not in spec.column_names or c in run_names
                ]
                if undeclared:
                    raise ValueError(
                        f"reports.{table} has no column(s) {undeclared}; declare them in "
                        "secoda_pipelines/store/report_tables.py"
                    )
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

        self.warehouse().insert_report_rows(spec, typed())
        return appended

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
        self.warehouse().update_report_rows(
            spec, run_id, typed_rows(spec, frame, only=list(frame.columns))
        )

    def recent_write_times(self, seconds: float) -> list[pd.Timestamp]:
        """Returns when the writes recorded in the last `seconds` were made, in every
        write-back job's report (UTC timestamps, any order): the workspace's recent writes,
        for a new run to continue their pace."""
        since = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=seconds)
        return self.warehouse().write_times_since(
            [t for t in REPORT_TABLES.values() if t.records_writes], since
        )


def typed_rows(
    spec: ReportTable, rows: pd.DataFrame, only: Sequence[str] | None = None
) -> pd.DataFrame:
    """Returns `rows` with the table's columns (or `only` those), in order, each converted
    to its declared type: lists as JSON text, missing columns as nulls. Raises nothing."""
    names = list(only) if only is not None else list(spec.column_names)
    kinds = dict(spec.columns)
    index = pd.RangeIndex(len(rows))
    out = {}
    for name in names:
        values = rows[name].reset_index(drop=True) if name in rows.columns else None
        kind = kinds[name]
        if values is None:
            values = pd.Series([None] * len(rows), index=index, dtype=object)
        if kind == JSON:
            text = [v if type(v) is str else _json_text(v) for v in values.to_numpy(object)]
            values = pd.Series(text, index=index, dtype="string")
        elif kind in _PANDAS_TYPES:
            values = values.astype(_PANDAS_TYPES[kind])
        else:
            values = values.astype("string")
        out[name] = values
    return pd.DataFrame(out, index=index)


def _json_text(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return str(value)  # already JSON text
