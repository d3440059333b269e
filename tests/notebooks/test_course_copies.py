"""The instructor pack on the smoke preset: instructor copies score full marks and untouched student copies
zero; the cheats that fooled the first grader score nothing; a correct answer written with its own imports
passes; a notebook whose tags were stripped is graded with a warning; a class of three gets the right
points in the gradebook; a submission cannot change files outside its scratch folder."""

from __future__ import annotations

import copy
import csv
import hashlib
import re
import time
from pathlib import Path

import nbformat
import pytest

from g2p import course, gradebook, grading, paths, runner
from g2p.cli import main as cli_main

pytestmark = pytest.mark.slow

CHAPTERS = [p.stem for p in runner.discover(paths.notebooks) if course.exercises(nbformat.read(p, as_version=4))]
CH02 = "02_train_genepheno"


@pytest.fixture(scope="module")
def built(smoke_run, tmp_path_factory):
    target = tmp_path_factory.mktemp("course")
    tic = time.perf_counter()
    course.build(target=target, values_from="smoke")
    assert time.perf_counter() - tic <= 10, "course build must take at most 10 s"
    return target


def test_enough_exercises_across_chapters():
    table = course.exercise_table()
    assert len(table) >= 8 and len(CHAPTERS) >= 4, table


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_executed_chapter_passes_every_check_and_hidden_check(smoke_run, chapter):
    """The chapters as `g2p run` executes them have the solutions: every check block prints pass."""
    nb = nbformat.read(smoke_run / f"{chapter}.ipynb", as_version=4)
    for ex in course.exercises(nb):
        for index in [ex.check_cell, *ex.hidden_cells]:
            text = "".join(o.get("text", "") for o in nb.cells[index].outputs if o.output_type == "stream")
            assert re.search(rf"^exercise {re.escape(ex.id)} \(.*\): pass$", text, re.MULTILINE), (ex.id, index, text)


@pytest.fixture(scope="module")
def copies_graded(built):
    """Every chapter's instructor and student copy, graded as one class, in parallel."""
    jobs = [gradebook.Job(copy, built / copy / f"{chapter}.ipynb") for copy in ("instructor", "student") for chapter in CHAPTERS]
    tic = time.perf_counter()
    grades = gradebook.grade_many(jobs, preset="smoke", timeout=120)
    print(f"\n{len(jobs)} copies graded in {time.perf_counter() - tic:.0f} s")
    return {(g.student, g.chapter): g for g in grades}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_an_instructor_copy_scores_full_marks(copies_graded, chapter):
    grade = copies_graded[("instructor", chapter)]
    assert grade.results and grade.score == grade.max_score, grade.lines()
    assert not grade.warnings, grade.warnings


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_an_untouched_student_copy_scores_zero_not_attempted(copies_graded, chapter):
    grade = copies_graded[("student", chapter)]
    assert grade.results and grade.score == 0 and not grade.timed_out
    assert {r.status for r in grade.results} == {course.NOT_ATTEMPTED}, grade.lines()


# ------------------------------------------------------------------------------------------ chapter 02
GOOD_21 = """import torch

def my_exclusive_loss(logits, pairs):
    s = logits.float()
    return torch.nn.functional.softplus(s[:, pairs[:, 0]] + s[:, pairs[:, 1]]).sum(dim=-1).mean()
"""
OWN_IMPORT_21 = """import torch.nn.functional as F

def my_exclusive_loss(logits, pairs):
    s = logits.float()
    return F.softplus(s[:, pairs[:, 0]] + s[:, pairs[:, 1]]).sum(dim=-1).mean()
"""
WRONG_21 = "def my_exclusive_loss(logits, pairs):\n    return logits.new_zeros(())\n"
GOOD_22 = "def kept_epoch(history):\n    return int(history.loc[history['val_fmax'].idxmax(), 'epoch'])\n"
WRONG_22 = "def kept_epoch(history):\n    return int(history['epoch'].iloc[-1])\n"
PATCH_EXIT = ("import g2p.exercise\n"
              "g2p.exercise.check.__exit__ = lambda self, *a: (print(f'exercise {self.exercise} ({self.title}): pass'), True)[1]\n")
