"""Prints the lowest versions pyproject.toml allows, as pip constraints (`name==version`,
one a line), for CI's floor run: pip installs the package against them in a second venv
and the client and store tests run there, so every lower bound in pyproject.toml is one
that has run.

The floor of a requirement is its `>=` (or `~=`) bound, or its `==` pin. Read from
`[project] dependencies` and the optional-dependency groups named with `--extras`; a
requirement there that has no floor is an error (exit 1, naming it): its lowest version
would be whatever pip finds, never tested. pyproject.toml is the only list: nothing here
names a package.

    python .ci/floor_constraints.py --extras test,postgres [--pyproject pyproject.toml]

With `--check-installed` (run by the floor venv's Python, after the install) it prints each
floor beside the version installed instead, and fails unless every one is the floor.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

FLOOR_OPERATORS = (">=", "~=", "==")


def floor(requirement: Requirement) -> str | None:
    """Returns the lowest version `requirement` allows (its `==` pin, else its `>=` or `~=`
    bound), or None when it sets none."""
    found = {spec.operator: spec.version for spec in requirement.specifier}
    for operator in FLOOR_OPERATORS[::-1]:  # a pin first
        version = found.get(operator)
        if version is not None and "*" not in version:
            return version
    return None


def requirements(pyproject: Path, extras: list[str]) -> list[Requirement]:
    """Returns the requirements of the project and of `extras` that apply here (markers).

    Raises:
        KeyError: an extra that pyproject.toml does not declare (named).
    """
    project = tomllib.loads(pyproject.read_text())["project"]
    groups = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in groups]
    if unknown:
        raise KeyError(f"no such extra(s) {unknown} in {pyproject}; it has {sorted(groups)}")
    lines = list(project.get("dependencies", []))
    for extra in extras:
        lines += groups[extra]
    parsed = [Requirement(line) for line in lines]
    return [r for r in parsed if r.marker is None or r.marker.evaluate({"extra": ""})]


def constraints(pyproject: Path, extras: list[str]) -> tuple[list[str], list[str]]:
    """Returns the constraint lines (sorted by name) and the requirements with no floor."""
    lines: dict[str, str] = {}
    missing: list[str] = []
    for requirement in requirements(pyproject, extras):
        version = floor(requirement)
        if version is None:
            missing.append(str(requirement))
            continue
        name = canonicalize_name(requirement.name)
        previous = lines.get(name)
        if previous is not None and previous != f"{name}=={version}":
            missing.append(f"{requirement} (another floor already: {previous})")
        lines[name] = f"{name}=={version}"
    return [lines[name] for name in sorted(lines)], missing


def check_installed(lines: list[str]) -> list[str]:
    """Prints `floor run: NAME VERSION` for each constraint line, with the version this
    Python has installed; returns the lines whose installed version is not the floor."""
    wrong = []
    for line in lines:
        name, wanted = line.split("==")
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "(not installed)"
        print(f"floor run: {name} {installed}")
        if installed != wanted and (
            installed.startswith("(") or Version(installed) != Version(wanted)
        ):
            wrong.append(f"{name} {installed} (floor {wanted})")
    return wrong


def main(argv: list[str] | None = None) -> int:
    """Prints the constraints (or checks them, `--check-installed`); returns 0, or 1 when a
    requirement has no floor, an extra does not exist or a floor is not installed (said on
    standard error)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--extras", default="", help="comma-separated optional groups")
    parser.add_argument(
        "--check-installed",
        action="store_true",
        help="print the installed version of each floor; fail unless it is the floor",
    )
    args = parser.parse_args(argv)
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    try:
        lines, missing = constraints(args.pyproject, extras)
    except KeyError as unknown:
        print(unknown.args[0], file=sys.stderr)
        return 1
    if missing:
        print(
            f"{args.pyproject}: no lower bound (>=, ~= or ==) for {missing}: give each one "
            "that the floor run installs and tests",
            file=sys.stderr,
        )
        return 1
    if args.check_installed:
        wrong = check_installed(lines)
        if wrong:
            print(f"the floors were not installed: {wrong}", file=sys.stderr)
            return 1
        return 0
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
