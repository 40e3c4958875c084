"""Plugins of the Dagster instance that deploy/dagster.yaml names: the run launcher that
fails a write-back run whose worker died, and the heartbeat it reads.

Imported by the webserver and the daemon (from dagster.yaml) as well as by runs, so it
imports nothing of ours beyond this package and nothing heavier than dagster itself.
"""

from secoda_pipelines.instance.heartbeat import (
    HEARTBEAT_SECONDS,
    HEARTBEAT_TAG,
    STALE_AFTER_SECONDS,
    RunHeartbeat,
    last_sign_of_life,
)
from secoda_pipelines.instance.run_launcher import HeartbeatRunLauncher

__all__ = [
    "HEARTBEAT_SECONDS",
    "HEARTBEAT_TAG",
    "STALE_AFTER_SECONDS",
    "HeartbeatRunLauncher",
    "RunHeartbeat",
    "last_sign_of_life",
]
