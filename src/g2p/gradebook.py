"""Grading a class: the submissions found in folders, graded in parallel processes (:func:`g2p.grading.grade`
each, in its own scratch folder), then ``gradebook.csv`` and one feedback file per student and chapter."""

from __future__ import annotations

import contextlib
import csv
import io
import multiprocessing
import os
import signal
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from g2p import atomic, paths, runner
from g2p.exercise_cells import CourseError
from g2p.grading import Grade, number_text, chapter_of, ensure_chapter, grade, read_submission

@dataclass(frozen=True)
class Job:
    student: str
    submission: Path


def find_submissions(inputs: Sequence[Path]) -> list[Job]:
    """Each input is a notebook (the student: its folder's name if the file is named after a chapter,
    else the file's stem) or a folder of ``STUDENT.ipynb`` files or ``STUDENT/NN_*.ipynb`` folders."""
    jobs: list[Job] = []
    chapters = {p.stem for p in runner.discover(paths.notebooks)}
    for given in inputs:
        given = Path(given)
        if given.is_dir():
            files = sorted([*given.glob("*.ipynb"), *given.glob("*/*.ipynb")])
            files = [f for f in files if not any(part.startswith(".") for part in f.relative_to(given).parts)]
            if not files:
                raise CourseError(f"{given}: no notebooks (*.ipynb or */*.ipynb) in this folder")
        elif given.is_file():
            files = [given]
        else:
            raise CourseError(f"{given}: no such notebook or folder")
        for f in files:
            student = f.parent.name if f.stem in chapters or f.parent != given and given.is_dir() else f.stem
            jobs.append(Job(student, f))
    seen: dict[tuple[str, str], Path] = {}
    for job in jobs:
        try:
            chapter = chapter_of(read_submission(job.submission), job.submission)
        except CourseError:
            continue  # graded as an error, with its reason
        key = (job.student, chapter)
        if key in seen:
            raise CourseError(f"{job.submission}: a second submission of {job.student} for the same chapter "
                              f"(the first is {seen[key]})")
        seen[key] = job.submission
    return jobs


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds grade(): the kernel is shut down, the scratch folder removed


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers
    signal.signal(signal.SIGTERM, _stop)


def _grade_job(job: Job, preset: str, timeout: float, hide: tuple[Path, ...], scratch_parent: Path) -> Grade:
    try:
        return grade(job.submission, preset=preset, timeout=timeout, student=job.student, hide=hide,
                     scratch_parent=scratch_parent, prepared=True)
    except CourseError as exc:
        return Grade("", [], 0.0, warnings=[f"error: {exc}"], student=job.student, submission=str(job.submission))


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def grade_many(jobs: Sequence[Job], *, preset: str = "smoke", timeout: float = 120.0, workers: int | None = None,
               hide: Sequence[Path] = (), progress: Any = None) -> list[Grade]:
    """Grade every job, ``workers`` at a time (default: the cores), each in its own scratch folder."""
    chapters = []
    for job in jobs:
        try:
            chapters.append(chapter_of(read_submission(job.submission), job.submission))
        except CourseError:
            continue
    for chapter in dict.fromkeys(chapters):
        ensure_chapter(chapter, preset)
    workers = max(1, min(workers or default_jobs(), len(jobs)))
    with tempfile.TemporaryDirectory(prefix="g2p-class-") as tmp:
        scratch_parent = Path(tmp)
        hidden = (*hide, scratch_parent)  # a kernel sees its own scratch folder only (its write rule)
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init)
        try:
            futures = [pool.submit(_grade_job, job, preset, timeout, hidden, scratch_parent) for job in jobs]
            grades = []
            for job, future in zip(jobs, futures):
                grades.append(future.result())
                if progress is not None:
                    progress(grades[-1], len(grades), len(jobs))
        except BaseException:  # Ctrl-C: each worker shuts its kernel down and removes its scratch folder
            workers_left = list((getattr(pool, "_processes", None) or {}).values())
            for process in workers_left:
                with contextlib.suppress(OSError):
                    process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers_left:
                process.join(30)
            raise
        pool.shutdown(wait=True)
    return grades


GRADEBOOK_COLUMNS = ["student", "chapter", "exercise", "points", "max_points", "status", "message"]


def gradebook_rows(grades: Sequence[Grade]) -> list[dict[str, str]]:
    """One row per exercise of each submission, plus one ``notebook`` row per warning or error."""
    rows = []
    for g in grades:
        for warning in g.warnings:
            error = warning.startswith("error: ")
            rows.append({"student": g.student, "chapter": g.chapter, "exercise": "notebook", "points": "0",
                         "max_points": "0", "status": "error" if error else "warning",
                         "message": warning.removeprefix("error: ")})
        for r in g.results:
            rows.append({"student": g.student, "chapter": g.chapter, "exercise": r.exercise.id,
                         "points": number_text(r.points), "max_points": number_text(r.exercise.points), "status": r.status,
                         "message": r.detail})
    return rows


def feedback_text(g: Grade) -> str:
    head = [f"student: {g.student}", f"submission: {Path(g.submission).name}",
            f"chapter: {g.chapter or 'unknown'}", ""]
    if not g.results:
        return "\n".join([*head, *g.warnings]) + "\n"
    body = g.lines()
    return "\n".join([*head, *body]) + "\n"


def write_gradebook(grades: Sequence[Grade], out: Path) -> tuple[Path, list[Path]]:
    """``out/gradebook.csv`` and ``out/feedback/<student>/<chapter>.txt``, each written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, GRADEBOOK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(gradebook_rows(grades))
    feedback = []
    for g in grades:
        path = out / "feedback" / g.student / f"{g.chapter or Path(g.submission).stem}.txt"
        atomic.write_text(path, feedback_text(g))
        feedback.append(path)
    gradebook = out / "gradebook.csv"
    atomic.write_text(gradebook, buffer.getvalue())
    return gradebook, feedback
