"""Flat run config for the write-back jobs (SPEC B: the launchpad shows exactly the fields)."""

from typing import Any

import dagster as dg
import pydantic
from dagster._core.errors import DagsterInvalidConfigError


def flat_run_config(config_class: type[dg.Config], *op_names: str) -> dg.ConfigMapping:
    """Returns a job-level ConfigMapping whose schema is `config_class`'s fields at top level.

    Every named op receives all of them as its config, so `dagster job execute -c file.yaml`
    takes a file holding just those fields, and the launchpad shows just them. The values
    are validated by `config_class` itself (its bounds, e.g. a depth of at least 0) when the
    run config is resolved, so a bad value refuses the run before any op starts.

    Raises (from the mapping, when a run config is resolved):
        DagsterInvalidConfigError: a value breaks `config_class`'s rules (each named, with
            the rule). Dagster passes its own config errors through unwrapped.
    """

    def route(config: dict[str, Any]) -> dict[str, Any]:
        try:
            config_class.model_validate(config)
        except pydantic.ValidationError as error:
            problems = [
                f"{'.'.join(str(p) for p in e['loc'])} = {e.get('input')!r}: {e['msg']}"
                for e in error.errors()
            ]
            raise DagsterInvalidConfigError(
                "Run config refused: " + "; ".join(problems), [], config
            ) from None
        return {"ops": {name: {"config": dict(config)} for name in op_names}}

    return dg.ConfigMapping(config_fn=route, config_schema=config_class.to_config_schema())
