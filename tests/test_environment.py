"""The environment files agree with each other, with what is installed, and with the README/CI."""

from __future__ import annotations

import importlib
import re
import tomllib
from importlib import metadata

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from g2p import paths


def pins(requirements: list[str]) -> dict[str, str]:
    result = {}
    for line in requirements:
        req = Requirement(line)
        result[canonicalize_name(req.name)] = str(req.specifier)
    return result


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((paths.root / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def pyproject_pins(pyproject) -> dict[str, str]:
    project = pyproject["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return pins(requirements)


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((paths.root / "environment.yml").read_text())


def pip_section(environment: dict) -> list[str]:
    sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one pip section"
    return sections[0]


def test_every_dependency_is_pinned_exactly(pyproject_pins) -> None:
    loose = {name: spec for name, spec in pyproject_pins.items() if not re.fullmatch(r"==[^,]+", spec)}
    assert not loose, f"pin these with ==: {loose}"


def test_environment_yml_lists_the_same_pins_as_pyproject(pyproject_pins, environment) -> None:
    pip = pip_section(environment)
    assert "-e ." in pip, "environment.yml must install the package itself (-e .)"
    env_pins = pins([line for line in pip if not line.startswith("-")])
    only_pyproject = sorted(set(pyproject_pins) - set(env_pins))
    only_env = sorted(set(env_pins) - set(pyproject_pins))
    assert not only_pyproject and not only_env, (
        f"only in pyproject.toml: {only_pyproject}; only in environment.yml: {only_env}"
    )
    differing = {n: (pyproject_pins[n], env_pins[n]) for n in env_pins if env_pins[n] != pyproject_pins[n]}
    assert not differing, f"pins differ (pyproject, environment.yml): {differing}"


def test_environment_yml_has_python_311_and_pip(environment) -> None:
    plain = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in plain and "pip" in plain


def test_installed_versions_match_the_pins(pyproject_pins) -> None:
    wrong = {}
    for name, spec in pyproject_pins.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong[name] = (spec, "not installed")
            continue
        # a local build tag (torch 2.13.0+cpu) satisfies ==2.13.0
        if not Requirement(f"{name}{spec}").specifier.contains(version, prereleases=True):
            wrong[name] = (spec, version)
    assert not wrong, f"installed versions differ from the pins: {wrong}"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (paths.root / ".ci" / "run").read_text()
    assert ci.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "make test", f".ci/run must end by running `make test`, not {commands[-1]!r}"
    readme = (paths.root / "README.md").read_text()
    assert "make test" in readme and "make book" in readme


def test_makefile_has_book_and_test_targets() -> None:
    makefile = (paths.root / "Makefile").read_text()
    for target in ("book", "test", "install"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"Makefile has no '{target}' target"
    assert "PRESET ?= quick" in makefile


def test_apt_txt_lists_plain_package_names() -> None:
    lines = [line.strip() for line in (paths.root / "apt.txt").read_text().splitlines()]
    names = [line for line in lines if line and not line.startswith("#")]
    bad = [n for n in names if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", n)]
    assert not bad, f"apt.txt lines that are not Debian package names: {bad}"


def _resolves(dotted: str) -> bool:
    """Whether ``g2p.a.b.c`` names an importable module or an attribute of one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_readme_architecture_names_only_code_that_exists() -> None:
    readme = (paths.root / "README.md").read_text()
    names = sorted(set(re.findall(r"\bg2p(?:\.[A-Za-z_]\w*)+", readme)))
    assert names, "the README names no g2p modules"
    missing = [name for name in names if not _resolves(name)]
    assert not missing, f"README names code that does not exist: {missing}"
    # the package tree drawn in the README lists real files
    tree = readme.split("src/g2p/\n", 1)[1].split("```", 1)[0]
    for line in tree.splitlines():
        for file in re.findall(r"\b([a-z_]+\.py)\b", line.split("  ")[1] if line.startswith("  ") else ""):
            assert (paths.src / file).is_file(), f"README lists src/g2p/{file}, which does not exist"


def test_readme_lists_every_cli_command() -> None:
    from g2p import cli

    readme = (paths.root / "README.md").read_text()
    for name, command in cli.COMMANDS.items():
        assert f"| `{name}` | `{command.module}` |" in readme, f"README's command table lacks {name}"
