"""The kernel side of an exercise: ``with check("02.1", "title"):`` runs a chapter's checks and prints
one result line (``pass``, ``fail: why`` or ``not attempted``) that :mod:`g2p.course` grades.

Kept apart from :mod:`g2p.course` (copies and grading, which drive the runner) so that a chapter
importing ``check`` depends on nothing but this module.
"""

from __future__ import annotations

import sys
from types import CodeType, TracebackType

PASS, FAIL, NOT_ATTEMPTED = "pass", "fail", "not attempted"


class check:  # noqa: N801 - used as ``with check(...)``, reads like a statement
    """Run an exercise's checks and print one result line.

    An ``AssertionError`` is a fail (printed with its message, not raised, so the notebook goes on); a
    ``NotImplementedError`` (the student copy's stub) is *not attempted* and propagates, so an untouched
    student notebook stops at its first exercise as course notebooks do; so does a ``NameError`` raised
    in the check cell itself (the solution cell that defines the name raised or was not run), turned
    into a ``NotImplementedError``. Any other error is a fail and propagates with its traceback.
    """

    def __init__(self, exercise: str, title: str) -> None:
        self.exercise, self.title = exercise, title
        self._caller: CodeType | None = None

    def __enter__(self) -> check:
        self._caller = sys._getframe(1).f_code
        return self

    def _report(self, status: str, detail: str = "") -> None:
        print(f"exercise {self.exercise} ({self.title}): {status}" + (f": {detail}" if detail else ""), flush=True)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is None:
            self._report(PASS)
            return False
        if isinstance(exc, NotImplementedError):
            self._report(NOT_ATTEMPTED)
            return False
        if isinstance(exc, NameError) and _innermost_code(tb) is self._caller:
            self._report(NOT_ATTEMPTED, f"{exc} (run the solution cell above first)")
            raise NotImplementedError(f"exercise {self.exercise}: {exc}") from exc
        if isinstance(exc, AssertionError):
            self._report(FAIL, str(exc) or "a check did not hold")
            return True
        self._report(FAIL, f"{type(exc).__name__}: {exc}")
        return False


def _innermost_code(tb: TracebackType | None) -> CodeType | None:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code if tb is not None else None
