"""The store's error: `WarehouseError`, raised by every backend."""


class WarehouseError(RuntimeError):
    """The warehouse cannot be used: a malformed URL, a refused connection, a failed query.
    Its message never holds a password."""
