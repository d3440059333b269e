"""Execute the notebooks in order with papermill; papermill is the book's only executor.

``python -m g2p run --preset quick [--only 01_data_curation ...] [--force]`` runs
``notebooks/[0-9][0-9]_*.ipynb`` in name order into ``build/<preset>/executed/<same name>.ipynb``
(one folder per preset, under ``g2p.paths.output_root``):

* the preset is validated first (:mod:`g2p.presets`): a misspelt or mistyped key stops the run before
  any notebook starts, naming the YAML file, line and key;

* each notebook receives only the preset values for the names its ``parameters`` cell declares;
* the kernel sees ``G2P_NOTEBOOK``, ``G2P_PRESET`` and ``G2P_RUN_ID`` (one run id per invocation);
* a notebook is skipped when the hash of its inputs (notebook file, the ``g2p`` modules it imports and
  the package data, its parameters, the pins of the raw files it reads, and the hashes of the chapters it reads from;
  :mod:`g2p.stamps`) equals the stamp
  beside its executed copy; the stamp is written only after success;
* each executed copy gets a provenance banner after its title cell;
* a failure raises :class:`NotebookExecutionError` naming the notebook and the failing cell, and keeps
  the failed copy in ``build/<preset>/executed/failed/`` for inspection;
* an interrupt (Ctrl-C) or a time limit (SIGTERM, e.g. from ``timeout`` or a CI job) stops the kernel
  quietly: the kernel's own output (its log, and the tracebacks of a kernel shut down mid-cell:
  ``ZMQError … Socket operation on non-socket``) goes to a log file beside the execution, never to the
  terminal, the interrupted notebook leaves no executed copy or stamp behind, and the command prints
  one line (:class:`RunInterrupted`).

``python -m g2p book --preset quick`` builds the Jupyter Book from that preset's executed notebooks
(see :func:`build_book`).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from g2p import atomic, bookpages, config, landing, paths, presets, provenance
from g2p.kernels import RunInterrupted, quiet_kernel_manager
from g2p.stamps import READS, data_manifest, input_hash, is_current, notebook_code_digest, raw_sources, stamp_path
from g2p.errors import G2PError, InputError
from g2p.exercise_cells import student_view
from g2p.glued import _parse_repr, read_glued  # noqa: F401 - read back here by tests and course.py

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
FAILED = "failed"
BANNER_TAG = "g2p-provenance"
KERNEL = "python3"


class NotebookExecutionError(G2PError):
    """A notebook failed; the message names the notebook, the cell and the exception."""

    def __init__(
        self,
        notebook: str,
        message: str,
        *,
        cell_index: int | None = None,
        source: str = "",
        failed_copy: Path | None = None,
    ) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.source = source
        self.failed_copy = failed_copy
        super().__init__(message)


class BookInputsMissing(G2PError, FileNotFoundError):
    """The book's table of contents names executed notebooks (or pages) that do not exist."""

    exit_code = 2


@dataclass(frozen=True)
class RunResult:
    preset: str
    run_id: str
    executed_dir: Path
    notebooks: list[provenance.NotebookRecord]


