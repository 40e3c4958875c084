"""Dagster resources: the Secoda API and the warehouse (DuckDB or PostgreSQL).

Nothing here reads the environment when the code location is imported: a code server and
its run workers may have different environments (SPEC B). Each resource reads its
variables when a run, sensor tick or schedule tick first uses it.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from secoda_pipelines.secoda import DEFAULT_BASE_URL, SecodaClient, SecodaConfigError
from secoda_pipelines.store import ReportStore, WarehouseIOManager, WarehouseResource

DEFAULT_WRITE_LIMIT = 30
WAREHOUSE_IO = "warehouse_io"  # the assets' IO manager key
WAREHOUSE = "warehouse"  # the warehouse resource, shared by the IO manager and the reports

# A sensor or schedule tick must end within Dagster's 60 s gRPC timeout (SPEC B: within
# 45 s), whatever Secoda does. A tick's calls give up retrying after TICK_RETRY_SECONDS
# (the client clips each attempt's timeouts to the time left), and an attempt waits at most
# TICK_TIMEOUT (connect, read) seconds, so a call ends by about 30 s and the tick fails
# with the client's own message; the next tick tries again.
TICK_RETRY_SECONDS = 30.0
TICK_TIMEOUT = (5.0, 15.0)


class SecodaResource(dg.ConfigurableResource):
    """The Secoda API for assets and jobs: `get_client()` returns one shared `SecodaClient`;
    sensors and schedules use `get_tick_client()`, whose retries end within a tick's time.

    A field left unset is read from the environment when the client is first built, in the
    run or tick that needs it: SECODA_API_URL (else the SPEC default URL), SECODA_API_KEY,
    SECODA_WRITE_LIMIT_PER_MINUTE (else 30). So a missing key fails at the first call that
    needs it, with a message naming SECODA_API_KEY, and never because of the environment
    the code location happened to be loaded in.
    """

    api_url: str | None = Field(
        default=None,
        description="Secoda API base URL; unset: SECODA_API_URL when the run starts, else "
        f"{DEFAULT_BASE_URL}",
    )
    api_key: str | None = Field(
        default=None,
        description="Secoda API key; unset: SECODA_API_KEY when the run starts.",
        json_schema_extra={"dagster__is_secret": True},
        repr=False,  # Dagster rebuilds the resource with EnvVars resolved: keep it out of reprs
    )
    write_limit_per_minute: int | None = Field(
        default=None,
        description="Writes per minute the client allows itself; unset: "
        f"SECODA_WRITE_LIMIT_PER_MINUTE when the run starts, else {DEFAULT_WRITE_LIMIT}.",
    )
    max_in_flight: int = Field(default=8, description="Pages of one listing fetched at once.")
    retry_backoff_seconds: float = Field(
        default=0.5, description="Base of the exponential backoff between retries."
    )

    _client: SecodaClient | None = PrivateAttr(default=None)
    _tick_client: SecodaClient | None = PrivateAttr(default=None)

    def get_client(self) -> SecodaClient:
        """Returns this resource's client, creating it on first use from the fields and,
        for those unset, the environment as it is now.

        Raises:
            SecodaConfigError: the base URL is not an http(s) URL, the key is malformed, or
                SECODA_WRITE_LIMIT_PER_MINUTE is not a positive whole number.
        """
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def get_tick_client(self) -> SecodaClient:
        """Returns the client for sensor and schedule ticks, created on first use as
        `get_client`'s is, but whose calls stop retrying after TICK_RETRY_SECONDS, each
        attempt waiting at most TICK_TIMEOUT: a tick that finds Secoda down ends with the
        client's message well within Dagster's 60 s tick timeout.

        Raises:
            SecodaConfigError: as `get_client`.
        """
        if self._tick_client is None:
            self._tick_client = self._new_client(
                max_retry_seconds=TICK_RETRY_SECONDS, timeout=TICK_TIMEOUT
            )
        return self._tick_client

    def _new_client(self, **options: Any) -> SecodaClient:
        return SecodaClient(
            self.api_key if self.api_key is not None else os.environ.get("SECODA_API_KEY"),
            self.api_url or os.environ.get("SECODA_API_URL") or DEFAULT_BASE_URL,
            write_limit_per_minute=self._write_limit(),
            max_in_flight=self.max_in_flight,
            backoff_factor=self.retry_backoff_seconds,
            **options,
        )

    def _write_limit(self) -> int:
        if self.write_limit_per_minute is not None:
            return self.write_limit_per_minute
        raw = os.environ.get("SECODA_WRITE_LIMIT_PER_MINUTE", "").strip()
        if not raw:
            return DEFAULT_WRITE_LIMIT
        if not raw.isdigit() or int(raw) < 1:
            raise SecodaConfigError(
                f"SECODA_WRITE_LIMIT_PER_MINUTE={raw!r} is not a positive whole number of "
                f"writes a minute; Secoda allows {DEFAULT_WRITE_LIMIT}"
            )
        return int(raw)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for client in (self._client, self._tick_client):
            if client is not None:
                client.close()
        self._client = self._tick_client = None


def code_location_resources() -> dict[str, object]:
    """Returns the code location's resources by key, every one configured from the
    environment when a run or tick uses it (see the module docstring): the assets' IO
    manager and the job reports share the one warehouse resource."""
    warehouse = WarehouseResource()
    return {
        "secoda": SecodaResource(),
        WAREHOUSE: warehouse,
        "reports": ReportStore(warehouse=warehouse),
        WAREHOUSE_IO: WarehouseIOManager(warehouse=warehouse),
    }


__all__ = [
    "TICK_RETRY_SECONDS",
    "TICK_TIMEOUT",
    "WAREHOUSE",
    "WAREHOUSE_IO",
    "ReportStore",
    "SecodaResource",
    "code_location_resources",
]
