"""The PostgreSQL backend (SECODA_WAREHOUSE_URL; psycopg 3, the `postgres` extra).

`connection` (the URL checked and connected to, its secrets never shown; needs no
psycopg to import), `frames` (DataFrames in and out with COPY), `io` (the assets' IO
manager), `warehouse` (`PostgresWarehouse`: reports and reads), `lock` (one writer per
Secoda workspace: a session advisory lock) and `journal` (its journal of writes, a table
written on the lock's session). Chosen by `store.selection`; other packages use `store`.
"""

__all__: list[str] = []  # other packages use `secoda_pipelines.store`
