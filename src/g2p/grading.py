"""Grading a submission so that nothing in it can change the verdict, or anything outside its folder.

How one submission is graded (:func:`grade`):

1. **Prepared from the instructor's copy.** The exercises, their points and their checks come from the
   chapter's source notebook, never from the submission. The submission's own check cells are dropped
   and its parameters cell is replaced by the preset's values (a notebook whose cell tags an editor
   stripped is recognised by content and graded with a warning).
2. **Run confined.** The submission runs in a fresh kernel whose working directory and output root are
   a scratch folder (``G2P_OUTPUT_ROOT``): the trained models and curated data it reads appear there as
   links to the instructor's files, and every file the kernel writes lands in the scratch folder. With
   Linux Landlock (:mod:`g2p.sandbox`) the kernel cannot write anywhere else, cannot read the chapter
   sources, the other submissions or the gradebook, and cannot signal the grader. One time limit
   covers the submission's cells; Ctrl-C or the limit shuts the kernel down and removes the folder.
3. **Checked outside the kernel.** Each exercise's check code (visible and hidden cells) runs in the
   grader's own process, with fresh imports of the package. The names the exercise asks for
   (``my_exclusive_loss``…) are bound to :class:`Answer` objects: calling one runs the student's
   function in the kernel on the grader's arguments and brings back the result as plain data
   (:mod:`g2p.answer_codec`). Patching ``check``, the package or ``torch`` in the kernel therefore
   changes nothing the grader computes. An answer that is the package's own implementation, calls it
   at run time, or names it in the student's code fails.

:mod:`g2p.gradebook` grades a class with :func:`grade` in parallel processes.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import logging
import math
import os
import pickle
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from g2p import answer_codec, exercise, paths, runner, sandbox
from g2p.exercise_cells import (CHECK_TAG, HIDDEN_TAG, CourseError, Exercise, exercises, source_of, student_view,
                                tags_of)
from g2p.exercise import ERROR, FAIL, NOT_ATTEMPTED, PASS
from g2p.stamps import READS as UPSTREAM

PARAMETERS_TAG = "parameters"
TIME_LIMIT = "time limit"
CALL_SECONDS = 30  # one call of a student's function from a check
CHECK_SECONDS = 120  # all the calls of one submission's checks together
_LOG = logging.getLogger("g2p.grading")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False


# =============================================================================================== results
@dataclass
class Result:
    exercise: Exercise
    status: str
    detail: str = ""

    @property
    def points(self) -> float:
        return self.exercise.points if self.status == PASS else 0.0


@dataclass
class Grade:
    chapter: str
    results: list[Result]
    seconds: float
    timed_out: bool = False
    warnings: list[str] = field(default_factory=list)
    student: str = ""
    submission: str = ""
    executed: Any = None  # the executed submission (for --keep)

    @property
    def score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.exercise.points for r in self.results)

    @property
    def broken_checks(self) -> list[Result]:
        return [r for r in self.results if r.status == ERROR]

    def lines(self) -> list[str]:
        width = max((len(f"{r.exercise.id} {r.exercise.title}") for r in self.results), default=0)
        rows = [f"{r.exercise.id} {r.exercise.title}".ljust(width) + f"  {r.status}"
                + f"  {number_text(r.points)}/{number_text(r.exercise.points)}" + (f" ({r.detail})" if r.detail else "")
                for r in self.results]
        note = ", time limit reached" if self.timed_out else ""
        return [*[f"warning: {w}" for w in self.warnings], *rows,
                f"score: {number_text(self.score)}/{number_text(self.max_score)} ({self.chapter}, {self.seconds:.0f} s{note})"]


def number_text(value: float) -> str:
    return f"{value:g}"


# ============================================================================================ preparing
def chapter_of(nb: Any, submission: Path) -> str:
    """The chapter a submission is a copy of: its ``g2p_course`` metadata, else its NN_ file-name prefix."""
    chapter = nb.get("metadata", {}).get("g2p_course", {}).get("chapter")
    if isinstance(chapter, str) and (paths.notebooks / f"{chapter}.ipynb").is_file():
        return chapter
    try:
        return runner.discover(paths.notebooks, [submission.name[:2]])[0].stem
    except Exception:  # noqa: BLE001 - any miss means the same to the user
        raise CourseError(f"{submission}: cannot tell which chapter this is (no g2p_course metadata, "
                          f"no NN_ prefix matching a notebook)") from None


def read_submission(submission: Path) -> Any:
    try:
        return nbformat.read(submission, as_version=4)
    except Exception as exc:  # noqa: BLE001 - whatever nbformat says, it is not a notebook
        raise CourseError(f"{submission}: not a readable notebook ({type(exc).__name__}: {exc})") from None


def _assigned(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}


def _is_check_cell(cell: Any, tagged: bool) -> bool:
    if cell.get("cell_type") != "code":
        return False
    if tagged:
        return bool({CHECK_TAG, HIDDEN_TAG} & set(tags_of(cell)))
    return "with check(" in source_of(cell)


def prepare(nb: Any, master: Any, parameters: dict[str, Any], where: str) -> tuple[Any, list[str]]:
    """The notebook to run: the submission's cells without its check cells, and one parameters cell (the
    source's defaults, then the preset's values). Returns it and the warnings to report."""
    warnings: list[str] = []
    defaults = next(source_of(c) for c in master.cells if PARAMETERS_TAG in tags_of(c))
    names = _assigned(defaults)
    cells = [c for c in nb.cells]
    tagged = [i for i, c in enumerate(cells) if PARAMETERS_TAG in tags_of(c)]
    any_tags = any(tags_of(c) for c in cells)
    if tagged:
        found = tagged[0]
    else:
        candidates = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and names <= _assigned(source_of(c))]
        if not candidates:
            raise CourseError(f"{where}: no parameters cell (none tagged {PARAMETERS_TAG!r}, none that sets "
                              f"{', '.join(sorted(names))})", hint="start again from the student copy of the chapter")
        found = candidates[0]
        warnings.append(f"no cell is tagged {PARAMETERS_TAG!r} (cell tags were stripped?): cell {found} was taken "
                        "as the parameters cell and given the preset's values; check cells were found by their "
                        "'with check(' line")
    injected = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    out = copy.deepcopy(nb)
    out.cells = []
    for index, cell in enumerate(cells):
        if index == found:
            cell = nbformat.v4.new_code_cell(f"{defaults}\n# the preset's values (set by the grader)\n{injected}",
                                             metadata={"tags": [PARAMETERS_TAG]})
        elif _is_check_cell(cell, tagged=any_tags):
            continue
        else:
            cell = copy.deepcopy(cell)
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        out.cells.append(cell)
    return out, warnings


def check_parameters(master: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    """The names a check may use besides its imports: the source's parameter defaults (its own
    parameters cell, run here), then the preset's values."""
    namespace: dict[str, Any] = {}
    exec(compile(next(source_of(c) for c in master.cells if PARAMETERS_TAG in tags_of(c)), "<parameters>", "exec"),
         namespace)
    namespace.pop("__builtins__", None)
    return {**namespace, **parameters}


