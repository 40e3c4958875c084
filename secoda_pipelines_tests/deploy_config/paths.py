"""Paths and readers shared by the tests of deploy/."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def load_yaml(path: Path) -> dict:
    """Returns the parsed YAML mapping in `path`."""
    with path.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    assert isinstance(loaded, dict), f"{path} does not hold a mapping"
    return loaded
