"""Opening the raw input files as text: gzip detected from the magic bytes (not the name), UTF-8
with a byte-order mark dropped, and truncation or a bad encoding reported naming the file.

Shared by the readers (:mod:`g2p.data.readers`, :mod:`g2p.data.fasta`).
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from g2p.data.errors import DataFormatError, MissingFileError

_GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


@contextlib.contextmanager
def open_text(path: str | Path) -> Iterator[TextIO]:
    """Open ``path`` as UTF-8 text, decompressing gzip transparently.

    Errors raised while the caller reads inside the ``with`` block (a truncated or corrupt gzip
    stream, invalid UTF-8) are re-raised as ``DataFormatError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "file not found" if not path.exists() else "not a regular file")
    raw: TextIO
    # utf-8-sig: a byte-order mark is not part of the text (it would hide a FASTA file's first '>')
    if _is_gzip(path):
        raw = gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    else:
        raw = open(path, encoding="utf-8-sig", newline="")
    try:
        with raw:
            yield raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(path, f"truncated or corrupt gzip stream ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_text(path: str | Path) -> str:
    """The whole (decompressed) text of ``path``; raw inputs here are at most tens of MB."""
    with open_text(path) as fh:
        return fh.read()


def lines(text: str) -> list[str]:
    """Lines without their terminators (LF or CRLF); a final newline adds no empty line."""
    return text.splitlines()
