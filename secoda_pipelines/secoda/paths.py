"""The Secoda API paths the package uses (SPEC part A), spelled once.

Each is a collection, relative to the base URL and ending with a slash; a resource's own
path is `detail_path(collection, id)`.
"""

INTEGRATIONS = "integration/integrations/"
TABLES = "table/tables/"
COLUMNS = "table/columns/"
DASHBOARDS = "dashboard/dashboards/"
QUESTIONS = "question/questions/"
QUESTION_REPLIES = "question/replies/"
MANUAL_LINEAGE = "lineage/manual/"
USERS = "user/"
GROUPS = "auth/group/"
TEAMS = "auth/teams/"
TAGS = "tag/"
