"""One error type for bad input, always naming the file and, where known, the line and field."""

from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """A raw or processed file is malformed, missing, truncated or fails its checksum."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.field = field
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
