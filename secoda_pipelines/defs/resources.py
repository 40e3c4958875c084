"""Dagster resources: the Secoda API and the DuckDB store, configured from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasIOManager
from pydantic import Field, PrivateAttr

from secoda_pipelines.secoda import DEFAULT_BASE_URL, SecodaClient
from secoda_pipelines.store import DuckDBReportStore, ReportStore


class SecodaResource(dg.ConfigurableResource):
    """The Secoda API for assets and jobs: `get_client()` returns one shared `SecodaClient`.

    The client is built on first use, so a missing key fails at the first call that needs
    it, with a message naming SECODA_API_KEY, not when the code location loads.
    """

    api_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="Secoda API base URL (SECODA_API_URL), e.g. https://app.secoda.co/api/v1/",
    )
    api_key: str | None = Field(
        default=None,
        description="Secoda API key (SECODA_API_KEY).",
        json_schema_extra={"dagster__is_secret": True},
        repr=False,  # Dagster rebuilds the resource with EnvVars resolved: keep it out of reprs
    )
    write_limit_per_minute: int = Field(
        default=30,
        description="Writes per minute the client allows itself (SECODA_WRITE_LIMIT_PER_MINUTE).",
    )
    max_in_flight: int = Field(default=8, description="Pages of one listing fetched at once.")
    retry_backoff_seconds: float = Field(
        default=0.5, description="Base of the exponential backoff between retries."
    )

    _client: SecodaClient | None = PrivateAttr(default=None)

    def get_client(self) -> SecodaClient:
        """Returns this resource's client, creating it on first use.

        Raises:
            SecodaConfigError: the base URL is not an http(s) URL or the key is malformed.
        """
        if self._client is None:
            self._client = SecodaClient(
                self.api_key,
                self.api_url,
                write_limit_per_minute=self.write_limit_per_minute,
                max_in_flight=self.max_in_flight,
                backoff_factor=self.retry_backoff_seconds,
            )
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def secoda_resource_from_env() -> SecodaResource:
    """Returns a SecodaResource reading SECODA_API_URL, SECODA_API_KEY and
    SECODA_WRITE_LIMIT_PER_MINUTE through `dg.EnvVar` where they are set, else SPEC defaults.

    An unset SECODA_API_KEY is left unset here so the first API call names it (a bare
    EnvVar would fail every run, even one that never calls the API, at resource init).
    """

    def from_env(name: str, default: str | None) -> str | None:
        return dg.EnvVar(name) if os.environ.get(name) else default

    limit: int | dg.EnvVar = 30
    if os.environ.get("SECODA_WRITE_LIMIT_PER_MINUTE"):
        limit = dg.EnvVar.int("SECODA_WRITE_LIMIT_PER_MINUTE")
    return SecodaResource(
        api_url=from_env("SECODA_API_URL", DEFAULT_BASE_URL),
        api_key=from_env("SECODA_API_KEY", None),
        write_limit_per_minute=limit,
    )


DEFAULT_DUCKDB_PATH = "secoda_warehouse.duckdb"


SCHEMAS = ("secoda", "reports")


def _duckdb_path() -> str:
    path = os.environ.get("SECODA_DUCKDB_PATH")
    if not path:
        return DEFAULT_DUCKDB_PATH
    # DuckDB names a database after its file: `secoda.duckdb` would make `secoda.tables`
    # ambiguous between the catalog `secoda` and the schema `secoda`.
    if Path(path).stem.lower() in SCHEMAS:
        raise ValueError(
            f"SECODA_DUCKDB_PATH={path!r} is named like one of its schemas {SCHEMAS}, which "
            f"DuckDB cannot tell apart; use another name, e.g. {DEFAULT_DUCKDB_PATH!r}"
        )
    return dg.EnvVar("SECODA_DUCKDB_PATH")


def duckdb_io_manager_from_env() -> DuckDBPandasIOManager:
    """Returns the DuckDB IO manager writing to SECODA_DUCKDB_PATH (or the default file)."""
    return DuckDBPandasIOManager(database=_duckdb_path())


def report_store_from_env() -> ReportStore:
    """Returns the store of the jobs' reports: schema `reports` of the same DuckDB file."""
    return DuckDBReportStore(database=_duckdb_path())
