"""g2p.course without a kernel: solution regions, exercises, student/instructor copies, the check helper."""

from __future__ import annotations

import json

import nbformat
import pytest

import numpy as np

from g2p import answer_codec, bookpages, course, exercise, exercise_cells, gradebook, grading, paths, runner, sandbox
from g2p.errors import UsageError
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
    assert [(e.id, e.title, e.check_cell, e.solution_cells, e.answers) for e in found] == [
        ("1.1", "title 1.1", 2, [1], ["f"]), ("1.2", "title 1.2", 5, [3, 4], ["f", "f"])]
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
        assert len(i.cells) == len(master.cells)
        visible = [c for c in master.cells if not course.is_hidden_check(c)]
        assert len(s.cells) == len(visible)
        assert s.metadata["g2p_course"]["chapter"] == source.stem
        for cell_i, cell_m in zip(i.cells, master.cells):
            assert cell_i.source == cell_m.source  # instructor: everything kept
        for cell_s, cell_m in zip(s.cells, visible):
            assert course.BEGIN not in cell_s.source and course.END not in cell_s.source
            if course.has_solution(cell_m):
                assert "raise NotImplementedError" in cell_s.source and cell_s.source != cell_m.source
                assert course.SOLUTION_TAG in cell_s.metadata["tags"]  # still found after a student's edits
            elif cell_m.cell_type == "code":
                assert cell_s.source == cell_m.source  # only solution regions change in code
        for cell in [*s.cells, *i.cells]:
            assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
        for cell_s in s.cells:
            assert not course.is_hidden_check(cell_s), f"{source.name}: a hidden check in the student copy"
            if cell_s.cell_type == "markdown":
                assert "{glue" not in cell_s.source and "{numref}" not in cell_s.source, \
                    f"{source.name}: a MyST role left in the student copy: {cell_s.source[:200]}"
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


def test_the_instructor_page_lists_every_exercise_and_is_in_the_toc():
    page = (paths.book / "instructors.md").read_text()
    for row in course.exercise_table():
        assert f"{row['id']} " in page, f"book/instructors.md does not list exercise {row['id']} ({row['chapter']})"
    assert "book/instructors" in bookpages.toc_files()
    assert "offline" in page and "SMOKE" not in page  # every timing placeholder filled in


def _hidden_cell(ident: str, body: str = "assert f(2) == 4"):
    return nbformat.v4.new_code_cell(f'with check("{ident}", "title {ident}"):\n    {body}', metadata={"tags": ["hidden-check"]})


def test_hidden_checks_points_and_references_belong_to_their_exercise():
    check = _check_cell("1.1")
    check.metadata["g2p"] = {"points": 3, "references": ["pkg.mod.f"]}
    nb = _nb(nbformat.v4.new_code_cell(SOLUTION), check, _hidden_cell("1.1"), nbformat.v4.new_code_cell(SOLUTION),
             _check_cell("1.2"), _hidden_cell("1.2"))
    first, second = course.exercises(nb)
    assert (first.points, first.references, first.hidden_cells) == (3.0, ["pkg.mod.f"], [2])
    assert (second.points, second.references, second.hidden_cells) == (1.0, [], [5])
    with pytest.raises(course.CourseError, match="hidden check of no exercise"):
        course.exercises(_nb(nbformat.v4.new_code_cell(SOLUTION), _check_cell("1.1"), _hidden_cell("9.9")))
    check.metadata["g2p"] = {"points": 0}
    with pytest.raises(course.CourseError, match="not a positive number"):
        course.exercises(_nb(nbformat.v4.new_code_cell(SOLUTION), check))


def test_student_view_stubs_solutions_and_drops_hidden_checks():
    solved = nbformat.v4.new_code_cell(SOLUTION, outputs=[nbformat.v4.new_output("stream", text="secret 2 * x")])
    nb = _nb(solved, _check_cell("1.1"), _hidden_cell("1.1"))
    view = exercise_cells.student_view(nb)
    assert len(view["cells"]) == 2 and "2 * x" not in json.dumps(view) and "hidden-check" not in json.dumps(view)
    assert len(nb.cells) == 3 and "2 * x" in nb.cells[0].source  # the original is left alone


def test_every_chapter_exercise_has_hidden_checks_and_self_contained_stubs():
    for notebook in runner.discover(paths.notebooks):
        nb = nbformat.read(notebook, as_version=4)
        for ex in course.exercises(nb, notebook.name):
            assert ex.hidden_cells, f"{notebook.name} {ex.id}: no hidden check"
            assert ex.answers, f"{notebook.name} {ex.id}: the solution cells define no function"
            stub = course.strip_solutions(nb.cells[ex.solution_cells[0]].source)
            assert "define:" in stub, f"{notebook.name} {ex.id}: the stub does not say what to define:\n{stub}"
            for other in course.exercises(nb, notebook.name):
                if other.id != ex.id:  # no exercise's checks use another exercise's answer
                    for index in [ex.check_cell, *ex.hidden_cells]:
                        assert not set(other.answers) & set(_names(nb.cells[index].source)), (ex.id, other.id)


