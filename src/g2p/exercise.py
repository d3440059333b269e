"""The kernel side of an exercise.

* ``with check("02.1", "title"):`` runs a chapter's checks and prints one result line (``pass``,
  ``fail: why`` or ``not attempted``). In a chapter run and in a student's own kernel the names in the
  check are the notebook's; when :mod:`g2p.grading` grades a submission, the same check code runs in
  the grader's process, where the answer names stand for calls into the submission's kernel.
* :func:`answer` is what the grader runs in a submission's kernel: call one of the student's functions
  on the grader's arguments and send back the result as data (:mod:`g2p.answer_codec`), never as an
  object the grader would have to trust.

Kept apart from :mod:`g2p.course` (copies and grading, which drive the runner) so that a chapter
importing ``check`` depends on nothing but this module.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from types import CodeType, TracebackType
from typing import Any

PASS, FAIL, NOT_ATTEMPTED, ERROR = "pass", "fail", "not attempted", "error"


class check:  # noqa: N801 - used as ``with check(...)``, reads like a statement
    """Run an exercise's checks and print one result line.

    An ``AssertionError`` is a fail (printed with its message, not raised, so the notebook goes on); a
    ``NotImplementedError`` (the student copy's stub) is *not attempted* and propagates, so an untouched
    student notebook stops at its first exercise as course notebooks do; so does a ``NameError`` raised
    in the check cell itself (the solution cell that defines the name raised or was not run), turned
    into a ``NotImplementedError``. Any other error is a fail and propagates with its traceback.

    ``check.outcomes``, when the grader sets it to a list, receives ``(exercise, status, detail)`` of
    every block; ``check.grading`` (set by the grader, whose answer names are always bound) makes a
    ``NameError`` an *error* of the check itself rather than a missing answer.
    """

    outcomes: list[tuple[str, str, str]] | None = None
    grading = False

    def __init__(self, exercise: str, title: str) -> None:
        self.exercise, self.title = exercise, title
        self._caller: CodeType | None = None

    def __enter__(self) -> check:
        self._caller = sys._getframe(1).f_code
        return self

    def _report(self, status: str, detail: str = "") -> None:
        print(f"exercise {self.exercise} ({self.title}): {status}" + (f": {detail}" if detail else ""), flush=True)
        if check.outcomes is not None:
            check.outcomes.append((self.exercise, status, detail))

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is None:
            self._report(PASS)
            return False
        if isinstance(exc, NotImplementedError):
            self._report(NOT_ATTEMPTED, str(exc) if check.grading else "")
            return False
        if isinstance(exc, NameError) and _innermost_code(tb) is self._caller:
            if check.grading:
                self._report(ERROR, f"the check itself is broken: {exc}")
                return False
            self._report(NOT_ATTEMPTED, f"{exc} (run the solution cell above first)")
            raise NotImplementedError(f"exercise {self.exercise}: {exc}") from exc
        if isinstance(exc, AssertionError):
            self._report(FAIL, str(exc) or "a check did not hold")
            return True
        self._report(FAIL, str(exc) if getattr(exc, "about_the_answer", False) else f"{type(exc).__name__}: {exc}")
        return False


def _innermost_code(tb: TracebackType | None) -> CodeType | None:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code if tb is not None else None


# ------------------------------------------------------------------------------------- grader's calls
def _user_namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def _code_objects(references: Sequence[str]) -> set[CodeType]:
    """The code of each ``module.function`` (or ``module:Class.method``) in ``references``, unwrapped,
    for spotting calls to it."""
    import importlib
    import inspect

    codes = set()
    for reference in references:
        module, _, qualname = reference.partition(":") if ":" in reference else reference.rpartition(".")
        try:
            function: Any = importlib.import_module(module)
            for part in qualname.split("."):
                function = getattr(function, part)
            function = inspect.unwrap(function)
        except (ImportError, AttributeError, ValueError):
            continue
        if hasattr(function, "__code__"):
            codes.add(function.__code__)
    return codes


def answer(name: str, request: str, reply: str, references: Sequence[str] = ()) -> None:
    """Call the notebook's ``name`` on the pickled ``(args, kwargs)`` in ``request`` and store the result
    (or why there is none) in folder ``reply``. A call that runs one of ``references`` (the package's own
    implementation of the exercise) is reported instead of its result."""
    import pickle

    from g2p import answer_codec

    function = _user_namespace().get(name)
    if function is None:
        answer_codec.write_error(reply, kind="undefined", message=f"{name} is not defined")
        return
    if not callable(function):
        answer_codec.write_error(reply, kind="invalid", message=f"{name} is a {type(function).__name__}, not a function")
        return
    module = getattr(function, "__module__", None)
    if module != "__main__":
        answer_codec.write_error(reply, kind="reference",
                                 message=f"{name} is {module}.{getattr(function, '__qualname__', name)}, "
                                         "not a function written in the notebook")
        return
    args, kwargs = pickle.loads(Path(request).read_bytes())
    forbidden, used = _code_objects(references), []

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in forbidden:
            used.append(frame.f_code.co_name)

    previous = sys.getprofile()
    sys.setprofile(watch if forbidden else previous)
    try:
        value = function(*args, **kwargs)
    except NotImplementedError:
        answer_codec.write_error(reply, kind="not attempted", message=f"{name} raises NotImplementedError")
        return
    except Exception as exc:  # noqa: BLE001 - the student's error is the answer
        answer_codec.write_error(reply, kind="raised", message=f"{name} raised {type(exc).__name__}: {exc}"[:500])
        return
    finally:
        sys.setprofile(previous)
    if used:
        answer_codec.write_error(reply, kind="reference",
                                 message=f"{name} calls the package's {used[0]} (write it yourself)")
        return
    try:
        answer_codec.write(value, reply)
    except answer_codec.AnswerError as exc:
        answer_codec.write_error(reply, kind="invalid", message=f"{name} returned {exc}, which cannot be graded")
