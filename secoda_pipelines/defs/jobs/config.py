"""Flat run config for the write-back jobs (SPEC B: the launchpad shows exactly the fields)."""

from typing import Any

import dagster as dg


def flat_run_config(config_class: type[dg.Config], *op_names: str) -> dg.ConfigMapping:
    """Returns a job-level ConfigMapping whose schema is `config_class`'s fields at top level.

    Every named op receives all of them as its config, so `dagster job execute -c file.yaml`
    takes a file holding just those fields, and the launchpad shows just them.
    """

    def route(config: dict[str, Any]) -> dict[str, Any]:
        return {"ops": {name: {"config": dict(config)} for name in op_names}}

    return dg.ConfigMapping(config_fn=route, config_schema=config_class.to_config_schema())
