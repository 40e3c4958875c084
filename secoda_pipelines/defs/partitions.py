"""Partitions: one per Secoda integration, added by the sensor (or the demo)."""

import dagster as dg

secoda_integrations = dg.DynamicPartitionsDefinition(name="secoda_integrations")
