"""Makes the demo dbt project's manifests with a real `dbt parse`.

Each manifest is the project in ``project/`` beside this file, copied to a temporary
directory, with zero or more overlay directories copied over it in order, then parsed by
the given dbt executable (dbt-core with dbt-duckdb). An overlay's files replace or add the
project's files at the same relative paths; a ``deleted_files.txt`` at an overlay's root
lists project paths to remove, one a line (``#`` starts a comment).

By default it writes ``manifests/production.json`` (the project as it is) and
``manifests/pull_request.json`` (with the ``pull_request/`` overlay) beside this file:

    python secoda_pipelines/sandbox/dbt/make_manifests.py --dbt /tmp/dbt112/bin/dbt

``--manifest NAME[=OVERLAY[,OVERLAY...]]`` (repeatable) writes NAME.json instead, e.g. the
test manifests of another dbt version:

    python secoda_pipelines/sandbox/dbt/make_manifests.py --dbt /tmp/dbt17/bin/dbt \\
        --output-dir secoda_pipelines_tests/dbt/manifests/dbt-1.7 \\
        --manifest production --manifest pull_request=secoda_pipelines/sandbox/dbt/pull_request

The manifests are written as dbt wrote them, byte for byte. Needs no network; dbt's
anonymous usage statistics and version check are turned off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"
DELETED_FILES = "deleted_files.txt"
DEFAULT_MANIFESTS = ("production", f"pull_request={HERE / 'pull_request'}")


class MakeError(Exception):
    """A manifest could not be made; the message says which and why."""


def parse_spec(spec: str) -> tuple[str, list[Path]]:
    """Returns (name, overlay directories) of a ``NAME[=DIR[,DIR...]]`` argument.

    Raises:
        MakeError: the name is empty or has a path separator, or an overlay is no directory.
    """
    name, _, overlays = spec.partition("=")
    if not name or "/" in name or os.sep in name:
        raise MakeError(f"--manifest {spec!r}: NAME must be a plain file name, like production")
    dirs = [Path(d) for d in overlays.split(",") if d]
    for directory in dirs:
        if not directory.is_dir():
            raise MakeError(f"--manifest {spec!r}: overlay {str(directory)!r} is no directory")
    return name, dirs


def apply_overlay(project: Path, overlay: Path) -> None:
    """Copies overlay's files over project and removes those its deleted_files.txt lists.

    Raises:
        MakeError: a listed file is not in the project.
    """
    for source in sorted(overlay.rglob("*")):
        relative = source.relative_to(overlay)
        if source.is_dir() or relative == Path(DELETED_FILES):
            continue
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    listing = overlay / DELETED_FILES
    if listing.exists():
        for line in listing.read_text().splitlines():
            path = line.split("#", 1)[0].strip()
            if not path:
                continue
            target = project / path
            if not target.is_file():
                raise MakeError(f"{listing}: {path!r} is not a file of the project")
            target.unlink()


def dbt_parse(dbt: str, project: Path) -> Path:
    """Runs `dbt parse` in project; returns the path of the manifest it wrote.

    Raises:
        MakeError: dbt failed (its output is in the message) or wrote no manifest.
    """
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_VERSION_CHECK": "false",
    }
    command = [dbt, "parse", "--no-partial-parse"]
    command += ["--project-dir", str(project), "--profiles-dir", str(project)]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    manifest = project / "target" / "manifest.json"
    if done.returncode != 0 or not manifest.is_file():
        raise MakeError(
            f"{' '.join(command[:2])} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return manifest


def make_manifest(dbt: str, name: str, overlays: Sequence[Path], output_dir: Path) -> Path:
    """Parses the project with the overlays applied; returns the path of NAME.json written.

    Raises:
        MakeError: an overlay or dbt failed.
    """
    with tempfile.TemporaryDirectory(prefix="shop-dbt-") as temp:
        project = Path(temp) / "shop"
        shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "*.duckdb"))
        for overlay in overlays:
            apply_overlay(project, overlay)
        manifest = dbt_parse(dbt, project)
        output_dir.mkdir(parents=True, exist_ok=True)
        written = output_dir / f"{name}.json"
        shutil.copyfile(manifest, written)
    return written


def describe(path: Path) -> str:
    """Returns one line: the manifest's path, size, schema and dbt versions, node count."""
    manifest = json.loads(path.read_text())
    metadata = manifest["metadata"]
    nodes = [
        n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")
    ]
    return (
        f"{path}: {path.stat().st_size:,} bytes, {metadata['dbt_schema_version']}, "
        f"dbt {metadata['dbt_version']}, {len(nodes)} models, seeds and snapshots"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Makes the manifests the arguments ask for; returns the exit code (0, or 1 on error)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbt", default="dbt", help="the dbt executable (default: dbt)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=HERE / "manifests",
        help="where NAME.json goes (default: manifests/ beside this script)",
    )
    parser.add_argument(
        "--manifest",
        action="append",
        metavar="NAME[=OVERLAY[,OVERLAY...]]",
        help="a manifest to make (repeatable; default: production and pull_request)",
    )
    args = parser.parse_args(argv)
    try:
        specs = [parse_spec(spec) for spec in args.manifest or DEFAULT_MANIFESTS]
        for name, overlays in specs:
            print(describe(make_manifest(args.dbt, name, overlays, args.output_dir)))
    except MakeError as error:
        print(f"make_manifests: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