# --------------------------------------------------------------------------------------- discovery
def discover(notebooks_dir: Path | None = None, only: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks in order; ``only`` picks some by stem, file name or number prefix."""
    notebooks_dir = notebooks_dir or paths.notebooks
    found = sorted(notebooks_dir.glob(NOTEBOOK_GLOB))
    if not only:
        return found
    chosen = []
    for want in only:
        key = Path(want).name.removesuffix(".ipynb")
        matches = [p for p in found if p.stem == key or p.stem.split("_", 1)[0] == key]
        if not matches:
            names = ", ".join(p.stem for p in found) or "none"
            raise InputError(f"no notebook {want!r}", path=notebooks_dir, field="only", hint=f"available: {names}")
        chosen += [p for p in matches if p not in chosen]
    return sorted(chosen)


def declared_parameters(notebook: Path) -> list[str]:
    import papermill

    return list(papermill.inspect_notebook(str(notebook)))


def parameters_for(notebook: Path, preset: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The preset values for exactly the names the notebook's parameters cell declares, with the
    ``given`` values (the command line's, e.g. ``--hf-model``) on top where it declares them."""
    available = {**config.resolve(preset).parameters(notebook.stem), **(given or {})}
    return {name: available[name] for name in declared_parameters(notebook) if name in available}


def check_given(given: Mapping[str, Any], notebooks: Sequence[Path]) -> dict[str, Any]:
    """``given`` without its ``None`` values; a name no notebook declares is an :class:`InputError`."""
    given = {k: v for k, v in given.items() if v is not None}
    declared = {name for notebook in notebooks for name in declared_parameters(notebook)}
    for name in given:
        if name not in declared:
            raise InputError(f"no notebook has a parameter {name!r}", field=name,
                             hint="see the parameters cell at the top of each notebook")
    return given


# --------------------------------------------------------------------------------------- execution
@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the kernel papermill is about to start; restore them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _run_lock(executed_dir: Path) -> Iterator[None]:
    """Serialise runs that share an executed folder (several test sessions on one checkout)."""
    executed_dir.parent.mkdir(parents=True, exist_ok=True)
    with (executed_dir.parent / f".{executed_dir.name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _add_banner(nb: nbformat.NotebookNode, text: str, metadata: Mapping[str, Any]) -> None:
    """Insert the provenance banner after the title cell and record the run in the metadata."""
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [BANNER_TAG]})
    nb.cells.insert(1 if nb.cells else 0, cell)
    nb.metadata["g2p"] = dict(metadata)


def _failure(name: str, exc: BaseException, failed_copy: Path | None) -> NotebookExecutionError:
    from papermill.exceptions import PapermillExecutionError

    kept = f"\nThe failed executed copy is kept at {failed_copy}" if failed_copy else ""
    if isinstance(exc, PapermillExecutionError):
        first_lines = "\n".join("    " + line for line in exc.source.splitlines()[:5])
        message = (
            f"notebook {name} failed in cell {exc.cell_index} (execution count {exc.exec_count}):\n"
            f"{first_lines}\n{exc.ename}: {exc.evalue}{kept}"
        )
        return NotebookExecutionError(
            name, message, cell_index=exc.cell_index, source=exc.source, failed_copy=failed_copy
        )
    message = f"notebook {name} failed: {type(exc).__name__}: {exc}{kept}"
    return NotebookExecutionError(name, message, failed_copy=failed_copy)


def execute_notebook(
    notebook: Path,
    target: Path,
    parameters: Mapping[str, Any],
    env: Mapping[str, str],
    banner: str,
    metadata: Mapping[str, Any],
    *,
    progress_bar: bool = False,
) -> None:
    """Run one notebook into ``target`` atomically; on failure keep ``failed/<name>`` and raise."""
    import papermill

    with atomic.temporary_directory(target) as tmp:
        scratch = tmp / target.name
        kernel_log = tmp / "kernel.log"
        start = time.perf_counter()
        try:
            with _environment(env):
                papermill.execute_notebook(
                    str(notebook),
                    str(scratch),
                    parameters=dict(parameters),
                    kernel_name=KERNEL,
                    cwd=str(paths.root),
                    progress_bar=progress_bar,
                    log_output=False,
                    kernel_manager_class=quiet_kernel_manager(kernel_log),
                )
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (g2p.cli raises Terminated for it)
            # nbclient's cell task, cut off, fails with DeadKernelError once the kernel is gone; asyncio
            # would log that as "Task exception was never retrieved" when the process exits
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)
            raise RunInterrupted(f"notebook {target.name} stopped after {time.perf_counter() - start:.0f} s; its "
                                 "kernel was shut down and nothing of this execution was kept "
                                 "(run again to execute it)") from exc
        except Exception as exc:
            failed_copy = None
            if scratch.exists():
                failed_copy = target.parent / FAILED / target.name
                atomic.write_bytes(failed_copy, scratch.read_bytes())
            if kernel_log.is_file() and kernel_log.stat().st_size:  # a kernel that died says why here
                atomic.write_bytes(target.parent / FAILED / f"{target.stem}.kernel.log", kernel_log.read_bytes())
            raise _failure(target.name, exc, failed_copy) from exc
        nb = nbformat.read(scratch, as_version=4)
        _add_banner(nb, banner, {**metadata, "seconds": round(time.perf_counter() - start, 2)})
        atomic.write_text(target, nbformat.writes(nb))
    (target.parent / FAILED / target.name).unlink(missing_ok=True)