def _names(source: str) -> set[str]:
    import ast

    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def test_resolve_roles_writes_out_glue_and_numref():
    text = "Fmax {glue:text}`fmax:.3f` over {glue:text}`n` seeds, {glue:text}`missing`; see {numref}`fig-02_training_curves`."
    assert course.resolve_roles(text, {"fmax": 0.123456, "n": 3}) == (
        "Fmax 0.123 over 3 seeds, (computed by the chapter); see the figure *training curves*.")


@pytest.mark.parametrize("value", [None, True, 3, 2.5, float("nan"), "x", [1, (2, "a")], {"k": [1.0]},
                                   np.arange(6).reshape(2, 3), np.float32(1.5), np.array(["a", "bc"])])
def test_answer_codec_round_trips_plain_values(tmp_path, value):
    answer_codec.write(value, tmp_path)
    back = answer_codec.read(tmp_path)
    assert repr(back) == repr(value) or np.array_equal(back, value)


def test_answer_codec_round_trips_tensors_and_frames(tmp_path):
    import pandas as pd
    import torch

    frame = pd.DataFrame({"n_genes": [11, 400], "bin": ["11-30", ">=301"]})
    answer_codec.write({"t": torch.arange(4.0), "f": frame, "s": frame["bin"]}, tmp_path)
    back = answer_codec.read(tmp_path)
    assert torch.equal(back["t"], torch.arange(4.0))
    assert back["f"].equals(frame) and list(back["s"]) == ["11-30", ">=301"]


