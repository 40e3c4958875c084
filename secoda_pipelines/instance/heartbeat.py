"""A run's heartbeat in the Dagster instance: proof that its worker process still lives.

With the default run launcher a run is a subprocess of the code server; when the code
server dies (its container killed or restarted) its runs die with it and nothing tells
the instance: the run stays STARTED, holding its place in the run queue's limits (the one
`secoda/writes` slot) until someone cancels it. Dagster's run monitoring can fail such a
run only when the launcher can check the worker's health, which the default launcher
cannot. So a run tagged `HEARTBEAT_TAG` writes the time every `HEARTBEAT_SECONDS` into the
instance's key-value store while its op runs (`RunHeartbeat`), and
`HeartbeatRunLauncher.check_run_worker_health` reads it (`last_sign_of_life`): no sign of
life for `STALE_AFTER_SECONDS` means the worker is gone.

The value lives in the instance (PostgreSQL in a deployment), which the daemon reads
without the code server, so a dead run is failed even while its code server is still down.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)

HEARTBEAT_TAG = "secoda/heartbeat"
HEARTBEAT_SECONDS = 10.0
# Six missed beats. Long enough that a busy process, or the instance's database restarting
# for a few seconds, is not taken for a dead one; short enough that a dead write-back run
# frees the write slot within about a minute and a half (with run monitoring's poll).
STALE_AFTER_SECONDS = 60.0
_KEY_PREFIX = "secoda-pipelines/heartbeat/"


def heartbeat_key(run_id: str) -> str:
    """Returns the instance key-value store's key holding the run's last beat."""
    return _KEY_PREFIX + run_id


def last_sign_of_life(instance: Any, run_id: str) -> float | None:
    """Returns the Unix time of the run's last sign of life: its last heartbeat, or its start
    when it has not beaten yet (its op has not begun); None for a run that has not
    started.

    Raises:
        Exception: whatever the instance's storage raises when it cannot be read.
    """
    record = instance.get_run_record_by_id(run_id)
    started = record.start_time if record is not None else None
    beats = instance.run_storage.get_cursor_values({heartbeat_key(run_id)})
    beat = beats.get(heartbeat_key(run_id))
    times = [t for t in (started, float(beat) if beat else None) if t is not None]
    return max(times) if times else None


class RunHeartbeat:
    """Beats for one run while its block runs: the time written into the instance at once,
    then every `interval` seconds from a daemon thread, which dies with the process (so a
    killed run stops beating). A beat that fails (the instance's database restarting) is
    logged and tried again at the next one; it never fails the run.
    """

    def __init__(self, instance: Any, run_id: str, interval: float = HEARTBEAT_SECONDS):
        """Names the run; nothing is written until the block is entered.

        Raises:
            ValueError: the interval is not positive.
        """
        if interval <= 0:
            raise ValueError(f"the heartbeat interval must be positive, got {interval}")
        self._instance = instance
        self._key = heartbeat_key(run_id)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"RunHeartbeat({self._key!r}, every {self._interval:g} s)"

    def beat(self) -> bool:
        """Writes the time now; returns whether it was stored. Raises nothing."""
        try:
            self._instance.run_storage.set_cursor_values({self._key: f"{time.time():.3f}"})
        except Exception as error:  # the next beat tries again
            logger.warning(f"the run's heartbeat could not be stored ({type(error).__name__})")
            return False
        return True

    def __enter__(self) -> RunHeartbeat:
        self.beat()
        self._thread = threading.Thread(target=self._loop, name="run-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.beat()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval)
            self._thread = None