GLOBAL_CHECK = ("class check:\n    def __init__(self, i, t): self.i, self.t = i, t\n    def __enter__(self): return self\n"
                "    def __exit__(self, *a):\n        print(f'exercise {self.i} ({self.t}): pass')\n        return True\n\n")
PATCH_TORCH = "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.isfinite = lambda *a: torch.tensor(True)\n"
IMPORT_REFERENCE = "from g2p.genepheno.losses import exclusive_loss as my_exclusive_loss\n"
HIDDEN_REFERENCE = ("import importlib\n\ndef my_exclusive_loss(logits, pairs):\n"
                    "    module = importlib.import_module('g2p.genepheno.' + 'losses')\n"
                    "    return getattr(module, 'exclusive' + '_loss')(logits, pairs)\n")


def _vandal(victim: Path, model_file: Path, source: Path) -> str:
    return GOOD_21 + f"""
import os, pathlib
for attempt in (lambda: pathlib.Path({str(victim)!r}).write_text("vandalised"),
                lambda: os.remove({str(victim)!r}),
                lambda: pathlib.Path({str(model_file)!r}).write_bytes(b"0"),
                lambda: pathlib.Path({str(paths.src / 'planted.py')!r}).write_text("x = 1")):
    try:
        attempt()
    except OSError as exc:
        print("refused:", exc)
"""


def _peek(source: Path) -> str:
    return (f"import json, pathlib\nnb = json.loads(pathlib.Path({str(source)!r}).read_text())\n"
            "exec(''.join(next(''.join(c['source']) for c in nb['cells'] if 'def my_exclusive_loss' in ''.join(c['source']))))\n")


@pytest.fixture(scope="module")
def class_graded(built, tmp_path_factory):
    """One `course grade` over a class folder: three honest students (ann, bob, cat), the cheats of the
    first grader's review, and the awkward-but-honest cases."""
    folder = tmp_path_factory.mktemp("class")
    out = tmp_path_factory.mktemp("grades")
    student = nbformat.read(built / "student" / f"{CH02}.ipynb", as_version=4)
    victim = folder.parent / "victim.txt"
    victim.write_text("original")
    model_file = next(paths.runs.joinpath("smoke").rglob("result.json"))
    before = hashlib.sha256(model_file.read_bytes()).hexdigest()

    def submission(name: str, s21: str, s22: str, edit=None) -> None:
        nb = copy.deepcopy(student)
        solution = [i for i, c in enumerate(nb.cells) if course.SOLUTION_TAG in c.metadata.get("tags", [])]
        nb.cells[solution[0]].source, nb.cells[solution[1]].source = s21, s22
        if edit:
            edit(nb)
        (folder / name).mkdir()
        nbformat.write(nb, folder / name / f"{CH02}.ipynb")

    def strip_tags(nb):
        for cell in nb.cells:
            cell.metadata.pop("tags", None)

    def break_checks(nb):
        for cell in nb.cells:
            if course.CHECK_TAG in cell.metadata.get("tags", []):
                cell.source = "# the check line was deleted by accident\n"

    submission("ann", GOOD_21, GOOD_22)
    submission("bob", GOOD_21, WRONG_22)
    submission("cat", WRONG_21, WRONG_22)
    submission("own-import", OWN_IMPORT_21, GOOD_22)
    submission("patch-exit", PATCH_EXIT + WRONG_21, WRONG_22)
    submission("global-check", WRONG_21, GLOBAL_CHECK + WRONG_22)
    submission("patch-torch", PATCH_TORCH + WRONG_21, WRONG_22)
    submission("import-reference", IMPORT_REFERENCE, GOOD_22)
    submission("hidden-reference", HIDDEN_REFERENCE, GOOD_22)
    submission("peek", _peek(paths.notebooks / f"{CH02}.ipynb"), GOOD_22)
    submission("stripped-tags", GOOD_21, GOOD_22, strip_tags)
    submission("edited-check", GOOD_21, GOOD_22, break_checks)
    submission("vandal", _vandal(victim, model_file, paths.notebooks), GOOD_22)
    tic = time.perf_counter()
    code = cli_main(["course", "grade", str(folder), "--out", str(out), "--timeout", "120"])
    seconds = time.perf_counter() - tic
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    return {"code": code, "rows": rows, "out": out, "seconds": seconds, "victim": victim, "model_file": model_file,
            "model_sha": before}


