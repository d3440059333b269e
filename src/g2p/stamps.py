"""Whether an executed notebook is still current: the hash of everything it depends on, and its stamp.

A notebook's inputs are its own file, its parameters, the pinned checksums of the raw files IT reads
(:func:`raw_sources`: the sources of the datasets in its ``datasets`` parameter, or the diffusion half's
files), the hashes of the chapters it reads from (later notebooks read what earlier ones wrote), and the
code it runs: the ``g2p`` modules its cells import, followed transitively through the package's own
imports (module-level or inside functions, plus modules named in strings such as
``"g2p.genepheno.train"`` that code imports with ``importlib``), their packages' ``__init__`` files, and
the package's data files other than the data manifest (whose pins enter through :func:`raw_sources`).
Editing a diffusion module therefore reruns notebooks 05–06 and leaves the GenePheno chapters' stamps
alone, and adding a source (a new dataset's files) leaves the chapters that do not read it alone.

The import graph is read from the source with ``ast``: nothing is imported to compute a stamp.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from g2p import paths

STAMP_SUFFIX = ".hash"
PACKAGE = "g2p"
# Package data that changes results as much as code does; the data manifest is left out, because each
# notebook's stamp holds the pins of the raw files it reads (raw_sources).
PACKAGE_DATA = ("*.yaml", "*.yml", "*.tsv", "*.json")
DATA_MANIFEST = "data/sources.yaml"
_MODULE_STRING = re.compile(r"^g2p(?:\.\w+)+$")
#: The chapters whose outputs (curated data, trained models) a chapter reads: a rerun of one of them
#: makes the chapter stale too. The course's grader runs (or reuses) them before a submission.
READS: dict[str, tuple[str, ...]] = {
    "01_data_curation": (),
    "02_train_genepheno": ("01_data_curation",),
    "03_evaluate": ("01_data_curation", "02_train_genepheno"),
    "04_interpretability": ("01_data_curation", "02_train_genepheno", "03_evaluate"),
    "05_train_g2pdiffusion": (),
    "06_generate_phenotypes": ("05_train_g2pdiffusion",),
}
#: The raw files a chapter reads: ``"datasets"`` = the sources of the datasets its ``datasets``
#: parameter names (from the dataset table, :func:`g2p.data.specs.sources_for`), or a tuple of source
#: names. A chapter not listed reads every source.
RAW_INPUTS: dict[str, str | tuple[str, ...]] = {
    "01_data_curation": "datasets",
    "02_train_genepheno": "datasets",
    "03_evaluate": "datasets",
    "04_interpretability": "datasets",
    "05_train_g2pdiffusion": ("bold_coi", "taesd_config", "taesd_weights"),
    "06_generate_phenotypes": ("bold_coi", "taesd_config", "taesd_weights"),
}


# --------------------------------------------------------------------------------------- imports
def _module_file(module: str, src: Path) -> Path | None:
    """``g2p.data.curate`` → ``<src>/data/curate.py`` (or a package's ``__init__.py``); ``src`` is the
    package folder (:data:`g2p.paths.src`)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = src.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_inits(module: str) -> list[str]:
    """The packages Python imports before ``module``: ``g2p``, ``g2p.data`` for ``g2p.data.curate``."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported_modules(source: str, current: str = "", src: Path | None = None) -> set[str]:
    """The ``g2p`` modules a piece of code imports (``import g2p.x``, ``from g2p.x import y``, ``from
    g2p import x`` where x is a module, relative imports inside ``current``, and ``"g2p.x"`` strings)."""
    src = src or paths.src
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = current.split(".")[: -node.level] if current else []
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != PACKAGE:
                continue
            found.add(base)
            for alias in node.names:  # `from g2p import paths`: paths is a module
                if _module_file(f"{base}.{alias.name}", src) is not None:
                    found.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_STRING.match(node.value):
            found.add(node.value)
    return {m for m in found if _module_file(m, src) is not None}


@functools.lru_cache(maxsize=512)
def _module_imports(file: str, mtime_ns: int, module: str, src: str) -> frozenset[str]:
    # a relative import in a package's __init__ is anchored at the package itself
    anchor = f"{module}.__init__" if file.endswith("__init__.py") else module
    return frozenset(imported_modules(Path(file).read_text(encoding="utf-8"), anchor, Path(src)))


def module_closure(roots: Iterable[str], src: Path | None = None) -> set[str]:
    """``roots`` and every ``g2p`` module they import, directly or not (with their packages)."""
    src = src or paths.src
    seen: set[str] = set()
    todo = [m for root in roots for m in (*_package_inits(root), root)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        file = _module_file(module, src)
        if file is None:
            continue
        seen.add(module)
        for dep in _module_imports(str(file), file.stat().st_mtime_ns, module, str(src)):
            todo.extend(m for m in (*_package_inits(dep), dep) if m not in seen)
    return seen


def notebook_modules(notebook: Path, src: Path | None = None) -> set[str]:
    """Every ``g2p`` module the code cells of ``notebook`` run, directly or through other modules."""
    import nbformat  # local: artifacts.code_digest imports this module for its closure only

    nb = nbformat.read(notebook, as_version=4)
    roots: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            # IPython magics and shell escapes are not Python; drop those lines before parsing
            code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            roots |= imported_modules(code, "", src)
    return module_closure(roots, src)


# --------------------------------------------------------------------------------------- hashing
def _data_files(src: Path) -> list[Path]:
    return sorted({f for pattern in PACKAGE_DATA for f in src.rglob(pattern)
                   if f.is_file() and "__pycache__" not in f.parts and f.relative_to(src).as_posix() != DATA_MANIFEST})


def source_digest(src: Path | None = None, modules: Iterable[str] | None = None) -> str:
    """One hash over the package's data files and the code of ``modules`` (default: every module)."""
    src = src or paths.src
    if modules is None:
        files = sorted(f for f in src.rglob("*.py") if "__pycache__" not in f.parts)
    else:
        files = sorted(f for f in (_module_file(m, src) for m in modules) if f is not None)
    digest = hashlib.sha256()
    for file in [*files, *_data_files(src)]:
        digest.update(file.relative_to(src).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def notebook_code_digest(notebook: Path, src: Path | None = None) -> str:
    """:func:`source_digest` over the modules ``notebook`` imports (see the module docstring)."""
    return source_digest(src, notebook_modules(notebook, src))


def data_manifest() -> dict[str, str]:
    """The pinned checksums of every raw input."""
    from g2p.data import sources  # the data layer is a floor above; the runner is the only caller

    return dict(sources.checksums())


def raw_sources(notebook: str, parameters: Mapping[str, Any], manifest: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pinned checksums of the raw files the chapter ``notebook`` (a stem) reads with ``parameters``
    (see :data:`RAW_INPUTS`); ``manifest`` is every pin (default: :func:`data_manifest`)."""
    from g2p.data import specs

    manifest = dict(manifest if manifest is not None else data_manifest())
    reads = RAW_INPUTS.get(notebook)
    if reads is None:
        return manifest
    names = specs.sources_for(parameters.get("datasets") or ()) if reads == "datasets" else list(reads)
    return {name: manifest[name] for name in names if name in manifest}


def input_hash(
    notebook: Path,
    parameters: Mapping[str, Any],
    *,
    code: str,
    manifest: Mapping[str, str],
    upstream: str = "",
) -> str:
    """The hash that decides whether an executed notebook is still current.

    ``upstream`` is the hash of the notebook before this one: later notebooks read what earlier
    ones wrote (curated data, checkpoints), so a rerun upstream must invalidate them too.
    """
    digest = hashlib.sha256()
    for part in (
        notebook.read_bytes(),
        code.encode(),
        json.dumps(dict(parameters), sort_keys=True, default=str).encode(),
        json.dumps(dict(manifest), sort_keys=True).encode(),
        upstream.encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def stamp_path(executed: Path) -> Path:
    return executed.with_name(executed.stem + STAMP_SUFFIX)


def is_current(executed: Path, expected_hash: str) -> bool:
    stamp = stamp_path(executed)
    return executed.is_file() and stamp.is_file() and stamp.read_text().strip() == expected_hash
