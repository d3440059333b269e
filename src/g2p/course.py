"""Instructor pack: student and instructor copies of the chapters, and the autograder's commands.

The chapter notebooks are the single source; :mod:`g2p.exercise_cells` states the exercise conventions
(solution regions, ``check`` and ``hidden-check`` cells, points) and :mod:`g2p.grading` how a
submission is graded.

* ``python -m g2p course build`` writes ``course/student/NN_*.ipynb`` (each solution region replaced by
  ``raise NotImplementedError``, hidden checks removed, outputs cleared, the book's MyST roles replaced
  by the values and names they stand for, so the copy reads right in plain JupyterLab) and
  ``course/instructor/NN_*.ipynb`` (everything kept, outputs cleared) under the output root, with
  nbconvert preprocessors;
* ``python -m g2p course check SUBMISSION.ipynb`` grades one notebook and prints a line per exercise;
* ``python -m g2p course grade SUBMISSIONS...`` grades a class in parallel into ``gradebook.csv`` and
  one feedback file per student.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor

from g2p import atomic, paths, presets, runner
from g2p.argtypes import finite_float, positive_int
from g2p.errors import G2PError, InputError, UsageError
from g2p.exercise import ERROR, FAIL, NOT_ATTEMPTED, PASS  # noqa: F401 - re-exported for callers and tests
from g2p.exercise_cells import (BEGIN, CHECK_TAG, END, HIDDEN_TAG, SOLUTION_TAG, STUB, CourseError,  # noqa: F401
                                Exercise, exercises, has_solution, is_hidden_check, source_of, strip_solutions,
                                student_view, tags_of)

_ROLE = re.compile(r"\{(glue:text|glue:md|glue|numref)\}`([^`]*)`")


# =============================================================================================== copies
def course_dir() -> Path:
    return paths.output_root / "course"


def resolve_roles(text: str, glued: dict[str, Any]) -> str:
    """``text`` with the book's MyST roles written out: ``{glue:text}`name:.3f``` → the value the
    chapter glued (formatted), ``{numref}`fig-x``` → the figure's name. A value the run did not glue
    becomes "(computed by the chapter)"."""

    def one(match: re.Match[str]) -> str:
        role, body = match.groups()
        if role == "numref":
            label = body.rsplit("<", 1)[-1].rstrip(">").strip()
            return "the figure *" + re.sub(r"^fig-(\d\d_)?", "", label).replace("_", " ").replace("-", " ") + "*"
        name, _, spec = body.partition(":")
        if name not in glued:
            return "(computed by the chapter)"
        value = glued[name]
        try:
            return format(value, spec) if spec else str(value)
        except (TypeError, ValueError):
            return str(value)

    return _ROLE.sub(one, text)


class ClearSolutions(Preprocessor):
    """Replace solution regions by ``raise NotImplementedError`` (nbgrader's ClearSolutions, minimal)."""

    def preprocess_cell(self, cell, resources, index):  # type: ignore[no-untyped-def]
        if has_solution(cell):
            cell.source = strip_solutions(cell.source, f"{resources.get('name', 'notebook')}, cell {index}")
        return cell, resources


class ResolveRoles(Preprocessor):
    """Markdown cells with :func:`resolve_roles` applied (``resources['glued']``: the chapter's values)."""

    def preprocess_cell(self, cell, resources, index):  # type: ignore[no-untyped-def]
        if cell.cell_type == "markdown":
            cell.source = resolve_roles(cell.source, resources.get("glued", {}))
        return cell, resources


def _glued(chapter: str, preset: str | None) -> dict[str, Any]:
    executed = paths.executed_dir(preset) / f"{chapter}.ipynb" if preset else None
    return runner.read_glued(executed) if executed is not None and executed.is_file() else {}


def build(notebooks: Sequence[Path] | None = None, target: Path | None = None,
          values_from: str | None = "quick") -> dict[str, list[Path]]:
    """Write the student and instructor copies of ``notebooks`` (default: every chapter) into
    ``target/student`` and ``target/instructor`` (default: ``course/`` under the output root). The
    student copies' prose takes its numbers from the executed chapters of preset ``values_from``."""
    notebooks = list(notebooks) if notebooks is not None else runner.discover(paths.notebooks)
    target = target or course_dir()
    clear_outputs, clear_solutions, resolve = ClearOutputPreprocessor(), ClearSolutions(), ResolveRoles()
    written: dict[str, list[Path]] = {"student": [], "instructor": []}
    for notebook in notebooks:
        master = nbformat.read(notebook, as_version=4)
        found = exercises(master, notebook.name)
        meta = {"chapter": notebook.stem,
                "exercises": [{"id": e.id, "title": e.title, "points": e.points} for e in found]}
        for copy in ("instructor", "student"):
            nb = nbformat.from_dict(master)
            for cell in nb.cells:  # a submission's solution cells keep a mark after the student's edits
                if has_solution(cell) and SOLUTION_TAG not in tags_of(cell):
                    cell.setdefault("metadata", {}).setdefault("tags", []).append(SOLUTION_TAG)
            resources = {"name": notebook.name, "glued": _glued(notebook.stem, values_from)}
            nb, _ = clear_outputs.preprocess(nb, resources)
            if copy == "student":
                nb.cells = [c for c in nb.cells if not is_hidden_check(c)]
                nb, _ = clear_solutions.preprocess(nb, resources)
                nb, _ = resolve.preprocess(nb, resources)
            nb.metadata["g2p_course"] = {**meta, "copy": copy}
            out = target / copy / notebook.name
            atomic.write_text(out, nbformat.writes(nb) + "\n")
            written[copy].append(out)
    return written


def exercise_table(notebooks: Iterable[Path] | None = None) -> list[dict[str, Any]]:
    """Every exercise of the chapters: chapter, id, title, points (for the instructor page and the README)."""
    rows = []
    for notebook in notebooks or runner.discover(paths.notebooks):
        for ex in exercises(nbformat.read(notebook, as_version=4), notebook.name):
            rows.append({"chapter": notebook.stem, "id": ex.id, "title": ex.title, "points": ex.points})
    return rows


# =============================================================================================== inputs
def _same_file(a: Path, b: Path) -> bool:
    """Whether writing ``a`` would replace ``b`` (the same path once links are followed, or one inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwriting(output: Path, inputs: Sequence[Path], option: str) -> None:
    for given in inputs:
        if _same_file(output, given):
            raise UsageError(f"{option} {output} is the submission {given}: it would be overwritten",
                             hint=f"give {option} another file name")


def refuse_inside(folder: Path, inputs: Sequence[Path], option: str) -> None:
    """``course grade --out folder`` writes ``gradebook.csv`` and ``feedback/``: neither may be an input."""
    feedback = Path(os.path.realpath(folder / "feedback"))
    refuse_overwriting(folder / "gradebook.csv", inputs, option)
    for given in inputs:
        if feedback in Path(os.path.realpath(given)).parents:
            raise UsageError(f"{option} {folder}: the submission {given} is inside its feedback/ folder, which is "
                             "rewritten", hint=f"give {option} another folder")


# =============================================================================================== CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="course_command", metavar="ACTION", required=True,
                                parser_class=type(parser))
    b = sub.add_parser("build", help="write course/student and course/instructor copies of the chapters")
    b.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="only these chapters (stem or number)")
    b.add_argument("--target", type=Path, help="folder to write into (default: course/ under the output root)")
    b.add_argument("--values-from", default="quick", choices=presets.PRESETS,
                   help="preset whose executed chapters give the numbers in the student copies' prose (default: quick)")
    c = sub.add_parser("check", help="grade one student notebook: one line per exercise and a score")
    c.add_argument("submission", type=Path)
    _grading_options(c)
    c.add_argument("--keep", type=Path, help="write the executed submission here (never over the submission)")
    g = sub.add_parser("grade", help="grade a class: gradebook.csv and a feedback file per student")
    g.add_argument("submissions", type=Path, nargs="+",
                   help="notebooks, or folders of STUDENT.ipynb or STUDENT/NN_chapter.ipynb")
    _grading_options(g)
    g.add_argument("--out", type=Path, help="folder for gradebook.csv and feedback/ (default: course/grades/)")
    g.add_argument("--jobs", type=positive_int, help="submissions graded at once (default: the cores)")


def _grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="smoke", choices=presets.PRESETS,
                        help="parameter preset to run it with (default: smoke)")
    parser.add_argument("--timeout", type=_seconds, default=120.0,
                        help="seconds a submission's cells may take in all (default: 120)")


def _seconds(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {value:g}")
    return value


def _build_main(args: argparse.Namespace) -> int:
    tic = time.perf_counter()
    written = build(runner.discover(paths.notebooks, args.only), args.target, args.values_from)
    for copy, files in written.items():
        print(f"{copy}: {len(files)} notebook(s) -> {paths.shown(files[0].parent) if files else '-'}")
    n = sum(len(exercises(nbformat.read(p, as_version=4))) for p in written["instructor"])
    print(f"{n} exercise(s), built in {time.perf_counter() - tic:.1f} s")
    return 0


class Interrupted(G2PError):
    """Ctrl-C while grading: the kernels were shut down and nothing was written."""

    exit_code = 130


def _check_main(args: argparse.Namespace) -> int:
    from g2p import grading

    if not args.submission.is_file():
        raise InputError("no such notebook", path=args.submission)
    if args.keep is not None:
        refuse_overwriting(args.keep, [args.submission], "--keep")
    try:
        result = grading.grade(args.submission, preset=args.preset, timeout=args.timeout,
                               keep_executed=args.keep is not None)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while grading {args.submission}: its kernel was shut down, nothing "
                          "was written") from None
    if args.keep is not None:
        atomic.write_text(args.keep, nbformat.writes(result.executed))
    print("\n".join(result.lines()))
    if result.broken_checks:
        raise CourseError(f"{paths.notebooks / (result.chapter + '.ipynb')}: the check of exercise "
                          f"{result.broken_checks[0].exercise.id} is broken ({result.broken_checks[0].detail})")
    return 0


def _grade_main(args: argparse.Namespace) -> int:
    from g2p import gradebook, grading

    jobs = gradebook.find_submissions(args.submissions)
    out = args.out or course_dir() / "grades"
    inputs = [job.submission for job in jobs]
    refuse_inside(out, inputs, "--out")

    def progress(g: grading.Grade, done: int, total: int) -> None:
        what = "could not be graded" if not g.results else f"{g.score:g}/{g.max_score:g}"
        print(f"[{done}/{total}] {g.student} {g.chapter or Path(g.submission).name}: {what}", flush=True)

    tic = time.perf_counter()
    try:
        grades = gradebook.grade_many(jobs, preset=args.preset, timeout=args.timeout, workers=args.jobs,
                                    hide=[*inputs, out], progress=progress)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while grading {len(jobs)} submission(s): the kernels were shut down, no "
                          "gradebook or feedback was written") from None
    book, feedback = gradebook.write_gradebook(grades, out)
    failed = [g for g in grades if not g.results]
    broken = sorted({f"{g.chapter} {r.exercise.id}" for g in grades for r in g.broken_checks})
    print(f"{len(grades) - len(failed)} of {len(grades)} submission(s) graded in {time.perf_counter() - tic:.0f} s "
          f"-> {paths.shown(book)}, {len(feedback)} feedback file(s) in {paths.shown(out / 'feedback')}")
    if failed:
        print(f"error: {len(failed)} submission(s) could not be graded, e.g. {failed[0].warnings[0].removeprefix('error: ')} "
              f"(their rows in {paths.shown(book)} say why)", file=sys.stderr)
        return 1
    if broken:
        print(f"error: broken check(s): {', '.join(broken)} (see the gradebook's messages)", file=sys.stderr)
        return 1
    return 0


def main(args: argparse.Namespace) -> int:
    if args.course_command == "build":
        return _build_main(args)
    if args.course_command == "check":
        return _check_main(args)
    return _grade_main(args)