def test_answer_codec_refuses_objects_links_and_pickles(tmp_path):
    with pytest.raises(answer_codec.AnswerError, match="object"):
        answer_codec.write(object(), tmp_path / "a")
    with pytest.raises(answer_codec.AnswerError, match="Python objects"):
        answer_codec.write(np.array([object()]), tmp_path / "b")
    answer_codec.write(1, tmp_path / "c")
    np.save(tmp_path / "evil.npy", np.array([{"pickled": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "c" / answer_codec.ARRAYS, a0=np.array([{"x": 1}], dtype=object))
    (tmp_path / "c" / answer_codec.JSON).write_text(json.dumps({"value": {"array": "a0"}}))
    with pytest.raises(ValueError):  # allow_pickle=False: an object array is never unpickled
        answer_codec.read(tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / answer_codec.JSON).symlink_to("/dev/zero")
    with pytest.raises(answer_codec.AnswerError, match="cannot be read|regular file"):
        answer_codec.read(tmp_path / "d")


def test_named_references_finds_imports_calls_and_attributes():
    refs = ["g2p.genepheno.losses.exclusive_loss", "g2p.g2pdiff.simulator:PhenotypeSimulator.traits"]
    assert grading.named_references("from g2p.genepheno.losses import exclusive_loss as mine", refs) == ["exclusive_loss"]
    assert grading.named_references("import g2p\ny = g2p.genepheno.losses.exclusive_loss(a, b)", refs) == ["exclusive_loss"]
    assert grading.named_references("sim.traits(records)", refs) == ["traits"]
    assert grading.named_references("def my_exclusive_loss(l, p):\n    return l.sum()", refs) == []


def test_prepare_drops_check_cells_and_sets_the_preset_even_without_tags():
    master = _nb(nbformat.v4.new_code_cell('preset = "quick"\nseeds = [0, 1, 2]', metadata={"tags": ["parameters"]}),
                 nbformat.v4.new_code_cell(SOLUTION), _check_cell("1.1"), _hidden_cell("1.1"))
    submission = nbformat.reads(nbformat.writes(master), as_version=4)
    submission.cells = submission.cells[:3]
    run_nb, warnings = grading.prepare(submission, master, {"preset": "smoke"}, "sub.ipynb")
    assert warnings == [] and len(run_nb.cells) == 2 and run_nb.cells[0].source.endswith("preset = 'smoke'")
    for cell in submission.cells:
        cell.metadata.pop("tags", None)
    run_nb, warnings = grading.prepare(submission, master, {"preset": "smoke"}, "sub.ipynb")
    assert len(warnings) == 1 and "tags were stripped" in warnings[0]
    assert [c.source.endswith("preset = 'smoke'") for c in run_nb.cells] == [True, False]
    submission.cells = submission.cells[1:]
    with pytest.raises(course.CourseError, match="no parameters cell"):
        grading.prepare(submission, master, {"preset": "smoke"}, "sub.ipynb")


def test_find_submissions_names_students_by_file_or_folder(tmp_path):
    copy_of_02 = json.dumps({"cells": [], "metadata": {"g2p_course": {"chapter": "02_train_genepheno"}},
                             "nbformat": 4, "nbformat_minor": 5})
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "02_train_genepheno.ipynb").write_text(copy_of_02)
    (tmp_path / "bob.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "bob-checkpoint.ipynb").write_text("{}")
    jobs = gradebook.find_submissions([tmp_path])
    assert [(j.student, j.submission.name) for j in jobs] == [("ann", "02_train_genepheno.ipynb"), ("bob", "bob.ipynb")]
    (tmp_path / "ann" / "mine.ipynb").write_text(copy_of_02)  # the chapter from its metadata
    with pytest.raises(course.CourseError, match="a second submission of ann"):
        gradebook.find_submissions([tmp_path])
    (tmp_path / "empty").mkdir()
    with pytest.raises(course.CourseError, match="no notebooks"):
        gradebook.find_submissions([tmp_path / "empty"])
    with pytest.raises(course.CourseError, match="no such notebook or folder"):
        gradebook.find_submissions([tmp_path / "missing"])


def test_gradebook_rows_give_points_and_notebook_warnings(tmp_path):
    one, two = course.Exercise("2.1", "loss", 3, points=2.0), course.Exercise("2.2", "epoch", 5)
    grades = [grading.Grade("02_train_genepheno", [grading.Result(one, "pass"), grading.Result(two, "fail", "wrong")],
                            5.0, warnings=["tags stripped"], student="ann", submission="ann.ipynb"),
              grading.Grade("", [], 0.0, warnings=["error: x.ipynb: not a notebook"], student="bob", submission="x.ipynb")]
    book, feedback = gradebook.write_gradebook(grades, tmp_path)
    import csv

    rows = list(csv.DictReader(book.open()))
    assert [(r["student"], r["exercise"], r["points"], r["max_points"], r["status"]) for r in rows] == [
        ("ann", "notebook", "0", "0", "warning"), ("ann", "2.1", "2", "2", "pass"), ("ann", "2.2", "0", "1", "fail"),
        ("bob", "notebook", "0", "0", "error")]
    assert "score: 2/3" in feedback[0].read_text() and "not a notebook" in feedback[1].read_text()


def test_refuse_overwriting_follows_links(tmp_path):
    submission = tmp_path / "sub.ipynb"
    submission.write_text("{}")
    (tmp_path / "link.ipynb").symlink_to(submission)
    for target in (submission, tmp_path / "link.ipynb", tmp_path / "." / "sub.ipynb"):
        with pytest.raises(UsageError, match="would be overwritten"):
            course.refuse_overwriting(target, [submission], "--keep")
    course.refuse_overwriting(tmp_path / "executed.ipynb", [submission], "--keep")


def test_sandbox_readable_roots_cover_everything_but_the_hidden(tmp_path):
    for name in ("a/x", "a/y", "b"):
        (tmp_path / name).mkdir(parents=True)
    roots = sandbox.readable_roots([tmp_path / "a" / "x"], tmp_path)
    assert sorted(roots) == [tmp_path / "a" / "y", tmp_path / "b"]
    assert sandbox.readable_roots([], tmp_path) == [tmp_path]


@pytest.mark.skipif(not sandbox.available(), reason="this kernel has no Landlock")
def test_sandbox_confines_writes_reads_and_signals(tmp_path):
    import subprocess
    import sys

    scratch, hidden, outside = tmp_path / "scratch", tmp_path / "hidden", tmp_path / "outside.txt"
    scratch.mkdir()
    hidden.mkdir()
    (hidden / "secret").write_text("solution")
    outside.write_text("keep me")
    probe = f"""
import os
open({str(scratch / 'ok')!r}, "w").write("1")
for attempt in (lambda: open({str(outside)!r}, "w"), lambda: os.remove({str(outside)!r}),
                lambda: open({str(hidden / 'secret')!r}).read(), lambda: os.kill(os.getppid(), 0)):
    try:
        attempt()
        print("ALLOWED")
    except OSError:
        print("refused")
"""
    out = subprocess.run(sandbox.command([scratch], [hidden], [sys.executable, "-c", probe]), capture_output=True,
                         text=True, check=True).stdout.split()
    assert (scratch / "ok").read_text() == "1" and outside.read_text() == "keep me"
    assert out[:3] == ["refused"] * 3, out
    if sandbox.abi_version() >= 6:
        assert out[3] == "refused", "the sandbox must not signal the grader"
