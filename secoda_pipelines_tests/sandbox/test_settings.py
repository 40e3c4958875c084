"""SandboxSettings: every knob is checked when set, with an error naming the bad value."""

from __future__ import annotations

import re

import pytest

from secoda_pipelines.sandbox import SandboxSettings


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("page_size", 0, "page_size must be an integer of at least 1; got 0"),
        ("page_style", "xml", "page_style must be one of secoda, drf; got 'xml'"),
        ("ordering", "random", "ordering must be one of oldest_first, newest_first; got 'random'"),
        ("fault_rate", 1.5, "fault_rate must be a number from 0 to 1; got 1.5"),
        ("write_rate_limit", -1, "write_rate_limit must be an integer of at least 0; got -1"),
        ("none_strings", "yes", "none_strings must be True or False; got 'yes'"),
        ("fault_methods", ("FETCH",), "fault method must be one of GET, POST"),
    ],
)
def test_a_bad_value_is_refused_naming_it(name: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        setattr(SandboxSettings(), name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        SandboxSettings(**{name: value})


def test_an_unknown_setting_is_refused_and_the_keys_never_show() -> None:
    settings = SandboxSettings(api_key="a-secret-key", readonly_api_key="another-secret")
    with pytest.raises(AttributeError, match="no sandbox setting 'pagesize'; known: api_key"):
        settings.pagesize = 5  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"api_key must be a non-empty string$"):
        settings.api_key = ""
    assert "secret" not in repr(settings)
    settings.fault_methods = ["get", "patch"]
    assert settings.fault_methods == ("GET", "PATCH")
    assert settings.access("Bearer a-secret-key") == "full"
    assert settings.access("Bearer another-secret") == "readonly"
    assert settings.access("Bearer wrong") is None
