"""Provenance of a run: what was built, from which inputs, with which code, on which machine.

The runner calls :func:`write` at the end of every run. It writes ``build/provenance.json`` (for
machines) and ``build/provenance.md`` (the book's last chapter): preset, seed, run id, date, device,
git commit and dirty flag, Python and the version of every pinned package, and for each raw input its
pinned sha256, the sha256 actually found, and which location it was resolved from.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from g2p import atomic, paths

PROVENANCE_JSON = "provenance.json"
PROVENANCE_MD = "provenance.md"


@dataclass(frozen=True)
class GitState:
    commit: str  # full sha, or "unknown" outside a git checkout
    dirty: bool

    @property
    def short(self) -> str:
        return self.commit[:8] + ("-dirty" if self.dirty else "")


@dataclass(frozen=True)
class RawInput:
    name: str
    pinned_sha256: str
    status: str  # "ok" (sha256 matches the pin), "mismatch" or "missing" (no local copy)
    location: str  # "data/raw", "G2P_DATA_MIRROR", "../shared/g2p-data", "elsewhere" or "-"
    path: str
    note: str = ""


@dataclass(frozen=True)
class NotebookRecord:
    """One notebook of a run: executed now, or reused because its inputs hash was unchanged."""

    name: str
    status: str  # "executed" or "reused"
    run_id: str  # the run that produced the executed copy now in build/executed
    seconds: float
    input_hash: str


@dataclass
class Provenance:
    preset: str
    run_id: str
    seed: int | None
    date: str
    device: str
    git: GitState
    python: str
    platform: str
    packages: dict[str, str]
    raw_inputs: list[RawInput]
    notebooks: list[NotebookRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["git"]["short"] = self.git.short
        return data


def git_state(root: Path | None = None) -> GitState:
    """The checked-out commit and whether tracked files differ from it."""
    root = root or paths.root
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return GitState(commit="unknown", dirty=False)
    return GitState(commit=commit, dirty=bool(status.strip()))


def new_run_id(git: GitState | None = None) -> str:
    """One id per runner invocation: UTC time plus the short commit, e.g. 20260101T120000Z-1a2b3c4d."""
    git = git or git_state()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{git.short}"


def pinned_requirements() -> list[str]:
    """Names of the packages pyproject.toml pins (runtime and dev), read from the installed metadata."""
    try:
        requires = metadata.requires("g2p") or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for req in requires:
        name = Requirement(req).name
        if name not in names:
            names.append(name)
    return names


def package_versions(names: Iterable[str] | None = None) -> dict[str, str]:
    names = list(names) if names is not None else pinned_requirements()
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _location(path: Path) -> str:
    """Which of the data layer's search locations a resolved path lies in."""
    path = path.resolve()
    candidates = [("data/raw", paths.raw)]
    mirror = os.environ.get("G2P_DATA_MIRROR")
    if mirror:
        candidates.append(("G2P_DATA_MIRROR", Path(mirror)))
    candidates.append(("../shared/g2p-data", paths.shared_mirror()))
    for label, folder in candidates:
        if path.is_relative_to(folder.resolve()):
            return label
    return "elsewhere"


def raw_inputs() -> list[RawInput]:
    """Every raw source of the data manifest: where its local copy is and whether its sha256 matches.

    Uses the data layer's resolver without downloading anything, and its memoised hashes.
    """
    try:
        from g2p.data import sources
    except ImportError as exc:  # the data layer is not installed yet: say so rather than fail
        return [RawInput("(data layer)", "", "missing", "-", "", note=f"g2p.data.sources: {exc}")]
    resolver = sources.Resolver()
    status = resolver.verify_all()
    records = []
    for name, pinned in sorted(sources.checksums().items()):
        path = resolver.locate(name)
        location = _location(path) if path is not None else "-"
        records.append(RawInput(name, pinned, status.get(name, "missing"), location, str(path or "")))
    return records


def device_description() -> str:
    from g2p import device  # imports torch; deferred so `python -m g2p --help` stays fast

    return device.describe()


def collect(
    preset: str,
    run_id: str,
    *,
    seed: int | None = None,
    notebooks: Sequence[NotebookRecord] = (),
    git: GitState | None = None,
) -> Provenance:
    return Provenance(
        preset=preset,
        run_id=run_id,
        seed=seed,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        device=device_description(),
        git=git or git_state(),
        python=sys.version.split()[0],
        platform=platform.platform(),
        packages=package_versions(),
        raw_inputs=raw_inputs(),
        notebooks=list(notebooks),
    )


def to_markdown(prov: Provenance) -> str:
    lines = [
        "# Provenance",
        "",
        "Every number and figure in this book was produced by the run described here. The runner "
        "(`python -m g2p run`) writes this page at the end of each run.",
        "",
        "| | |",
        "|---|---|",
        f"| preset | `{prov.preset}` |",
        f"| run id | `{prov.run_id}` |",
        f"| date (UTC) | {prov.date} |",
        f"| seed | {prov.seed if prov.seed is not None else 'not set'} |",
        f"| device | {prov.device} |",
        f"| git commit | `{prov.git.commit}`{' (uncommitted changes)' if prov.git.dirty else ''} |",
        f"| Python | {prov.python} on {prov.platform} |",
        "",
        "## Notebooks",
        "",
        "A notebook is *reused* when the hash of its file, the `g2p` source, its parameters, the data "
        "manifest and the notebooks before it equals the hash stamped on its executed copy.",
        "",
        "| notebook | status | run id | seconds | inputs hash |",
        "|---|---|---|---|---|",
    ]
    for nb in prov.notebooks:
        lines.append(
            f"| {nb.name} | {nb.status} | `{nb.run_id}` | {nb.seconds:.1f} | `{nb.input_hash[:12]}` |"
        )
    lines += [
        "",
        "## Raw inputs",
        "",
        "Each raw file of the data manifest, where its local copy was found (the data layer looks in "
        "`data/raw`, then `$G2P_DATA_MIRROR`, then `../shared/g2p-data`), and whether its sha256 "
        "matches the pinned one (*ok*).",
        "",
        "| source | location | sha256 check | pinned sha256 |",
        "|---|---|---|---|",
    ]
    for raw in prov.raw_inputs:
        note = f" ({raw.note})" if raw.note else ""
        lines.append(
            f"| {raw.name} | {raw.location} | {raw.status}{note} | `{raw.pinned_sha256}` |"
        )
    lines += ["", "## Packages", "", "| package | version |", "|---|---|"]
    lines += [f"| {name} | {version} |" for name, version in sorted(prov.packages.items())]
    return "\n".join(lines) + "\n"


def write(prov: Provenance, folder: Path | None = None) -> tuple[Path, Path]:
    """Write ``provenance.json`` and ``provenance.md`` into ``folder`` (default ``build/<preset>/``)."""
    folder = folder or paths.build_dir(prov.preset)
    json_path = atomic.write_text(
        folder / PROVENANCE_JSON, json.dumps(prov.to_json(), indent=2, sort_keys=True) + "\n"
    )
    md_path = atomic.write_text(folder / PROVENANCE_MD, to_markdown(prov))
    return json_path, md_path


def banner(preset: str, device: str, git: GitState, run_id: str) -> str:
    """The line the runner puts at the top of every executed notebook (a book chapter)."""
    return (
        f"> **Provenance.** Built with preset **{preset}** on device **{device}**, "
        f"commit `{git.short}`, run id `{run_id}` — see [Provenance](../provenance.md).\n"
    )