def _student_code(nb: Any, master: Any) -> str:
    """The code the student wrote: every code cell whose text is not one of the source's cells."""
    theirs = {source_of(c).strip() for c in master.cells if c.get("cell_type") == "code"}
    return "\n".join(source_of(c) for c in nb.cells if c.get("cell_type") == "code" and source_of(c).strip() not in theirs)


def named_references(code: str, references: Sequence[str]) -> list[str]:
    """The package functions of ``references`` that ``code`` names (imports, calls, attributes)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        tree = None
    wanted = {r.replace(":", ".").rpartition(".")[2] for r in references}
    if tree is None:
        return sorted(name for name in wanted if re.search(rf"\b{re.escape(name)}\b", code))
    seen = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in wanted:
            seen.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in wanted:
            seen.add(node.attr)
        elif isinstance(node, ast.alias) and node.name.rpartition(".")[2] in wanted:
            seen.add(node.name.rpartition(".")[2])
    return sorted(seen)


# ========================================================================================== the kernel
def scratch_layout(scratch: Path, preset: str) -> tuple[Path, Path]:
    """``scratch/work`` (the kernel's working directory) and ``scratch/root`` (its output root) in which
    the instructor's curated data and runs of ``preset`` appear file by file as links: reading works,
    and g2p's atomic writes replace a link in the scratch folder instead of writing through it."""
    work, root = scratch / "work", scratch / "root"
    for folder in (work, root, scratch / "tmp", scratch / "ipython", scratch / "calls", scratch / "notebooks"):
        folder.mkdir(parents=True, exist_ok=True)
    for chapter in runner.discover(paths.notebooks):  # what the preset check reads, without the solutions
        view = student_view(nbformat.read(chapter, as_version=4), chapter.name)
        (scratch / "notebooks" / chapter.name).write_text(nbformat.writes(nbformat.from_dict(view)))
    for source, target in ((paths.processed, root / "data" / "processed"), (paths.runs / preset, root / "runs" / preset)):
        if not source.is_dir():
            continue
        for directory, subdirs, files in os.walk(source):
            here = target / Path(directory).relative_to(source)
            here.mkdir(parents=True, exist_ok=True)
            for name in files:
                (here / name).symlink_to(Path(directory) / name)
            subdirs[:] = [d for d in subdirs if not d.startswith(".")]
    return work, root


def hidden_paths(extra: Sequence[Path] = ()) -> list[Path]:
    """What a submission's kernel may not read: the chapter sources (solutions), the repository's
    history, every executed chapter and built book, the course copies, plus ``extra`` (the other
    submissions, the gradebook, the other scratch folders)."""
    candidates = [paths.notebooks, paths.root / ".git", paths.output_root / "course", paths.build,
                  paths.output_root / "_build", paths.root / "course", paths.root / "build", paths.root / "_build",
                  *extra]
    return sorted({Path(os.path.realpath(p)) for p in candidates if os.path.lexists(p)})


def _kernel_manager(write: Path, hide: Sequence[Path]) -> Any:
    from jupyter_client.manager import AsyncKernelManager

    class SandboxedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            command = super().format_kernel_cmd(extra_arguments)
            return sandbox.command([write], hide, command) if sandbox.available() else command

    return SandboxedKernelManager(kernel_name=runner.KERNEL)


class KernelGone(RuntimeError):
    """The submission's kernel died or stopped answering."""


class Session:
    """A submission's kernel, its scratch folder and the cells run in it."""

    def __init__(self, nb: Any, scratch: Path, preset: str, chapter: str, hide: Sequence[Path]) -> None:
        from nbclient import NotebookClient

        self.nb, self.scratch = nb, scratch
        self.work, self.root = scratch_layout(scratch, preset)
        self.calls = 0
        self.deadline = float("inf")
        self.log = (scratch / "kernel.log").open("wb")
        self.env = {**os.environ, paths.OUTPUT_ROOT_ENV: str(self.root), "G2P_NOTEBOOK": chapter,
                    "G2P_PRESET": f"course-{preset}", "G2P_RUN_ID": "course-grade", "TMPDIR": str(scratch / "tmp"),
                    "IPYTHONDIR": str(scratch / "ipython"), "G2P_NOTEBOOKS": str(scratch / "notebooks"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "agg"}
        self.client = NotebookClient(
            nb, km=_kernel_manager(scratch, hide), timeout_func=self._cell_timeout, allow_errors=True,
            interrupt_on_timeout=True, shutdown_kernel="immediate", log=_LOG,
            error_on_timeout={"ename": "TimeoutError", "evalue": TIME_LIMIT, "traceback": []},
            resources={"metadata": {"path": str(self.work)}})
        self._watchdog: threading.Timer | None = None
        self.hit_limit = False
        handle_timeout = self.client._async_handle_timeout

        async def on_timeout(timeout: int, cell: Any = None) -> Any:  # nbclient interrupts the kernel next
            self.hit_limit = True
            return await handle_timeout(timeout, cell)

        self.client._async_handle_timeout = on_timeout

    def _cell_timeout(self, cell: Any) -> int:
        return max(1, math.ceil(self.deadline - time.monotonic()))

    @contextlib.contextmanager
    def running(self) -> Iterator[Session]:
        with self.client.setup_kernel(cwd=str(self.work), env=self.env, stdout=self.log, stderr=self.log):
            yield self

    def _kill_later(self, seconds: float) -> None:
        """A kernel that ignores the interrupt (a loop in C) is killed ``seconds`` after the limit."""
        self._cancel_kill()
        process = getattr(getattr(self.client.km, "provisioner", None), "process", None)
        if process is not None:
            self._watchdog = threading.Timer(max(seconds, 1), _kill, args=(process,))
            self._watchdog.daemon = True
            self._watchdog.start()

    def _cancel_kill(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def execute(self, index: int, seconds: float) -> None:
        from nbclient.exceptions import DeadKernelError

        self.deadline = time.monotonic() + seconds
        self._kill_later(seconds + 10)
        try:
            self.client.execute_cell(self.nb.cells[index], index)
        except DeadKernelError:
            raise KernelGone("the kernel died") from None
        finally:
            self._cancel_kill()

    def call(self, name: str, args: tuple, kwargs: dict, references: Sequence[str], limit: float) -> Any:
        """``name(*args, **kwargs)`` in the kernel; the decoded result, or an exception saying why not."""
        self.calls += 1
        folder = self.scratch / "calls" / str(self.calls)
        folder.mkdir()
        request = folder / "request.pkl"
        request.write_bytes(pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL))
        reply = folder / "reply"
        code = (f"__import__('g2p.exercise', fromlist=['answer']).answer({name!r}, {str(request)!r}, "
                f"{str(reply)!r}, {list(references)!r})")
        self.nb.cells.append(nbformat.v4.new_code_cell(code))
        try:
            self.execute(len(self.nb.cells) - 1, min(CALL_SECONDS, limit))
        finally:
            self.nb.cells.pop()
        try:
            record = answer_codec.read_record(reply)
        except answer_codec.AnswerError:
            raise StudentError(f"{name} gave no answer within {min(CALL_SECONDS, limit):.0f} s "
                               "(it ran too long, or the kernel died)") from None
        if "error" in record:
            error = record["error"] if isinstance(record["error"], dict) else {}
            message = str(error.get("message", ""))[:300]
            if error.get("kind") in ("undefined", "not attempted"):
                raise NotImplementedError(message)
            raise StudentError(message)
        try:
            return answer_codec.read(reply)
        except answer_codec.AnswerError as exc:
            raise StudentError(f"{name}'s answer cannot be read ({exc})") from None


def _kill(process: Any) -> None:
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()


class StudentError(Exception):
    """The student's function raised, returned something ungradable, or is not theirs."""

    about_the_answer = True  # check() reports the message alone


class Answer:
    """A student's function as a check sees it: calling it runs it in the submission's kernel."""

    def __init__(self, session: Session, name: str, references: Sequence[str], budget: list[float]) -> None:
        self._session, self._name, self._references, self._budget = session, name, references, budget

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        left = self._budget[0] - time.monotonic()
        if left <= 0:
            raise StudentError(f"the checks' time ({CHECK_SECONDS} s) ran out before calling {self._name}")
        return self._session.call(self._name, args, kwargs, self._references, left)

    def __repr__(self) -> str:
        return f"<the submission's {self._name}>"


# ============================================================================================ verdicts
def _verdict(ex: Exercise, outcomes: list[tuple[str, str, str]], crashed: str | None) -> Result:
    mine = [(status, detail) for ident, status, detail in outcomes if ident == ex.id]
    for wanted in (NOT_ATTEMPTED, FAIL, ERROR):
        found = [detail for status, detail in mine if status == wanted]
        if found:
            return Result(ex, wanted, found[0][:300])
    if crashed:
        return Result(ex, ERROR, crashed[:300])
    if not mine:
        return Result(ex, ERROR, "the check ran no check() block")
    return Result(ex, PASS)


def run_checks(ex: Exercise, master: Any, parameters: dict[str, Any], answers: dict[str, Any]) -> Result:
    """Run the exercise's check cells (visible, then hidden) here, in the grader's process."""
    outcomes: list[tuple[str, str, str]] = []
    crashed = None
    previous = exercise.check.outcomes, exercise.check.grading
    exercise.check.outcomes, exercise.check.grading = outcomes, True
    try:
        for index in [ex.check_cell, *ex.hidden_cells]:
            namespace = {"__name__": "__g2p_check__", **copy.deepcopy(parameters), **answers}
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    exec(compile(source_of(master.cells[index]), f"<check {ex.id}, cell {index}>", "exec"), namespace)
                except (NotImplementedError, StudentError, AssertionError):
                    pass  # already reported by check()
                except Exception as exc:  # noqa: BLE001 - a check that breaks outside check(): the check's fault
                    crashed = f"the check itself is broken: {type(exc).__name__}: {exc}"
    finally:
        exercise.check.outcomes, exercise.check.grading = previous
    return _verdict(ex, outcomes, crashed)


# ============================================================================================ grading
def ensure_chapter(chapter: str, preset: str) -> None:
    """Run (or reuse) the chapter and the chapters it reads from on ``preset``: the checks read the
    chapter's outputs, and the submission reuses its trained models instead of training its own."""
    runner.run(preset, only=[*UPSTREAM.get(chapter, ()), chapter], write_provenance=False)


def grade(submission: Path, *, preset: str = "smoke", timeout: float = 120.0, student: str = "",
          hide: Sequence[Path] = (), scratch_parent: Path | None = None, prepared: bool = False,
          keep_executed: bool = False) -> Grade:
    """Grade one submission (see the module docstring). ``prepared``: the chapter was already run by
    :func:`ensure_chapter`. ``hide``: more paths the kernel may not read."""
    submission = Path(submission)
    nb = read_submission(submission)
    chapter = chapter_of(nb, submission)
    source = paths.notebooks / f"{chapter}.ipynb"
    master = nbformat.read(source, as_version=4)
    graded = exercises(master, source.name)
    parameters = runner.parameters_for(source, preset)
    run_nb, warnings = prepare(nb, master, parameters, str(submission))
    if not prepared:
        ensure_chapter(chapter, preset)
    if not sandbox.available():
        warnings.append("this system has no Linux Landlock: the submission ran in a scratch folder, but it was "
                        "not prevented from writing or reading elsewhere")
    start = time.monotonic()
    timed_out, crashed = False, None
    scratch = Path(tempfile.mkdtemp(prefix="g2p-grade-", dir=scratch_parent))
    results: list[Result] = []
    try:
        session = Session(run_nb, scratch, preset, chapter, [*hidden_paths(hide)])
        with session.running():
            deadline = start + timeout
            for index in range(len(run_nb.cells)):
                if run_nb.cells[index].get("cell_type") != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                try:
                    session.execute(index, left)
                except KernelGone:
                    crashed = f"the notebook's kernel died in cell {index}"
                    break
                if session.hit_limit:
                    timed_out = True
                    break
            written = _student_code(nb, master)
            budget = [time.monotonic() + CHECK_SECONDS]
            for ex in graded:
                named = named_references(written, ex.references)
                if named:
                    results.append(Result(ex, FAIL, f"uses the package's {named[0]} (write it yourself)"))
                    continue
                if crashed:
                    results.append(Result(ex, FAIL, crashed))
                    continue
                answers = {name: Answer(session, name, ex.references, budget) for name in ex.answers}
                results.append(run_checks(ex, master, check_parameters(master, parameters), answers))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if timed_out:
        warnings.append(f"the time limit ({timeout:g} s) stopped the notebook; exercises after that point were "
                        "graded on what had run")
    executed = None
    if keep_executed:
        executed = run_nb
    return Grade(chapter, results, time.monotonic() - start, timed_out, warnings, student, str(submission), executed)