def _log(message: str) -> None:
    print(f"[g2p run] {message}", file=sys.stderr, flush=True)


def notebook_digests(preset: str, notebooks: Sequence[Path], given: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Each notebook's input hash under ``preset`` (:func:`g2p.stamps.input_hash`), in order: its file,
    parameters, code, the pins of the raw files it reads, and the hashes of the chapters it reads from
    (all earlier ones, if undeclared), so a rerun upstream makes it stale too."""
    manifest = data_manifest()
    digests: dict[str, str] = {}
    for notebook in notebooks:
        params = parameters_for(notebook, preset, given)
        upstream = "".join(digests.get(stem, "") for stem in READS.get(notebook.stem, tuple(digests)))
        digests[notebook.stem] = input_hash(notebook, params, code=notebook_code_digest(notebook),
                                            manifest=raw_sources(notebook.stem, params, manifest), upstream=upstream)
    return digests


def run(
    preset: str = "quick",
    *,
    only: Sequence[str] | None = None,
    force: bool = False,
    notebooks_dir: Path | None = None,
    executed_dir: Path | None = None,
    run_id: str | None = None,
    write_provenance: bool = True,
    parameters: Mapping[str, Any] | None = None,
) -> RunResult:
    """Execute the notebooks of ``preset`` in order, reusing those whose inputs are unchanged;
    ``parameters`` (``None`` values left out) go on top of the preset's in every notebook declaring them."""
    config.resolve(preset)  # fail early on an unknown preset or a bad parameter file
    notebooks_dir = notebooks_dir or paths.notebooks
    executed_dir = executed_dir or paths.executed_dir(preset)
    everything = discover(notebooks_dir)
    given = check_given(parameters or {}, everything)
    selected = set(discover(notebooks_dir, only))
    git = provenance.git_state()
    run_id = run_id or provenance.new_run_id(git)
    device = provenance.device_description()
    records: list[provenance.NotebookRecord] = []
    _log(f"preset {preset}, run id {run_id}, device {device}, {len(selected)} notebook(s)")
    with _run_lock(executed_dir):
        digests = notebook_digests(preset, everything, given)
        for notebook in everything:
            params = parameters_for(notebook, preset, given)
            digest = digests[notebook.stem]
            if notebook not in selected:
                continue
            target = executed_dir / notebook.name
            if not force and is_current(target, digest):
                previous = nbformat.read(target, as_version=4).metadata.get("g2p", {})
                _log(f"{notebook.stem}: unchanged, reusing {target.relative_to(executed_dir.parent)}")
                records.append(
                    provenance.NotebookRecord(
                        notebook.stem, "reused", previous.get("run_id", "unknown"),
                        float(previous.get("seconds", 0.0)), digest,
                    )
                )
                continue
            _log(f"{notebook.stem}: executing with {params}")
            start = time.perf_counter()
            # a stale copy must not outlive a rerun: if this one fails, the book names it missing
            stamp_path(target).unlink(missing_ok=True)
            target.unlink(missing_ok=True)
            env = {"G2P_NOTEBOOK": notebook.stem, "G2P_PRESET": preset, "G2P_RUN_ID": run_id}
            meta = {"preset": preset, "run_id": run_id, "device": device, "commit": git.commit,
                    "dirty": git.dirty, "input_hash": digest, "parameters": params}
            try:
                execute_notebook(
                    notebook, target, params, env,
                    provenance.banner(preset, device, git, run_id),
                    meta, progress_bar=sys.stderr.isatty(),
                )
            except NotebookExecutionError:
                _log(f"{notebook.stem}: FAILED after {time.perf_counter() - start:.1f} s")
                raise
            seconds = time.perf_counter() - start
            atomic.write_text(stamp_path(target), digest + "\n")
            _log(f"{notebook.stem}: done in {seconds:.1f} s")
            records.append(provenance.NotebookRecord(notebook.stem, "executed", run_id, seconds, digest))
        if write_provenance:
            seed = config.resolve(preset).common.get("seed")
            prov = provenance.collect(preset, run_id, seed=seed, notebooks=records, git=git)
            json_path, _ = provenance.write(prov, executed_dir.parent)
            landing.write(preset, executed_dir.parent)
            _log(f"provenance and landing page written to {json_path.parent}")
    return RunResult(preset, run_id, executed_dir, records)


# --------------------------------------------------------------------------------------- book
def missing_book_inputs(root: Path | None = None) -> list[str]:
    root = root or paths.root
    missing = []
    for page in bookpages.toc_files(root / "_toc.yml"):
        if not any((root / f"{page}{suffix}").is_file() for suffix in (".md", ".ipynb")):
            missing.append(page)
    return missing


#: What the book is made of, besides the executed notebooks: copied from the source tree.
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")


def _sync(source: Path, target: Path, *, leave: str | None = None) -> None:
    """Make ``target`` an exact copy of file or folder ``source`` (copy2 keeps mtimes, so Sphinx only
    rebuilds pages whose source changed); a missing ``source`` removes ``target``. Files of a folder
    matching the glob ``leave`` are not copied (the caller writes them) but kept while ``source`` has them."""
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        wanted = {p.name for p in source.iterdir() if not p.name.startswith(".") and p.name != "failed"}
        for stale in [p for p in target.iterdir() if p.name not in wanted]:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        for name in sorted(wanted):
            if leave is None or not (source / name).match(leave):
                _sync(source / name, target / name)
    elif source.is_file():
        if target.is_dir():
            shutil.rmtree(target)
        if not target.is_file() or target.stat().st_mtime_ns != source.stat().st_mtime_ns \
                or target.stat().st_size != source.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    elif target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()


def stage_book(preset: str, *, source_root: Path | None = None, build_dir: Path | None = None,
               stage: Path | None = None) -> Path:
    """Lay out the book of ``preset`` in ``build/<preset>/book/`` and return that folder.

    The stage has the source tree's layout, so ``_toc.yml``'s pages (``build/executed/NN_*``,
    ``build/provenance``) and the banners' relative links need no rewriting: ``_config.yml``,
    ``_toc.yml`` and ``book/`` come from the source tree, ``build/executed/`` (each notebook made a page
    by :func:`g2p.bookpages.prepare`), ``build/provenance.md`` and ``build/landing.md`` (rewritten from
    the results files, :mod:`g2p.landing`) from ``build/<preset>/``, ``figures/`` from
    ``figures/<preset>/``.
    """
    source_root = source_root or paths.root
    build_dir = build_dir or paths.build_dir(preset)
    stage = stage or build_dir / "book"
    for name in BOOK_SOURCES:
        _sync(source_root / name, stage / name)
    executed, staged = build_dir / "executed", stage / "build" / "executed"
    _sync(executed, staged, leave=NOTEBOOK_GLOB)  # removes the pages of notebooks that are gone
    for notebook in sorted(executed.glob(NOTEBOOK_GLOB)):
        bookpages.stage_notebook(notebook, staged / notebook.name, preset, build_dir.parent)
    _sync(build_dir / provenance.PROVENANCE_MD, stage / "build" / provenance.PROVENANCE_MD)
    landing.write(preset, build_dir)
    _sync(build_dir / landing.LANDING_MD, stage / "build" / landing.LANDING_MD)
    _sync(paths.figures_dir(preset), stage / "figures")
    return stage


def build_book(preset: str = "quick", path_output: Path | None = None, *, source_root: Path | None = None,
               build_dir: Path | None = None) -> Path:
    """Build the book of ``preset`` (``jupyter-book build -W -n --keep-going``); returns the html folder.

    Pages come from ``build/<preset>/`` through :func:`stage_book`; the html goes to
    ``<path_output>/_build/html`` (default: ``g2p.paths.output_root``). Raises
    :class:`BookInputsMissing` naming pages (usually executed notebooks) that do not exist, and
    :class:`G2PError` when Sphinx reports any warning or error.
    """
    source_root = source_root or paths.root
    build_dir = build_dir or paths.build_dir(preset)
    missing = [page for page in bookpages.toc_files(source_root / "_toc.yml")
               if not any((build_dir / page.removeprefix("build/") if page.startswith("build/") else source_root / page)
                          .with_name(Path(page).name + suffix).is_file() for suffix in (".md", ".ipynb"))]
    if missing:
        reasons = []
        for page in missing:
            source = source_root / "notebooks" / f"{Path(page).name}.ipynb"
            shown = page.replace("build/", f"{build_dir}/", 1) if page.startswith("build/") else page
            if page.startswith("build/executed/") and not source.is_file():
                reasons.append(f"{shown}: notebooks/{source.name} does not exist")
            elif page.startswith("build/"):
                reasons.append(f"{shown}: not executed yet")
            else:
                reasons.append(f"{page}: no such .md or .ipynb file")
        raise BookInputsMissing(
            f"the {preset} book needs pages that do not exist: " + "; ".join(reasons),
            hint=f"run the notebooks first: python -m g2p run --preset {preset} (or PRESET={preset} make book)",
        )
    stage = stage_book(preset, source_root=source_root, build_dir=build_dir)
    exe = Path(sys.executable).with_name("jupyter-book")
    output = Path(path_output) if path_output is not None else paths.output_root
    command = [str(exe if exe.exists() else shutil.which("jupyter-book") or "jupyter-book")]
    command += ["build", str(stage), "-W", "-n", "--keep-going", "--path-output", str(output)]
    try:
        subprocess.run(command, cwd=stage, check=True)
    except subprocess.CalledProcessError as exc:
        raise G2PError(f"jupyter-book failed (exit {exc.returncode}); warnings are errors (-W)", path=stage,
                       hint="the Sphinx messages above name the page") from exc
    html = output / "_build" / "html"
    # The page's download button serves _sources/<page>.ipynb: make it the executed notebook as papermill
    # wrote it (runnable in Jupyter), not the staged page (figure blocks, folded cells), but with the
    # exercises' solutions and hidden checks taken out as on the page (the book is for students too).
    for notebook in sorted((build_dir / "executed").glob(NOTEBOOK_GLOB)):
        download = html / "_sources" / "build" / "executed" / notebook.name
        if download.parent.is_dir():
            view = student_view(json.loads(notebook.read_text()), notebook.name)
            atomic.write_text(download, json.dumps(view, indent=1, ensure_ascii=False) + "\n")
    return html


# --------------------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="quick", choices=presets.PRESETS,
                        help="parameter preset (default: quick)")
    parser.add_argument("--only", nargs="+", metavar="NOTEBOOK",
                        help="run only these notebooks (stem, file name or number, e.g. 01)")
    parser.add_argument("--force", action="store_true",
                        help="execute even when a notebook's inputs are unchanged")
    parser.add_argument("--run-id", help="override the run id (default: UTC time + commit)")
    parser.add_argument("--hf-model", metavar="ID_OR_FOLDER",
                        help="GenePheno's Hugging Face model (encoder hf; notebooks 02, 03) instead of the preset's: "
                             "a hub id in the local cache or a save_pretrained folder")
    parser.add_argument("--sequences", metavar="FASTA", type=Path,
                        help="GenePheno reads these sequences instead of the dataset's proteins: one FASTA record "
                             "per gene, keyed by gene id, symbol or accession (with --alphabet dna for DNA)")
    parser.add_argument("--alphabet", choices=("protein", "dna"), help="the alphabet of --sequences")


def given_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The notebook parameters the command line sets (``None``: not given)."""
    sequences = getattr(args, "sequences", None)
    return {"hf_model": getattr(args, "hf_model", None), "alphabet": getattr(args, "alphabet", None),
            "sequences_fasta": str(Path(sequences).expanduser().resolve()) if sequences is not None else None}


def main(args: argparse.Namespace) -> int:
    result = run(args.preset, only=args.only, force=args.force, run_id=args.run_id,
                 parameters=given_parameters(args))
    executed = sum(r.status == "executed" for r in result.notebooks)
    print(f"run {result.run_id}: {executed} executed, {len(result.notebooks) - executed} reused "
          f"-> {result.executed_dir}")
    return 0


def add_book_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="quick", choices=presets.PRESETS,
                        help="whose executed notebooks (build/<preset>/) make the book (default: quick)")
    parser.add_argument("--path-output", type=Path,
                        help="build into PATH/_build/html instead of _build/html")


def book_main(args: argparse.Namespace) -> int:
    html = build_book(args.preset, args.path_output)
    print(f"book built: {html / 'index.html'}")
    return 0
