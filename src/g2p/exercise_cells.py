"""The exercise conventions of the chapter notebooks, and what a student may see of them.

An exercise is

* one or more **solution cells**: code cells with regions between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``; the student copies tag them ``solution`` (the tag survives a student's edits);
* one **check cell**, tagged ``check``: ``with check("2.1", "title"):`` around tests a student may see
  and run (properties of the answer, nothing that gives it away); its metadata ``g2p.points`` (default 1)
  and ``g2p.references`` (the package functions the exercise re-implements, which an answer may not call);
* any number of **hidden check cells**, tagged ``hidden-check``, with ``with check("2.1", ...)`` blocks
  that only the instructor's copy has: the tests that compare the answer with the reference.

:func:`student_view` is what every student-facing output shows (student copies, the book and its
download button): solution regions replaced by a stub, hidden checks removed. Kept apart from
:mod:`g2p.course` so that the book's stager (:mod:`g2p.bookpages`) applies the same rule without the
grader's imports.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from typing import Any

from g2p.errors import InputError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CHECK_TAG = "check"
HIDDEN_TAG = "hidden-check"
SOLUTION_TAG = "solution"
STUB = "# YOUR CODE HERE\nraise NotImplementedError"
METADATA = "g2p"  # a check cell's metadata: {"points": 2, "references": ["g2p.genepheno.losses.exclusive_loss"]}
_CHECK_CALL = re.compile(r"""check\(\s*["']([0-9A-Za-z._-]+)["']\s*,\s*["']([^"']+)["']""")


class CourseError(InputError):
    """A notebook that breaks the exercise conventions, or a submission that cannot be graded."""


def source_of(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def tags_of(cell: Any) -> list[str]:
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
    replaced the region) the ``solution`` tag that the copies give those cells."""
    if cell.get("cell_type") != "code":
        return False
    return SOLUTION_TAG in tags_of(cell) or any(line.strip() == BEGIN for line in source_of(cell).splitlines())


def is_hidden_check(cell: Any) -> bool:
    return cell.get("cell_type") == "code" and HIDDEN_TAG in tags_of(cell)


def defined_names(source: str) -> list[str]:
    """The functions and classes a cell defines at top level (what an exercise asks a student to write)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def student_view(nb: dict, where: str = "notebook") -> dict:
    """A deep copy of ``nb`` as a student may see it: every solution region replaced by the stub (its
    outputs dropped), every hidden check cell removed. Outputs of other cells are kept."""
    view = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(view["cells"]):
        if is_hidden_check(cell):
            continue
        if has_solution(cell):
            cell["source"] = strip_solutions(source_of(cell), f"{where}, cell {index}")
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    view["cells"] = cells
    return view


@dataclass
class Exercise:
    id: str
    title: str
    check_cell: int  # index in the notebook
    solution_cells: list[int] = field(default_factory=list)
    hidden_cells: list[int] = field(default_factory=list)
    points: float = 1.0
    references: list[str] = field(default_factory=list)  # package functions the answer may not use
    answers: list[str] = field(default_factory=list)  # the functions the solution cells define


def exercises(nb: Any, where: str = "notebook", *, strict: bool = True) -> list[Exercise]:
    """The exercises of a notebook, in order. A check cell without a ``check("id", "title")`` call, an
    id used twice, a hidden check of no exercise, points that are not a positive number or (``strict``:
    in a source notebook) a solution cell with no check cell after it raise :class:`CourseError`."""
    found: list[Exercise] = []
    pending: list[int] = []
    hidden: list[tuple[int, list[str]]] = []
    for index, cell in enumerate(nb["cells"]):
        if has_solution(cell):
            pending.append(index)
        if is_hidden_check(cell):
            hidden.append((index, [m.group(1) for m in _CHECK_CALL.finditer(source_of(cell))]))
        elif cell.get("cell_type") == "code" and CHECK_TAG in tags_of(cell):
            match = _CHECK_CALL.search(source_of(cell))
            if not match:
                raise CourseError(f"{where}, cell {index}: tagged {CHECK_TAG!r} but has no check(\"id\", \"title\")")
            if any(e.id == match.group(1) for e in found):
                raise CourseError(f"{where}, cell {index}: exercise {match.group(1)} is checked twice")
            meta = cell.get("metadata", {}).get(METADATA, {}) or {}
            points = meta.get("points", 1)
            if strict and (isinstance(points, bool) or not isinstance(points, (int, float)) or not points > 0):
                raise CourseError(f"{where}, cell {index}: points {points!r} is not a positive number",
                                  field=f"{METADATA}.points")
            answers = [name for i in pending for name in defined_names(source_of(nb["cells"][i]))]
            found.append(Exercise(match.group(1), match.group(2), index, pending, [], float(points) if strict else 1.0,
                                  [str(r) for r in meta.get("references", [])], answers))
            pending = []
    if pending and strict:
        raise CourseError(f"{where}, cell {pending[0]}: a solution cell with no check cell after it")
    by_id = {e.id: e for e in found}
    for index, ids in hidden:
        if strict and (not ids or any(i not in by_id for i in ids)):
            raise CourseError(f"{where}, cell {index}: a hidden check of no exercise ({', '.join(ids) or 'no check() call'})")
        for ident in dict.fromkeys(ids):
            if ident in by_id:
                by_id[ident].hidden_cells.append(index)
    return found
