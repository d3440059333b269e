"""The errors a user can cause, each printed by the CLI as one line.

``error: <file>[, line N][, field 'F']: <what> (<what to do>)`` — :class:`G2PError` formats exactly
that from its parts, and :func:`g2p.cli.main` prints it (exit 1, or 2 for a :class:`UsageError`)
without a traceback unless ``--debug`` or ``G2P_DEBUG=1`` asks for one.

* :class:`UsageError` — a bad command line (unknown option, value out of range);
* :class:`InputError` — a bad input file or value (also a ``ValueError``, so library callers that
  catch ``ValueError`` keep working); :class:`g2p.data.errors.DataFormatError` is one;
* :class:`ConfigError` — a bad ``params/<preset>.yaml`` (names the file, block and key).
"""

from __future__ import annotations

import errno
from pathlib import Path


class G2PError(Exception):
    """An expected failure: names the file (and line / field) at fault and says what to do."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.field = field
        self.message = message
        self.hint = hint
        super().__init__(self.format())

    def where(self) -> str:
        parts = [str(self.path)] if self.path is not None else []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def format(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text

    def __reduce__(self):  # picklable across processes despite keyword-only arguments
        return (_rebuild, (type(self), self.message, self.path, self.line, self.field, self.hint))


def _rebuild(cls, message, path, line, field, hint):  # noqa: ANN001, ANN202 - pickle helper
    return cls(message, path=path, line=line, field=field, hint=hint)


class UsageError(G2PError):
    """A bad command line: exit status 2, like argparse."""

    exit_code = 2


class InputError(G2PError, ValueError):
    """A bad input file or value."""


class ConfigError(InputError):
    """A bad parameter file: ``path`` is the YAML file, ``field`` is ``block.key``."""


class ChecksumError(InputError):
    """A file's sha256 differs from the one recorded for it."""


#: What to do about the operating system's refusals a user can cause (or fix): one hint per errno.
OS_ERROR_HINTS: dict[int, str] = {
    errno.ENOSPC: "free space on that disk, or point G2P_OUTPUT_ROOT (or the option) at another disk",
    errno.EDQUOT: "your disk quota is used up: free space, or write to another disk",
    errno.EFBIG: "the file is larger than the file system or a limit (ulimit -f) allows: "
                 "write to another disk or raise the limit",
    errno.EACCES: "check the permissions of that path (or choose another one)",
    errno.EPERM: "check the permissions of that path (or choose another one)",
    errno.EROFS: "that file system is read-only: choose a writable folder",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n) or run fewer jobs at once",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "that path is a folder: give a file name",
    errno.ENOTEMPTY: "the folder is not empty",
    errno.EEXIST: "something already exists at that path",
    errno.ELOOP: "the path has a symbolic link loop",
    errno.EIO: "the disk reported an input/output error: check the device",
}


def describe_os_error(exc: OSError) -> str | None:
    """One line for an ``OSError`` a user can act on (``<file>: <reason> (<what to do>)``), or None
    when it names no file and is not one of :data:`OS_ERROR_HINTS`' kinds (then it is a bug)."""
    hint = OS_ERROR_HINTS.get(exc.errno) if exc.errno is not None else None
    filename = getattr(exc, "filename", None)
    if filename is None and hint is None:
        return None
    reason = exc.strerror or type(exc).__name__
    if reason[:1].isupper() and reason[1:2].islower():
        reason = reason[0].lower() + reason[1:]
    where = f"{filename}: " if filename is not None else ""
    if getattr(exc, "filename2", None):
        where = f"{filename} → {exc.filename2}: "
    return f"{where}{reason}" + (f" ({hint})" if hint else "")
