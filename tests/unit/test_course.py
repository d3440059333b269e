"""g2p.course without a kernel: solution regions, exercises, student/instructor copies, the check helper."""

from __future__ import annotations

import json

import nbformat
import pytest

from g2p import bookpages, course, exercise, paths, runner
from g2p.cli import main as cli_main

SOLUTION = """def f(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
"""


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _check_cell(ident: str, body: str = "assert f(1) == 2"):
    return nbformat.v4.new_code_cell(f'with check("{ident}", "title {ident}"):\n    {body}', metadata={"tags": ["check"]})


def test_strip_solutions_replaces_the_region_keeping_its_indent():
    stripped = course.strip_solutions(SOLUTION)
    assert stripped == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError"
    assert "2 * x" not in stripped
    namespace: dict = {}
    exec(stripped, namespace)  # still valid Python
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another"),
])
def test_unbalanced_markers_are_errors_naming_the_line(source, message):
    with pytest.raises(course.CourseError, match=message):
        course.strip_solutions(source, "nb.ipynb, cell 3")


def test_exercises_pair_solution_cells_with_the_next_check_cell():
    nb = _nb(nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell(SOLUTION), _check_cell("1.1"),
             nbformat.v4.new_code_cell(SOLUTION), nbformat.v4.new_code_cell(SOLUTION), _check_cell("1.2"))
    found = course.exercises(nb)
    assert [(e.id, e.title, e.check_cell, e.solution_cells) for e in found] == [
        ("1.1", "title 1.1", 2, [1]), ("1.2", "title 1.2", 5, [3, 4])]
    with pytest.raises(course.CourseError, match="no check cell after it"):
        course.exercises(_nb(nbformat.v4.new_code_cell(SOLUTION)))
    with pytest.raises(course.CourseError, match="checked twice"):
        course.exercises(_nb(_check_cell("1.1"), _check_cell("1.1")))
    with pytest.raises(course.CourseError, match="has no check"):
        course.exercises(_nb(nbformat.v4.new_code_cell("print(1)", metadata={"tags": ["check"]})))


def _run(source: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<cell>", "exec"), {"check": exercise.check})
    return out.getvalue()


def test_check_prints_pass_and_fail_without_stopping_on_a_failed_assertion():
    assert _run('with check("2.1", "loss"):\n    assert 1 == 1') == "exercise 2.1 (loss): pass\n"
    assert _run('with check("2.1", "loss"):\n    assert 1 == 2, "yours 2"') == "exercise 2.1 (loss): fail: yours 2\n"


def test_check_reports_not_attempted_and_raises_not_implemented():
    def stub():
        raise NotImplementedError

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(NotImplementedError):
        with exercise.check("3.1", "fmax"):
            stub()
    assert out.getvalue() == "exercise 3.1 (fmax): not attempted\n"
    # a name the (stubbed) solution cell never defined: not attempted, raised as NotImplementedError
    with pytest.raises(NotImplementedError, match="answer"):
        _run('with check("3.2", "lambda"):\n    assert answer == 1')


def test_check_fails_on_other_errors_and_lets_them_propagate():
    with pytest.raises(ZeroDivisionError):
        _run('with check("4.1", "x"):\n    1 / 0')


def test_build_writes_student_and_instructor_copies(tmp_path):
    written = course.build(target=tmp_path)
    chapters = runner.discover(paths.notebooks)
    assert [p.name for p in written["student"]] == [p.name for p in chapters] == [p.name for p in written["instructor"]]
    total = 0
    for source, student, instructor in zip(chapters, written["student"], written["instructor"]):
        master = nbformat.read(source, as_version=4)
        s, i = (nbformat.read(p, as_version=4) for p in (student, instructor))
        assert len(s.cells) == len(i.cells) == len(master.cells)
        assert s.metadata["g2p_course"]["chapter"] == source.stem
        for cell_s, cell_i, cell_m in zip(s.cells, i.cells, master.cells):
            assert cell_i.source == cell_m.source  # instructor: everything kept
            assert course.BEGIN not in cell_s.source and course.END not in cell_s.source
            if course.has_solution(cell_m):
                assert "raise NotImplementedError" in cell_s.source and cell_s.source != cell_m.source
                assert course.SOLUTION_TAG in cell_s.metadata["tags"]  # still found after a student's edits
            else:
                assert cell_s.source == cell_m.source  # only solution regions change
            for cell in (cell_s, cell_i):
                assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
        total += len(course.exercises(master))
    assert total >= 8
    assert len({row["chapter"] for row in course.exercise_table()}) >= 4


def test_course_build_command(tmp_path, capsys):
    assert cli_main(["course", "build", "--target", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "student: 6 notebook(s)" in out and "exercise(s), built in" in out
    assert (tmp_path / "student" / "02_train_genepheno.ipynb").is_file()


def test_course_check_names_a_bad_submission_in_one_line(tmp_path, capsys):
    bad = tmp_path / "99_nothing.ipynb"
    bad.write_text(json.dumps({"cells": []}))
    assert cli_main(["course", "check", str(tmp_path / "missing.ipynb")]) == 1
    assert "missing.ipynb" in capsys.readouterr().err
    assert cli_main(["course", "check", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "99_nothing.ipynb" in err and "\n" not in err


def test_restore_checks_undoes_an_edited_check(tmp_path):
    master = _nb(nbformat.v4.new_code_cell(SOLUTION), _check_cell("1.1"), nbformat.v4.new_code_cell(SOLUTION),
                 _check_cell("1.2"))
    submission = nbformat.from_dict(json.loads(nbformat.writes(master)))
    submission.cells[1].source = 'with check("1.1", "title 1.1"):\n    pass  # edited into passing'
    del submission.cells[3]  # a deleted check cell comes back at the end
    graded = course.restore_checks(submission, master, "sub.ipynb")
    assert [e.id for e in graded] == ["1.1", "1.2"]
    assert submission.cells[1].source == master.cells[1].source
    assert submission.cells[-1].source == master.cells[3].source


def test_the_instructor_page_lists_every_exercise_and_is_in_the_toc():
    page = (paths.book / "instructors.md").read_text()
    for row in course.exercise_table():
        assert f"{row['id']} " in page, f"book/instructors.md does not list exercise {row['id']} ({row['chapter']})"
    assert "book/instructors" in bookpages.toc_files()
    assert "offline" in page and "SMOKE" not in page  # every timing placeholder filled in
