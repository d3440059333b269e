"""Instructor pack: exercises inside the chapter notebooks, student and instructor copies, an autograder.

The chapter notebooks are the single source. An exercise is

* one or more **solution cells**: code cells with regions between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` (nbgrader's markers, so the notebooks also work as an nbgrader source); the
  copies also tag them ``solution``, which survives a student's edits;
* one **check cell**, tagged ``check``, whose code runs inside ``with check("02.1", "title"):``.
  :class:`check` prints ``exercise 02.1 (title): pass`` (or ``fail: why`` / ``not attempted``).
  A solution cell belongs to the first check cell after it.

``python -m g2p course build`` writes ``course/student/NN_*.ipynb`` (each solution region replaced by
``raise NotImplementedError``, outputs cleared) and ``course/instructor/NN_*.ipynb`` (solutions kept,
outputs cleared) under the output root, with nbconvert preprocessors (:class:`ClearSolutions` beside
nbconvert's own ``ClearOutputPreprocessor``).

``python -m g2p course check SUBMISSION.ipynb`` grades a student notebook: the check cells are restored
from the chapter's source notebook (a student cannot edit a check into passing), the chapters it reads
from (curated data, trained models) are run or reused on the preset, the submission runs with papermill
in a fresh kernel under a time limit, continuing past errors, and each exercise gets one line: pass,
fail or not attempted, then a score.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import papermill
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor

from g2p import atomic, paths, runner
from g2p.argtypes import finite_float
from g2p.errors import InputError
from g2p.exercise import FAIL, NOT_ATTEMPTED, PASS
from g2p.stamps import READS as UPSTREAM

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CHECK_TAG = "check"
SOLUTION_TAG = "solution"
STUB = "# YOUR CODE HERE\nraise NotImplementedError"
_CHECK_CALL = re.compile(r"""check\(\s*["']([0-9A-Za-z._-]+)["']\s*,\s*["']([^"']+)["']""")
_RESULT_LINE = re.compile(r"^exercise (\S+) \(.*?\): (pass|fail|not attempted)\b", re.MULTILINE)


# =============================================================================================== notebooks
class CourseError(InputError):
    """A notebook that breaks the exercise conventions, or a submission that cannot be graded."""


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def strip_solutions(source: str, where: str = "cell") -> str:
    """``source`` with every ``BEGIN``…``END SOLUTION`` region (markers included) replaced by the stub,
    indented like the ``BEGIN`` marker. Unbalanced or nested markers raise :class:`CourseError`."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise CourseError(f"{where}, line {number}: {BEGIN} inside another solution region")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + stub_line for stub_line in STUB.splitlines()]
        elif stripped == END:
            if not inside:
                raise CourseError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise CourseError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def has_solution(cell: Any) -> bool:
    """A solution cell: one with a ``BEGIN SOLUTION`` marker, or (in a copy, where the student's code
    replaced the region) the ``solution`` tag that :func:`build` gives those cells."""
    if cell.get("cell_type") != "code":
        return False
    return SOLUTION_TAG in _tags(cell) or any(line.strip() == BEGIN for line in _source(cell).splitlines())


@dataclass
class Exercise:
    id: str
    title: str
    check_cell: int  # index in the notebook
    solution_cells: list[int] = field(default_factory=list)


def exercises(nb: Any, where: str = "notebook", *, strict: bool = True) -> list[Exercise]:
    """The exercises of a notebook, in order. A check cell without a ``check("id", "title")`` call, an
    id used twice or (``strict``: in a source notebook) a solution cell with no check cell after it
    raise :class:`CourseError`."""
    found: list[Exercise] = []
    pending: list[int] = []
    for index, cell in enumerate(nb["cells"]):
        if has_solution(cell):
            pending.append(index)
        if CHECK_TAG in _tags(cell):
            match = _CHECK_CALL.search(_source(cell))
            if not match:
                raise CourseError(f"{where}, cell {index}: tagged {CHECK_TAG!r} but has no check(\"id\", \"title\")")
            if any(e.id == match.group(1) for e in found):
                raise CourseError(f"{where}, cell {index}: exercise {match.group(1)} is checked twice")
            found.append(Exercise(match.group(1), match.group(2), index, pending))
            pending = []
    if pending and strict:
        raise CourseError(f"{where}, cell {pending[0]}: a solution cell with no check cell after it")
    return found


def course_dir() -> Path:

    return paths.output_root / "course"


class ClearSolutions(Preprocessor):
    """Replace solution regions by ``raise NotImplementedError`` (nbgrader's ClearSolutions, minimal)."""

    def preprocess_cell(self, cell, resources, index):  # type: ignore[no-untyped-def]
        if has_solution(cell):
            cell.source = strip_solutions(cell.source, f"{resources.get('name', 'notebook')}, cell {index}")
        return cell, resources


def _notebook_preprocessors() -> list[Any]:
    return [ClearOutputPreprocessor(), ClearSolutions()]


def build(notebooks: Sequence[Path] | None = None, target: Path | None = None) -> dict[str, list[Path]]:
    """Write the student and instructor copies of ``notebooks`` (default: every chapter) into
    ``target/student`` and ``target/instructor`` (default: ``course/`` under the output root)."""


    notebooks = list(notebooks) if notebooks is not None else runner.discover(paths.notebooks)
    target = target or course_dir()
    clear_outputs, clear_solutions = _notebook_preprocessors()
    written: dict[str, list[Path]] = {"student": [], "instructor": []}
    for notebook in notebooks:
        master = nbformat.read(notebook, as_version=4)
        found = exercises(master, notebook.name)
        meta = {"chapter": notebook.stem, "exercises": [{"id": e.id, "title": e.title} for e in found]}
        for copy in ("instructor", "student"):
            nb = nbformat.from_dict(master)
            for cell in nb.cells:  # a submission's solution cells keep a mark after the student's edits
                if has_solution(cell) and SOLUTION_TAG not in _tags(cell):
                    cell.setdefault("metadata", {}).setdefault("tags", []).append(SOLUTION_TAG)
            resources = {"name": notebook.name}
            nb, _ = clear_outputs.preprocess(nb, resources)
            if copy == "student":
                nb, _ = clear_solutions.preprocess(nb, resources)
            nb.metadata["g2p_course"] = {**meta, "copy": copy}
            out = target / copy / notebook.name
            atomic.write_text(out, nbformat.writes(nb) + "\n")
            written[copy].append(out)
    return written


# =============================================================================================== grading
@dataclass
class Result:
    exercise: Exercise
    status: str
    detail: str = ""


@dataclass
class Grade:
    chapter: str
    results: list[Result]
    seconds: float
    timed_out: bool = False

    @property
    def score(self) -> int:
        return sum(r.status == PASS for r in self.results)

    def lines(self) -> list[str]:
        width = max((len(f"{r.exercise.id} {r.exercise.title}") for r in self.results), default=0)
        rows = [f"{r.exercise.id} {r.exercise.title}".ljust(width) + f"  {r.status}" + (f" ({r.detail})" if r.detail else "")
                for r in self.results]
        note = ", time limit reached" if self.timed_out else ""
        return rows + [f"score: {self.score}/{len(self.results)} ({self.chapter}, {self.seconds:.0f} s{note})"]


def chapter_of(nb: Any, submission: Path) -> str:
    """The chapter a submission is a copy of: its ``g2p_course`` metadata, else its NN_ file-name prefix."""

    chapter = nb.get("metadata", {}).get("g2p_course", {}).get("chapter")
    if chapter and (paths.notebooks / f"{chapter}.ipynb").is_file():
        return str(chapter)
    try:
        return runner.discover(paths.notebooks, [submission.name[:2]])[0].stem
    except Exception:
        raise CourseError(f"{submission}: cannot tell which chapter this is (no g2p_course metadata, "
                          f"no NN_ prefix matching a notebook)") from None


def restore_checks(nb: Any, master: Any, where: str) -> list[Exercise]:
    """Put the source's check cells back into a submission, by exercise id; returns the submission's
    exercises in the source's order (a check cell the student deleted is appended at the end)."""

    master_exercises = exercises(master, "source notebook")
    by_id = {e.id: e for e in exercises(nb, where, strict=False)}
    for ex in master_exercises:
        if ex.id in by_id:
            nb["cells"][by_id[ex.id].check_cell]["source"] = _source(master["cells"][ex.check_cell])
        else:
            nb["cells"].append(nbformat.from_dict(master["cells"][ex.check_cell]))
    theirs = {e.id: e for e in exercises(nb, where, strict=False)}
    return [theirs[ex.id] for ex in master_exercises]


def _outcome(executed: Any, ex: Exercise) -> Result:
    cell = executed["cells"][ex.check_cell]
    text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    statuses = [status for ident, status in _RESULT_LINE.findall(text) if ident == ex.id]
    if statuses:
        detail = ""
        if statuses[-1] == FAIL:
            last = [line for line in text.splitlines() if line.startswith(f"exercise {ex.id} ")][-1]
            detail = last.split(": fail", 1)[1].lstrip(": ").strip()
        return Result(ex, statuses[-1], detail[:200])
    solution_errors = [o.get("ename") for i in ex.solution_cells for o in executed["cells"][i].get("outputs", [])
                       if o.get("output_type") == "error"]
    if "NotImplementedError" in solution_errors:
        return Result(ex, NOT_ATTEMPTED)
    if cell.get("execution_count") is None:
        return Result(ex, FAIL, "not run: the time limit or an earlier error stopped the notebook")
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return Result(ex, FAIL, errors[0][:200] if errors else "the check printed no result")


def grade(submission: Path, *, preset: str = "smoke", timeout: float = 120.0, keep: Path | None = None) -> Grade:
    """Run ``submission`` on ``preset`` in a fresh kernel (at most ``timeout`` seconds for its cells) and
    grade each exercise of its chapter. ``keep``: where to write the executed submission."""


    submission = Path(submission)
    try:
        nb = nbformat.read(submission, as_version=4)
    except Exception as exc:
        raise CourseError(f"{submission}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    chapter = chapter_of(nb, submission)
    source = paths.notebooks / f"{chapter}.ipynb"
    master = nbformat.read(source, as_version=4)
    graded = restore_checks(nb, master, str(submission))
    if UPSTREAM.get(chapter):
        runner.run(preset, only=list(UPSTREAM[chapter]), write_provenance=False)
    parameters = runner.parameters_for(source, preset)
    start = time.monotonic()
    deadline = start + timeout
    timed_out = False
    with tempfile.TemporaryDirectory(prefix="g2p-course-") as tmp:
        given, executed_path = Path(tmp) / "submission.ipynb", Path(tmp) / "executed.ipynb"
        nbformat.write(nb, given)
        # figures go to figures/course-<preset>/, so grading never replaces the figures of the preset's book
        env = {"G2P_NOTEBOOK": chapter, "G2P_PRESET": f"course-{preset}", "G2P_RUN_ID": "course-check"}
        with runner._environment(env):
            try:
                papermill.execute_notebook(
                    str(given), str(executed_path), parameters=parameters, kernel_name=runner.KERNEL,
                    cwd=str(paths.root), progress_bar=False, log_output=False, allow_errors=True,
                    timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
                )
            except papermill.PapermillExecutionError:
                pass  # errors are graded below, cell by cell
            except Exception as exc:  # the time limit (nbclient's CellTimeoutError), a dead kernel
                timed_out = time.monotonic() >= deadline - 1 or "timeout" in type(exc).__name__.lower()
                if not timed_out:
                    raise CourseError(f"{submission}: the notebook could not be run ({type(exc).__name__}: {exc})") from None
        if not executed_path.is_file():
            raise CourseError(f"{submission}: the kernel produced no executed notebook")
        executed = nbformat.read(executed_path, as_version=4)
        if keep is not None:
            atomic.write_text(keep, nbformat.writes(executed))
    # papermill may insert an injected-parameters cell: find each check cell again in the executed copy
    positions = {e.id: e for e in exercises(executed, "executed submission", strict=False)}
    results = []
    for ex in graded:
        moved = positions[ex.id]
        results.append(_outcome(executed, moved))
    return Grade(chapter, results, time.monotonic() - start, timed_out)


# =============================================================================================== CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="course_command", metavar="ACTION", required=True,
                                parser_class=type(parser))
    b = sub.add_parser("build", help="write course/student and course/instructor copies of the chapters")
    b.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="only these chapters (stem or number)")
    b.add_argument("--target", type=Path, help="folder to write into (default: course/ under the output root)")
    c = sub.add_parser("check", help="grade a student notebook: one line per exercise and a score")
    c.add_argument("submission", type=Path)
    c.add_argument("--preset", default="smoke", help="parameter preset to run it with (default: smoke)")
    c.add_argument("--timeout", type=_seconds, default=120.0,
                   help="seconds the submission's cells may take in all (default: 120)")
    c.add_argument("--keep", type=Path, help="write the executed submission here")


def _seconds(text: str) -> float:

    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {value:g}")
    return value


def main(args: argparse.Namespace) -> int:

    if args.course_command == "build":
        tic = time.perf_counter()
        written = build(runner.discover(paths.notebooks, args.only), args.target)
        for copy, files in written.items():
            print(f"{copy}: {len(files)} notebook(s) -> {paths.shown(files[0].parent) if files else '-'}")
        n = sum(len(exercises(_read(p))) for p in written["instructor"])
        print(f"{n} exercise(s), built in {time.perf_counter() - tic:.1f} s")
        return 0
    if not args.submission.is_file():
        raise InputError("no such notebook", path=args.submission)
    result = grade(args.submission, preset=args.preset, timeout=args.timeout, keep=args.keep)
    print("\n".join(result.lines()))
    return 0


def _read(path: Path) -> Any:

    return nbformat.read(path, as_version=4)


def exercise_table(notebooks: Iterable[Path] | None = None) -> list[dict[str, str]]:
    """Every exercise of the chapters: chapter, id, title (for the instructor page and the README)."""

    rows = []
    for notebook in notebooks or runner.discover(paths.notebooks):
        for ex in exercises(_read(notebook), notebook.name):
            rows.append({"chapter": notebook.stem, "id": ex.id, "title": ex.title})
    return rows