def _score(rows, student):
    return sum(float(r["points"]) for r in rows if r["student"] == student)


def _status(rows, student, exercise):
    return next(r for r in rows if r["student"] == student and r["exercise"] == exercise)


def test_the_class_gradebook_has_the_right_points(class_graded):
    rows = class_graded["rows"]
    assert class_graded["code"] == 0  # the exit status reports errors, not scores
    assert list(rows[0]) == gradebook.GRADEBOOK_COLUMNS
    assert (_score(rows, "ann"), _score(rows, "bob"), _score(rows, "cat")) == (3.0, 2.0, 0.0)
    assert {r["max_points"] for r in rows if r["student"] == "ann"} == {"2", "1"}
    assert _status(rows, "bob", "2.2")["status"] == "fail" and "epoch" in _status(rows, "bob", "2.2")["message"]
    for name in ("ann", "bob", "cat"):
        feedback = (class_graded["out"] / "feedback" / name / f"{CH02}.txt").read_text()
        assert f"student: {name}" in feedback and "score:" in feedback


@pytest.mark.parametrize("cheat", ["patch-exit", "global-check", "patch-torch", "import-reference", "hidden-reference", "peek"])
def test_a_cheat_scores_nothing_for_the_exercise_it_cheats(class_graded, cheat):
    rows = class_graded["rows"]
    assert _status(rows, cheat, "2.1")["status"] != course.PASS, _status(rows, cheat, "2.1")
    if cheat in ("patch-exit", "global-check", "patch-torch"):  # both answers wrong: 0 points
        assert _score(rows, cheat) == 0.0, [r for r in rows if r["student"] == cheat]
    if "reference" in cheat:
        assert "exclusive_loss" in _status(rows, cheat, "2.1")["message"]


def test_a_correct_answer_with_its_own_imports_passes(class_graded):
    assert _score(class_graded["rows"], "own-import") == 3.0


def test_stripped_tags_and_an_edited_check_are_still_graded(class_graded):
    rows = class_graded["rows"]
    assert _score(rows, "stripped-tags") == 3.0 and _score(rows, "edited-check") == 3.0
    warning = _status(rows, "stripped-tags", "notebook")
    assert warning["status"] == "warning" and "tags were stripped" in warning["message"]


def test_a_submission_cannot_write_outside_its_scratch_folder(class_graded):
    assert _score(class_graded["rows"], "vandal") == 3.0
    assert class_graded["victim"].read_text() == "original"
    assert hashlib.sha256(class_graded["model_file"].read_bytes()).hexdigest() == class_graded["model_sha"]
    assert not (paths.src / "planted.py").exists()


def test_course_check_gives_full_marks_to_an_instructor_copy(built, capsys):
    assert cli_main(["course", "check", str(built / "instructor" / f"{CH02}.ipynb")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    n = len(course.exercises(nbformat.read(paths.notebooks / f"{CH02}.ipynb", as_version=4)))
    assert lines[-1].startswith(f"score: 3/3 ({CH02}"), lines
    assert len(lines) == n + 1 and all(line.split()[-2] == "pass" for line in lines[:-1]), lines
