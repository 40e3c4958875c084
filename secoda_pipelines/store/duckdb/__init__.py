"""The DuckDB backend, the default: every table in one file (SECODA_DUCKDB_PATH).

`files` (which file, connecting patiently: one writer at a time), `io` (the assets' IO
manager), `warehouse` (`DuckDBWarehouse`: reports and reads), `lock` (one writer per
Secoda workspace: a lock file beside the DuckDB file) and `journal` (its journal of
writes, the file beside it). Chosen by `store.selection`; other packages use `store`.
"""

__all__: list[str] = []  # other packages use `secoda_pipelines.store`
