"""The PostgreSQL warehouse on a real server: frames round-trip, partitions replace only
their own rows, writers of different partitions never wait for each other, a reader never
sees a partition half-written, and the URL's password is never shown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import dagster as dg
import numpy as np
import pandas as pd
import psycopg
import pytest

from secoda_pipelines.store import (
    PLANNED,
    WRITTEN,
    ReportStore,
    WarehouseError,
    WarehouseIOManager,
    WarehouseResource,
    choose_warehouse,
)
from secoda_pipelines_tests.helpers import comparable_rows

LETTERS = dg.StaticPartitionsDefinition(["a", "b"])
HOLD = 4242  # the advisory lock key a test trigger waits on
WAIT = 60.0  # seconds a thread may take before the test calls it hung


def _tricky_frame() -> pd.DataFrame:
    """Returns a frame of every dtype the catalog uses, with the values COPY gets wrong when
    done carelessly: tabs, newlines, backslashes, quotes, empty text beside null, nulls of
    every dtype, a JSON list as text, non-ASCII."""
    return pd.DataFrame(
        {
            "id": pd.array(["1", "2", "3", "4"], dtype="string"),
            "text": pd.array(["tab\there", "line\nbreak\r", "back\\slash \\N", None], "string"),
            "quoted": pd.array(['"quoted", with comma', "", "ünïcødé ✓", "'"], dtype="string"),
            "tags": pd.array(['["a","b"]', "[]", None, '["\\\\"]'], dtype="string"),
            "count": pd.array([1, None, -(2**62), 0], dtype="Int64"),
            "pii": pd.array([True, False, None, True], dtype="boolean"),
            "score": np.array([0.5, np.nan, -1e300, 3.0]),
            "at": pd.Series(
                pd.to_datetime(
                    ["2024-01-01T12:00:00.123456Z", None, "1999-12-31T23:59:59.000000Z", None]
                )
            ).dt.tz_convert("UTC"),
        }
    )


def _pg(url: str, sql: str, params: list | None = None) -> list[tuple]:
    """Returns the rows of `sql` on the database at `url` ([] for a statement)."""
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def test_a_frame_comes_back_as_written_with_the_types_declared(warehouse_url: str) -> None:
    frame = _tricky_frame()
    loaded: list[pd.DataFrame] = []

    @dg.asset(key=["test", "frames"], io_manager_key="warehouse_io")
    def frames() -> pd.DataFrame:
        return frame

    @dg.asset(ins={"frames": dg.AssetIn(key=["test", "frames"])}, io_manager_key="mem")
    def reader(frames: pd.DataFrame) -> None:
        loaded.append(frames)

    result = dg.materialize(
        [frames, reader],
        resources={
            "warehouse_io": WarehouseIOManager(
                warehouse=WarehouseResource(warehouse_url=warehouse_url)
            ),
            "mem": dg.InMemoryIOManager(),
        },
    )

    assert result.success
    pd.testing.assert_frame_equal(loaded[0], frame)
    types = dict(
        _pg(
            warehouse_url,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'test' AND table_name = 'frames'",
        )
    )
    assert types == {
        "id": "text",
        "text": "text",
        "quoted": "text",
        "tags": "text",
        "count": "bigint",
        "pii": "boolean",
        "score": "double precision",
        "at": "timestamp with time zone",
    }
    assert _pg(warehouse_url, "SELECT count(*) FROM test.frames WHERE text IS NULL") == [(1,)]
    assert _pg(warehouse_url, "SELECT count(*) FROM test.frames WHERE quoted = ''") == [(1,)]
    metadata = result.asset_materializations_for_node("test__frames")[0].metadata
    database = urlsplit(warehouse_url).path.lstrip("/")
    assert metadata["dagster/table_name"].value == f"{database}.test.frames"
    # The store says where and how; the row count and the schema are the asset's own
    # (defs.metadata), so the UI shows each once.
    assert metadata["dagster/storage_kind"].value == "postgres"
    assert "dagster/row_count" not in metadata and "dataframe_columns" not in metadata


def _letters_asset(rows: dict[str, list[str]]) -> dg.AssetsDefinition:
    """Returns a partitioned asset `test/letters` whose partition p holds ids rows[p]."""

    @dg.asset(
        key=["test", "letters"],
        partitions_def=LETTERS,
        io_manager_key="warehouse_io",
        metadata={"partition_expr": "letter"},
    )
    def letters(context) -> pd.DataFrame:  # no annotation: it would be a string here
        ids = rows[context.partition_key]
        return pd.DataFrame(
            {
                "id": pd.array(ids, dtype="string"),
                "letter": pd.array([context.partition_key] * len(ids), dtype="string"),
            }
        )

    return letters


def _materialize(url: str, rows: dict[str, list[str]], partition: str) -> None:
    result = dg.materialize(
        [_letters_asset(rows)],
        partition_key=partition,
        resources={
            "warehouse_io": WarehouseIOManager(warehouse=WarehouseResource(warehouse_url=url))
        },
    )
    assert result.success


def _ids(url: str, letter: str) -> list[str]:
    rows = _pg(url, "SELECT id FROM test.letters WHERE letter = %s ORDER BY id", [letter])
    return [r[0] for r in rows]


def test_a_partition_rewrite_replaces_only_its_own_rows(warehouse_url: str) -> None:
    first = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"]}
    _materialize(warehouse_url, first, "a")
    _materialize(warehouse_url, first, "b")

    _materialize(warehouse_url, {"a": ["a9"], "b": []}, "a")

    assert _ids(warehouse_url, "a") == ["a9"]
    assert _ids(warehouse_url, "b") == ["b1", "b2"]
    indexes = _pg(warehouse_url, "SELECT indexdef FROM pg_indexes WHERE tablename = 'letters'")
    assert [row[0].split(" USING ")[1] for row in indexes] == ["btree (letter)"]


def _whole_asset(frame: pd.DataFrame) -> dg.AssetsDefinition:
    """Returns an unpartitioned asset `test/whole` holding `frame`."""

    @dg.asset(key=["test", "whole"], io_manager_key="warehouse_io")
    def whole() -> pd.DataFrame:
        return frame

    return whole


def test_an_unpartitioned_rewrite_replaces_every_row_and_adds_new_columns(
    warehouse_url: str,
) -> None:
    frames = [
        pd.DataFrame({"id": pd.array(["1", "2"], dtype="string")}),
        pd.DataFrame(
            {"id": pd.array(["3"], dtype="string"), "added": pd.array([7], dtype="Int64")}
        ),
    ]
    for frame in frames:
        result = dg.materialize(
            [_whole_asset(frame)],
            resources={
                "warehouse_io": WarehouseIOManager(
                    warehouse=WarehouseResource(warehouse_url=warehouse_url)
                )
            },
        )
        assert result.success

    assert _pg(warehouse_url, "SELECT id, added FROM test.whole") == [("3", 7)]


# --- concurrency -----------------------------------------------------------------------


@contextmanager
def _writes_of_a_held(url: str) -> Iterator[psycopg.Connection]:
    """Within the block, a COPY of rows of partition `a` into test.letters waits, inside its
    transaction, until the block ends (a row trigger waits on an advisory lock the block
    holds). Yields the connection holding the lock."""
    holder = psycopg.connect(url, autocommit=True)
    holder.execute(
        "CREATE FUNCTION test.hold_a() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.letter = 'a' THEN PERFORM pg_advisory_xact_lock_shared({HOLD}); END IF; "
        "RETURN NEW; END $$"
    )
    holder.execute(
        "CREATE TRIGGER hold_a BEFORE INSERT ON test.letters "
        "FOR EACH ROW EXECUTE FUNCTION test.hold_a()"
    )
    holder.execute("SELECT pg_advisory_lock(%s)", [HOLD])
    try:
        yield holder
    finally:
        holder.execute("SELECT pg_advisory_unlock(%s)", [HOLD])
        holder.close()


def _waiting_on_advisory_locks(url: str) -> int:
    """Returns how many sessions wait for an advisory lock right now."""
    rows = _pg(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return rows[0][0]


def _wait_until(condition, what: str) -> None:
    event = threading.Event()
    for _ in range(int(WAIT * 20)):
        if condition():
            return
        event.wait(0.05)
    raise AssertionError(f"not within {WAIT:.0f} s: {what}")


def _in_thread(target, *args) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target(*args)
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_writers_of_different_partitions_never_wait_and_readers_never_see_half_a_partition(
    warehouse_url: str,
) -> None:
    _materialize(warehouse_url, {"a": ["a1", "a2"], "b": ["b1"]}, "a")
    _materialize(warehouse_url, {"a": [], "b": ["b1"]}, "b")
    new = {"a": ["a7", "a8", "a9"], "b": ["b5", "b6"]}

    with _writes_of_a_held(warehouse_url):
        writer_a, errors_a = _in_thread(_materialize, warehouse_url, new, "a")
        _wait_until(lambda: _waiting_on_advisory_locks(warehouse_url) == 1, "a's COPY waits")
        # a's old rows are deleted and its new rows partly copied, uncommitted: a reader
        # still sees the partition as it was.
        assert _ids(warehouse_url, "a") == ["a1", "a2"]

        # Partition b's run goes through while a's transaction is open.
        writer_b, errors_b = _in_thread(_materialize, warehouse_url, new, "b")
        writer_b.join(WAIT)
        assert not writer_b.is_alive(), "b's write waited for a's transaction"
        assert errors_b == []
        assert _ids(warehouse_url, "b") == ["b5", "b6"]
        assert _ids(warehouse_url, "a") == ["a1", "a2"]

    writer_a.join(WAIT)
    assert not writer_a.is_alive() and errors_a == []
    assert _ids(warehouse_url, "a") == ["a7", "a8", "a9"]


def test_two_writers_of_the_same_partition_queue_and_leave_one_copy(warehouse_url: str) -> None:
    _materialize(warehouse_url, {"a": ["a1"], "b": []}, "a")

    with _writes_of_a_held(warehouse_url):
        first, errors_first = _in_thread(_materialize, warehouse_url, {"a": ["x1", "x2"]}, "a")
        _wait_until(lambda: _waiting_on_advisory_locks(warehouse_url) == 1, "first COPY waits")
        second, errors_second = _in_thread(_materialize, warehouse_url, {"a": ["y1"]}, "a")
        # The second queues on the partition's lock before deleting anything.
        _wait_until(lambda: _waiting_on_advisory_locks(warehouse_url) == 2, "second queues")
        assert _ids(warehouse_url, "a") == ["a1"]

    for thread in (first, second):
        thread.join(WAIT)
        assert not thread.is_alive()
    assert errors_first == [] and errors_second == []
    assert _ids(warehouse_url, "a") == ["y1"], "the later write replaced the earlier, whole"


# --- job reports -------------------------------------------------------------------------


def _plan_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_integration_id": ["s", "s", "s"],
            "target_integration_id": ["t", "t", "t"],
            "kind": ["table", "column", "column"],
            "key": ["db.sc.t", "db.sc.t.c", "db.sc.t.d"],
            "source_id": ["1", "2", "3"],
            "target_id": ["9", None, "8"],
            "action": ["update", "unmatched", "kept"],
            "fields": [["description", "tags"], [], None],
            "kept_fields": [[], [], ["owners"]],
            "detail": [None, "no target", 'tab\there "q"'],
            "write_status": [PLANNED, None, None],
        }
    )


def test_reports_in_postgresql_equal_the_same_reports_in_duckdb(warehouse_url, tmp_path):
    stores = {
        "duckdb": ReportStore(
            warehouse=WarehouseResource(database=str(tmp_path / "warehouse.duckdb"))
        ),
        "postgres": ReportStore(warehouse=WarehouseResource(warehouse_url=warehouse_url)),
    }
    for store in stores.values():
        plan = _plan_rows()
        chunks = [plan.iloc[:2], plan.iloc[2:]]  # a large plan is appended in chunks
        store.append_chunks("migration_plan", chunks, run_id="run-1", dry_run=False)
        store.record_writes(
            "migration_plan", "run-1", [{"item": 0, "write_status": WRITTEN, "write_detail": "ok"}]
        )
        store.append("downstream_impact", pd.DataFrame(), run_id="run-2", dry_run=True)

    tables = {
        kind: store.get_warehouse().read_table("reports", "migration_plan", {"run_id": "run-1"})
        for kind, store in stores.items()
    }
    times = ("reported_at", "written_at")  # they differ by run
    assert comparable_rows(tables["postgres"], times) == comparable_rows(tables["duckdb"], times)
    written = tables["postgres"].sort_values("item")
    assert written["item"].tolist() == [0, 1, 2]
    assert written["write_status"].fillna("-").tolist() == [WRITTEN, "-", "-"]
    assert written["written_at"].notna().tolist() == [True, False, False]
    assert written["fields"].tolist()[0] == '["description", "tags"]'
    ages = {}
    for kind, store in stores.items():  # the write pace's journal, beside each one's lock
        with store.workspace_lock("http://127.0.0.1:8765/api/v1/", "run-1") as journal:
            journal.answered(journal.sent(time.time()), time.time())
        with store.workspace_lock("http://127.0.0.1:8765/api/v1/", "run-2") as journal:
            ages[kind] = len(journal.recent_ages(600))
    assert ages == {"duckdb": 1, "postgres": 1}
    assert _pg(warehouse_url, "SELECT count(*) FROM reports.downstream_impact") == [(0,)]


def test_a_report_table_of_an_older_shape_is_brought_to_the_declared_one(warehouse_url):
    _pg(
        warehouse_url,
        "CREATE SCHEMA reports; CREATE TABLE reports.migration_plan "
        "(run_id text, item double precision, action text, retired text)",
    )
    _pg(warehouse_url, "INSERT INTO reports.migration_plan VALUES ('old', 0, 'update', 'x')")

    ReportStore(warehouse=WarehouseResource(warehouse_url=warehouse_url)).append(
        "migration_plan", _plan_rows(), run_id="new", dry_run=True
    )

    types = dict(
        _pg(
            warehouse_url,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'reports' AND table_name = 'migration_plan'",
        )
    )
    assert types["item"] == "bigint" and types["dry_run"] == "boolean"
    assert types["retired"] == "text", "a column no longer declared is left alone"
    assert _pg(warehouse_url, "SELECT run_id, item FROM reports.migration_plan ORDER BY 1, 2") == [
        ("new", 0),
        ("new", 1),
        ("new", 2),
        ("old", 0),
    ]


# --- the URL is a secret -------------------------------------------------------------------


def _password(url: str) -> str:
    password = urlsplit(url).password
    assert password, "the fixture's URL carries a password"
    return password


def test_the_password_is_in_no_repr_error_metadata_or_log(warehouse_url, monkeypatch):
    password = _password(warehouse_url)
    monkeypatch.setenv("SECODA_WAREHOUSE_URL", warehouse_url)
    shown = [
        repr(WarehouseIOManager()),
        repr(WarehouseIOManager(warehouse=WarehouseResource(warehouse_url=warehouse_url))),
        repr(ReportStore(warehouse=WarehouseResource(warehouse_url=warehouse_url))),
        repr(choose_warehouse()),
        choose_warehouse().location(),
        choose_warehouse().query_hint("SELECT 1"),
    ]

    # A run that fails in the warehouse: a text value into the bigint column of a table.
    _pg(warehouse_url, "CREATE SCHEMA test; CREATE TABLE test.clash (n bigint)")

    @dg.asset(key=["test", "clash"], io_manager_key="warehouse_io")
    def clash() -> pd.DataFrame:
        return pd.DataFrame({"n": pd.array(["not a number"], dtype="string")})

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [clash],
            instance=instance,
            resources={"warehouse_io": WarehouseIOManager()},
            raise_on_error=False,
        )
        assert not result.success
        logs = [str(entry) for entry in instance.all_logs(result.run_id)]
    failure = result.get_step_failure_events()[0].step_failure_data.error.to_string()
    assert "test.clash" in failure
    shown += [failure, *logs]

    assert not [text for text in shown if password in text]
    parts = urlsplit(warehouse_url)
    named = f"postgresql://{parts.hostname}:{parts.port}{parts.path}"
    assert choose_warehouse().location() == named


@pytest.mark.parametrize(
    "url",
    ["mysql://app:hunter2@db/secoda", "postgresql://app:hunter2@/secoda", "hunter2"],
)
def test_a_url_that_is_not_postgresql_is_refused_without_its_password(url):
    with pytest.raises(WarehouseError) as refused:
        choose_warehouse(url)
    assert "hunter2" not in str(refused.value)
    assert "postgresql://user:password@host:port/database" in str(refused.value)


def test_a_refused_connection_names_the_server_but_not_the_password(warehouse_url):
    parts = urlsplit(warehouse_url)
    closed = warehouse_url.replace(f":{parts.port}/", ":1/")
    with pytest.raises(WarehouseError) as refused:
        ReportStore(warehouse=WarehouseResource(warehouse_url=closed)).append(
            "migration_plan", _plan_rows(), run_id="r", dry_run=True
        )
    message = str(refused.value)
    assert _password(warehouse_url) not in message
    assert f"cannot connect to the warehouse postgresql://127.0.0.1:1{parts.path}:" in message


def test_an_unset_url_keeps_the_duckdb_file_and_the_variable_is_read_at_use(
    warehouse_url, monkeypatch, tmp_path
):
    monkeypatch.delenv("SECODA_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("SECODA_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    store = ReportStore()
    assert choose_warehouse().kind == "duckdb"
    assert choose_warehouse().location() == str(tmp_path / "w.duckdb")

    monkeypatch.setenv("SECODA_WAREHOUSE_URL", warehouse_url)
    store.append("migration_plan", _plan_rows(), run_id="r", dry_run=True)

    assert _pg(warehouse_url, "SELECT count(*) FROM reports.migration_plan") == [(3,)]
    assert not (tmp_path / "w.duckdb").exists()
