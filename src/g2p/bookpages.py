"""How an executed notebook becomes a book page: the stager's edits, made on the staged copy only.

The executed notebooks in ``build/<preset>/executed/`` stay exactly what papermill wrote (the book's
download button serves them); :func:`prepare` rewrites the copy that ``g2p.runner.stage_book`` lays out
for Sphinx, so a page reads as a chapter rather than an execution log:

* **one parameters cell**: the notebook's own ``parameters`` cell is removed and papermill's injected
  cell shows every parameter with the value the run used (defaults it did not override included, with
  their comments);
* **figures**: a figure displayed by :func:`g2p.figures.save` becomes a numbered MyST ``{figure}``
  block (label ``fig-<name>``, its caption, and the notebook, preset and run that made it), so the prose
  can cite it with ``{numref}``;
* **progress folded**: a cell whose visible output is only printed text (progress lines) is tagged
  ``hide-output``: one folded output (the book's config merges its stream pieces into one block); a
  log of several lines printed beside a table or figure moves to a folded output after them; tqdm
  progress widgets, which a static page cannot show, are dropped;
* **"Rerun this chapter"**: the exact command for each preset and the time its last run took here;
* **no solutions**: every exercise's solution region is replaced by the student copy's stub and the
  hidden checks are removed (:func:`g2p.exercise_cells.student_view`), so the book can be given to
  students; the download button serves the executed notebook seen the same way.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from g2p import figures, paths, presets
from g2p.exercise_cells import student_view

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RECORD_PREFIX = "application/papermill.record/"
FOLD_TAG = "hide-output"
PROGRESS_LINES = 3  # printed lines beside a result that make a progress log worth folding away
RERUN_TAG = "g2p-rerun"


# ---------------------------------------------------------------------------------- parameters
def _assignments(source: str) -> list[tuple[str, str, str]]:
    """``(name, value source, trailing comment)`` for each ``name = value`` line of a parameters cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = ast.get_source_segment(source, node.value) or ""
            tail = lines[node.end_lineno - 1][node.end_col_offset:].strip()
            found.append((node.targets[0].id, value, tail if tail.startswith("#") else ""))
    return found


def merged_parameters(defaults: str, injected: str, preset: str) -> str:
    """The parameters as the run used them, in the notebook's order, with the notebook's comments."""
    given = {name: value for name, value, _ in _assignments(injected)}
    out = [f"# Parameters of this run (preset {preset}): the preset's values over the notebook's defaults"]
    seen = set()
    for name, value, comment in _assignments(defaults):
        seen.add(name)
        line = f"{name} = {given.get(name, value)}"
        out.append(f"{line}  {comment}" if comment else line)
    out += [f"{name} = {value}" for name, value in given.items() if name not in seen]
    return "\n".join(out)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _add_tag(cell: dict, tag: str) -> None:
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def one_parameters_cell(nb: dict, preset: str) -> None:
    cells = nb["cells"]
    original = next((c for c in cells if "parameters" in _tags(c)), None)
    injected = next((c for c in cells if "injected-parameters" in _tags(c)), None)
    if original is None or injected is None:
        return
    injected["source"] = merged_parameters("".join(original["source"]), "".join(injected["source"]), preset)
    _add_tag(original, "remove-cell")


# ---------------------------------------------------------------------------------- figures
def figure_block(meta: Mapping[str, Any]) -> str:
    caption = (meta.get("caption") or "").strip()
    made = (f"*{meta['file']}, made by notebook {meta.get('notebook', '?')}, preset {meta.get('preset', '?')}, "
            f"run `{meta.get('run_id', '?')}`.*")
    return "\n".join([f"```{{figure}} /figures/{meta['file']}", f":name: {meta['label']}", ":width: 100%", "",
                      f"{caption} {made}".strip(), "```", ""])


def _visible(output: Mapping[str, Any]) -> bool:
    """Whether a page shows anything for ``output`` (glue records and widget views show nothing)."""
    if output.get("output_type") in ("stream", "error"):
        return True
    data = set(output.get("data", {}))
    return bool({key for key in data if not key.startswith(RECORD_PREFIX)} - {WIDGET_VIEW})


def _lines(outputs: list[dict]) -> int:
    return sum("".join(o.get("text", "")).count("\n") for o in outputs if o.get("output_type") == "stream")


