"""The code location: `defs`, loaded by workspace.yaml and `dagster dev -m`."""

import dagster as dg

from secoda_pipelines.defs.resources import secoda_resource_from_env

defs = dg.Definitions(resources={"secoda": secoda_resource_from_env()})
