"""The actions a create-style plan row carries (users, lineage edges, a missing tag)."""

CREATE, EXISTS, INVALID = "create", "exists", "invalid"
