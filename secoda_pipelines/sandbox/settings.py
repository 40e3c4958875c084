"""The sandbox's live settings: one mutable, validated object read at every request.

Construction options that fix what is served (the file, the scale, the address) stay on
``Sandbox``; everything here may be changed on a running sandbox (docs/sandbox.md, Options).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from secoda_pipelines.sandbox.faults import HTTP_METHODS, check_kind
from secoda_pipelines.sandbox.records import RequestRecord

DEFAULT_API_KEY = "sandbox-secret-key"
DEFAULT_READONLY_API_KEY = "sandbox-readonly-key"
PAGE_STYLES = ("secoda", "drf")
LINEAGE_SPELLINGS = ("from_entity", "from_entity_id")
ORDERINGS = ("oldest_first", "newest_first")


def _one_of(name: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
        return value

    return check


def _number(name: str, low: float, high: float | None = None, integer: bool = False) -> Any:
    kind = "an integer" if integer else "a number"
    bound = f"from {low:g} to {high:g}" if high is not None else f"of at least {low:g}"

    def check(value: Any) -> float | int:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if (
            not ok_type
            or isinstance(value, bool)
            or value < low
            or (high is not None and value > high)
        ):
            raise ValueError(f"{name} must be {kind} {bound}; got {value!r}")
        return value

    return check


def _api_key(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("api_key must be a non-empty string")  # never echo a key
    return value


def _readonly_api_key(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError("readonly_api_key must be a non-empty string or None")
    return value


def _fault_kinds(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise ValueError(f"fault_kinds must be a list of kinds or None; got the string {value!r}")
    return tuple(check_kind(kind) for kind in value)


def _fault_methods(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValueError(f"fault_methods must be a list of methods; got the string {value!r}")
    methods = tuple(str(m).upper() for m in value)
    for method in methods:
        if method not in HTTP_METHODS:
            raise ValueError(
                f"fault method must be one of {', '.join(HTTP_METHODS)}; got {method!r}"
            )
    return methods


def _write_rate_limit(value: Any) -> int | None:
    if value is None:
        return None
    return _number("write_rate_limit", 0, integer=True)(value)


def _optional_path(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(
            f"next_link_path must be a path such as 'table/tables/' or None; got {value!r}"
        )
    return value


def _flag(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False; got {value!r}")
        return value

    return check


def _callback(value: Any) -> Callable[[RequestRecord], None] | None:
    if value is not None and not callable(value):
        raise ValueError(
            f"on_request must be a callable taking a RequestRecord, or None; got {value!r}"
        )
    return value


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "api_key": _api_key,
    "readonly_api_key": _readonly_api_key,
    "page_size": _number("page_size", 1, integer=True),
    "latency_ms": _number("latency_ms", 0),
    "fault_rate": _number("fault_rate", 0, 1),
    "fault_kinds": _fault_kinds,
    "fault_methods": _fault_methods,
    "write_rate_limit": _write_rate_limit,
    "write_window_s": _number("write_window_s", 0),
    "page_style": _one_of("page_style", PAGE_STYLES),
    "none_strings": _flag("none_strings"),
    "next_link_path": _optional_path,
    "lineage_spelling": _one_of("lineage_spelling", LINEAGE_SPELLINGS),
    "ordering": _one_of("ordering", ORDERINGS),
    "verbose": _flag("verbose"),
    "on_request": _callback,
}


@dataclass
class SandboxSettings:
    """What a running sandbox serves with, read at every request; see docs/sandbox.md.

    Every assignment is checked: a bad value raises ValueError naming it and what is
    valid. The keys never appear in the repr.
    """

    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    readonly_api_key: str | None = field(default=DEFAULT_READONLY_API_KEY, repr=False)
    page_size: int = 50
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] | None = None  # None: faults.RANDOM_FAULT_KINDS
    fault_methods: tuple[str, ...] = ("GET",)
    write_rate_limit: int | None = 30  # None or 0: no limit
    write_window_s: float = 60.0
    page_style: str = "secoda"
    none_strings: bool = False
    next_link_path: str | None = None
    lineage_spelling: str = "from_entity"
    ordering: str = "oldest_first"
    verbose: bool = False
    on_request: Callable[[RequestRecord], None] | None = field(default=None, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        """Sets a setting after checking it.

        Raises:
            ValueError: the value is not valid for that setting (the message says why).
            AttributeError: no setting of that name.
        """
        check = _CHECKS.get(name)
        if check is None:
            raise AttributeError(f"no sandbox setting {name!r}; known: {', '.join(_CHECKS)}")
        object.__setattr__(self, name, check(value))

    def access(self, authorization: str | None) -> str | None:
        """Returns "full", "readonly" or None (no valid Bearer key) for the header."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        key = authorization[len("Bearer ") :].strip().encode()
        if hmac.compare_digest(key, self.api_key.encode()):
            return "full"
        readonly = self.readonly_api_key
        if readonly and hmac.compare_digest(key, readonly.encode()):
            return "readonly"
        return None


SETTING_NAMES = frozenset(f.name for f in fields(SandboxSettings))
assert set(_CHECKS) == SETTING_NAMES
