"""`migrate_documentation`: the job (`job`), its request (`request`: run config, checks,
listings) and its coverage report (`coverage`). The user's story is docs/migration.md."""

from secoda_pipelines.defs.jobs.migrate_documentation.job import migrate_documentation
from secoda_pipelines.defs.jobs.migrate_documentation.request import MigrateDocumentationConfig

__all__ = ["MigrateDocumentationConfig", "migrate_documentation"]
