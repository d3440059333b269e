"""One error type for bad data files, always naming the file and, where known, the line and field."""

from __future__ import annotations

from pathlib import Path

from g2p.errors import ChecksumError, InputError

__all__ = ["DataFormatError", "MissingFileError", "ChecksumError"]


class DataFormatError(InputError):
    """A raw or processed file is malformed, missing, truncated or fails its checksum.

    ``str(error)`` is ``<path>[, line N][, field 'F']: <message>[ (<hint>)]``; it is a ``ValueError``.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path=path, line=line, field=field, hint=hint)

    def __reduce__(self):
        return (_rebuild, (type(self), self.path, self.message, self.line, self.field, self.hint))


class MissingFileError(DataFormatError, FileNotFoundError):
    """An input file does not exist (catchable as either ``DataFormatError`` or ``FileNotFoundError``)."""


def _rebuild(cls, path, message, line, field, hint):  # noqa: ANN001, ANN202 - pickle helper
    return cls(path, message, line=line, field=field, hint=hint)