def figures_and_progress(nb: dict) -> None:
    cells = []
    for cell in nb["cells"]:
        cells.append(cell)
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            meta = output.get("metadata", {}).get(figures.METADATA_KEY)
            if meta:
                output = {"output_type": "display_data", "metadata": {},
                          "data": {"text/markdown": figure_block(meta), "text/plain": f"<figure {meta['file']}>"}}
            elif WIDGET_VIEW in data and set(data) <= {WIDGET_VIEW, "text/plain"}:
                continue  # a tqdm bar (or other live widget): nothing a static page can show
            outputs.append(output)
        cell["outputs"] = outputs
        shown = [o for o in outputs if _visible(o)]
        streams = [o for o in shown if o.get("output_type") == "stream"]
        if shown and len(streams) == len(shown):
            _add_tag(cell, FOLD_TAG)
        elif streams and _lines(streams) >= PROGRESS_LINES:
            # progress printed before a table or figure: the results stay, the log moves to a folded
            # output right after them
            cell["outputs"] = [o for o in outputs if o.get("output_type") != "stream"]
            cells.append({"cell_type": "code", "id": f"{cell.get('id', 'cell')}-log", "execution_count": None,
                          "metadata": {"tags": ["remove-input", FOLD_TAG]}, "source": "# progress log",
                          "outputs": streams})  # an empty source would not be rendered at all
    nb["cells"] = cells


# ---------------------------------------------------------------------------------- rerun
def _seconds(executed: Path) -> float | None:
    try:
        return float(json.loads(executed.read_text())["metadata"]["g2p"]["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def rerun_cell(stem: str, preset: str, build_root: Path) -> dict:
    """A Markdown cell: the command that reruns this notebook for each preset, and how long its last
    execution took on this machine (from the executed copies' metadata; "not run here yet" otherwise)."""
    rows = ["| preset | command | last execution here |", "|---|---|---|"]
    for name in presets.PRESETS:
        seconds = _seconds(build_root / name / "executed" / f"{stem}.ipynb")
        took = _duration(seconds) if seconds is not None else "not run here yet"
        if name == preset:
            took += " (this page)"
        rows.append(f"| {name} | `python -m g2p run --preset {name} --only {stem} --force` | {took} |")
    text = "\n".join([
        "## Rerun this chapter", "",
        "From the repository root, in its virtual environment (`.venv/bin/python`). `--force` re-executes "
        "even when nothing changed; without it the runner reuses an up-to-date copy. The chapter reads what "
        "the chapters before it wrote, so run those first on a fresh clone (`python -m g2p run --preset "
        "P` runs them all).", "", *rows, "",
        "Then `python -m g2p book --preset P` rebuilds the book. Times are wall-clock on the machine that built "
        "this book, as recorded in each preset's executed notebook.",
    ])
    return {"cell_type": "markdown", "id": RERUN_TAG, "metadata": {"tags": [RERUN_TAG]}, "source": text}


# ---------------------------------------------------------------------------------- all together
def prepare(nb: dict, stem: str, preset: str, build_root: Path) -> dict:
    """The staged page of executed notebook ``nb`` (changed in place and returned)."""
    nb["cells"] = student_view(nb, stem)["cells"]
    one_parameters_cell(nb, preset)
    figures_and_progress(nb)
    nb["cells"] = [c for c in nb["cells"] if RERUN_TAG not in _tags(c)]
    nb["cells"].append(rerun_cell(stem, preset, build_root))
    return nb


def stage_notebook(source: Path, target: Path, preset: str, build_root: Path) -> None:
    """Write the page for ``source`` to ``target``, only when its text changed (Sphinx then rebuilds
    only the pages whose notebook changed)."""
    nb = prepare(json.loads(source.read_text()), source.stem, preset, build_root)
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if target.is_file() and target.read_text() == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text)
    tmp.replace(target)


def toc_files(toc: Path | None = None) -> list[str]:
    """Every page named in ``_toc.yml`` (paths relative to the book root, without suffix)."""
    toc = toc or paths.root / "_toc.yml"
    data = yaml.safe_load(toc.read_text())
    files = [data["root"]]

    def walk(entries: list[dict[str, Any]]) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key, []))

    walk(data.get("chapters", []))
    for part in data.get("parts", []):
        walk(part.get("chapters", []))
    return files
