"""What the report rules share: checking a frame's columns, and naive times as UTC.

The rules' inputs are the frames of `catalog.frames`, read back from the warehouse, whose
dtypes differ slightly from ours: each rule coerces the columns it reads again
(`catalog.frames.convert`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> pd.DataFrame:
    """Returns the frame with a fresh 0..n-1 index.

    Raises:
        ValueError: the frame lacks some of `columns` (each named, with the frame's `name`).
    """
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}")
    return frame.reset_index(drop=True)


def optional_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """Returns the frame's `column`, or nulls (object dtype) when it has none."""
    if column in frame.columns:
        return frame[column]
    return pd.Series([None] * len(frame), dtype=object, index=frame.index)


def as_utc(now: datetime) -> pd.Timestamp:
    """Returns `now` as a UTC timestamp (a naive `now` taken as UTC)."""
    stamp = pd.Timestamp(now)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
