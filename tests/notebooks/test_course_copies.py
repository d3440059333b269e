"""The instructor pack on the smoke preset: instructor copies pass every exercise, untouched student copies
stop only at the exercises (NotImplementedError) and score zero, ``course check`` gives full marks to an
instructor copy."""

from __future__ import annotations

import re
import time

import nbformat
import pytest

from g2p import course, paths, runner
from g2p.cli import main as cli_main

pytestmark = pytest.mark.slow

CHAPTERS = [p.stem for p in runner.discover(paths.notebooks) if course.exercises(nbformat.read(p, as_version=4))]


@pytest.fixture(scope="module")
def built(smoke_run, tmp_path_factory):
    target = tmp_path_factory.mktemp("course")
    tic = time.perf_counter()
    course.build(target=target)
    assert time.perf_counter() - tic <= 10, "course build must take at most 10 s"
    return target


def test_enough_exercises_across_chapters():
    table = course.exercise_table()
    assert len(table) >= 8 and len(CHAPTERS) >= 4, table


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_executed_chapter_passes_every_exercise(smoke_run, chapter):
    """The chapters as `g2p run` executes them are the instructor copies (solutions kept)."""
    nb = nbformat.read(smoke_run / f"{chapter}.ipynb", as_version=4)
    for ex in course.exercises(nb, strict=False):
        text = "".join(o.get("text", "") for o in nb.cells[ex.check_cell].outputs if o.output_type == "stream")
        assert re.search(rf"^exercise {re.escape(ex.id)} \(.*\): pass$", text, re.MULTILINE), (ex.id, text)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_student_copy_fails_only_at_exercises_and_scores_zero(built, chapter, tmp_path):
    executed = tmp_path / "executed.ipynb"
    grade = course.grade(built / "student" / f"{chapter}.ipynb", preset="smoke", timeout=120, keep=executed)
    assert not grade.timed_out and grade.seconds <= 120
    assert grade.results and grade.score == 0
    assert {r.status for r in grade.results} == {course.NOT_ATTEMPTED}, grade.lines()
    nb = nbformat.read(executed, as_version=4)
    exercise_cells = {i for ex in course.exercises(nb, strict=False) for i in [ex.check_cell, *ex.solution_cells]}
    errors = [(i, o.ename) for i, cell in enumerate(nb.cells) for o in cell.get("outputs", []) if o.output_type == "error"]
    assert errors, "a student copy must stop at its exercises"
    assert {name for _, name in errors} == {"NotImplementedError"}, errors
    assert {i for i, _ in errors} <= exercise_cells, errors


def test_course_check_gives_full_marks_to_an_instructor_copy(built, capsys):
    chapter = "02_train_genepheno" if "02_train_genepheno" in CHAPTERS else CHAPTERS[0]
    tic = time.perf_counter()
    assert cli_main(["course", "check", str(built / "instructor" / f"{chapter}.ipynb")]) == 0
    assert time.perf_counter() - tic <= 120
    lines = capsys.readouterr().out.strip().splitlines()
    n = len(course.exercises(nbformat.read(paths.notebooks / f"{chapter}.ipynb", as_version=4)))
    assert lines[-1].startswith(f"score: {n}/{n} ({chapter}"), lines
    assert len(lines) == n + 1 and all(line.split()[-1] == "pass" for line in lines[:-1]), lines


def test_a_wrong_answer_fails_and_an_edited_check_is_restored(built, tmp_path):
    chapter = "02_train_genepheno" if "02_train_genepheno" in CHAPTERS else CHAPTERS[0]
    nb = nbformat.read(built / "instructor" / f"{chapter}.ipynb", as_version=4)
    first = course.exercises(nb)[0]
    for i in first.solution_cells:  # a wrong answer: the solution region returns a constant
        nb.cells[i].source = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "### BEGIN SOLUTION\n    return logits.new_zeros(())\n    ### END SOLUTION",
                                    nb.cells[i].source, flags=re.DOTALL)
    nb.cells[first.check_cell].source = f'with check("{first.id}", "{first.title}"):\n    pass'  # "passes"
    submission = tmp_path / f"{chapter}.ipynb"
    nbformat.write(nb, submission)
    grade = course.grade(submission, preset="smoke", timeout=120)
    status = {r.exercise.id: r.status for r in grade.results}
    assert status[first.id] == course.FAIL, grade.lines()
    assert grade.score == len(grade.results) - 1, grade.lines()
