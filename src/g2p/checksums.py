"""sha256 of files and folders: a digest cache for raw files, and ``SHA256SUMS`` for output folders.

* :class:`DigestCache` memoises a file's sha256 in ``data/cache/sha256.json``, so checking every raw
  file on every run costs a ``stat`` per file once its digest is known. The memo is keyed on what a
  user cannot set back by hand: besides path, size and mtime (which ``touch -d`` or ``cp -p`` restore),
  the inode, the device and the **ctime** (the kernel's change time, set to "now" by every write,
  ``utime`` or rename and settable by no ordinary call). A file replaced by other bytes of the same
  size with its mtime kept has a new ctime (and usually a new inode), so it is hashed again. A file
  changed within :data:`RACY_S` seconds of its hashing is not memoised at all (a change in the same
  clock tick would keep the ctime, as git's "racy clean" entries), and a copy on another machine or
  a restored backup is hashed once more, which is the price of never trusting a stale digest.
* Every folder written through :func:`g2p.atomic.directory` (curated datasets, model checkpoints,
  model and pipeline folders) carries a ``SHA256SUMS`` file in the format of ``sha256sum`` (so
  ``sha256sum -c SHA256SUMS`` checks it by hand). :func:`verify_folder` checks it before a folder is
  reused or loaded, and names the first file that is missing or differs. An empty ``SHA256SUMS``, or
  one that does not list every file in the folder (hidden dot-files aside), is a damaged folder: what
  it leaves out would be loaded unchecked.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from g2p.errors import ChecksumError, InputError

SUMS_FILE = "SHA256SUMS"
_CHUNK = 1 << 20
#: A file whose ctime is this close to the moment it was hashed is not memoised (see the docstring).
RACY_S = 2.0


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _identity(stat: os.stat_result) -> dict[str, int]:
    """What must be unchanged for a memoised digest to stand for the file (see the module docstring)."""
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
            "inode": stat.st_ino, "device": stat.st_dev}


class DigestCache:
    """sha256 memo keyed by (resolved path, size, mtime, ctime, inode, device), stored as JSON and
    written atomically."""

    def __init__(self, file: Path) -> None:
        self.file = Path(file)
        self._parsed: tuple[tuple[int, int], dict[str, dict[str, object]]] | None = None

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            stat = self.file.stat()
            if self._parsed is not None and self._parsed[0] == (stat.st_mtime_ns, stat.st_size):
                return dict(self._parsed[1])  # parsed once per version of the file, not once per lookup
            entries = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # absent or unreadable: the cache is only a shortcut, rebuilt as files are hashed
        entries = entries if isinstance(entries, dict) else {}
        self._parsed = ((stat.st_mtime_ns, stat.st_size), entries)
        return dict(entries)

    def sha256(self, path: Path) -> str:
        from g2p import atomic

        path = Path(path).resolve()
        stat = path.stat()
        identity = _identity(stat)
        entries = self._load()
        entry = entries.get(str(path))
        if (isinstance(entry, dict) and all(entry.get(k) == v for k, v in identity.items())
                and isinstance(entry.get("sha256"), str)):
            return str(entry["sha256"])
        digest = sha256_file(path)
        if time.time_ns() - max(stat.st_ctime_ns, stat.st_mtime_ns) < RACY_S * 1e9:
            return digest  # changed just now: a change within the same clock tick could keep the ctime
        entries[str(path)] = {**identity, "sha256": digest}
        entries = {name: entry for name, entry in entries.items() if os.path.exists(name)}  # forget deleted files
        try:
            atomic.write_text(self.file, json.dumps(entries, indent=1, sort_keys=True))
        except OSError:
            pass  # a read-only cache folder only costs the next run a re-hash
        return digest


def default_cache() -> DigestCache:
    from g2p import paths

    return DigestCache(paths.cache / "sha256.json")


def cached_sha256(path: Path) -> str:
    """The sha256 of ``path`` through the project's digest cache."""
    return default_cache().sha256(Path(path))


# --------------------------------------------------------------------------------------------------
# Folder manifests
# --------------------------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SUMS_FILE)


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/"))


def folder_digests(folder: Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every file under ``folder`` except ``SHA256SUMS``."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in _files(folder)}


def write_manifest(folder: Path) -> Path:
    """Write ``folder/SHA256SUMS`` (``<sha256>  <relative path>`` per file, sorted)."""
    folder = Path(folder)
    lines = [f"{digest}  {name}\n" for name, digest in folder_digests(folder).items()]
    target = folder / SUMS_FILE
    target.write_text("".join(lines), encoding="utf-8")
    return target


def read_manifest(folder: Path) -> dict[str, str]:
    folder = Path(folder)
    sums = folder / SUMS_FILE
    entries: dict[str, str] = {}
    try:
        text = sums.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ChecksumError("not a sha256sum listing (not UTF-8 text)", path=sums) from exc
    for number, line in enumerate(text.splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise ChecksumError(f"malformed line {line[:80]!r}; expected '<sha256>  <file>'", path=sums, line=number)
        entries[name] = digest
    return entries


def verify_folder(folder: Path, *, what: str = "folder", hint: str | None = None) -> None:
    """Check ``folder`` against its ``SHA256SUMS``; raise naming the first file that differs.

    ``what`` names the folder's kind in messages (``curated dataset``, ``model folder`` …) and
    ``hint`` says how to re-create it. An empty manifest, or a file in the folder that it does not list
    (other than hidden dot-files), is damage too: that file would be loaded unchecked.
    """
    folder = Path(folder)
    sums = folder / SUMS_FILE
    if not folder.is_dir():
        raise InputError(f"no {what} here (not a folder)", path=folder, hint=hint)
    if not sums.is_file():
        raise ChecksumError(
            f"{what} has no {SUMS_FILE}, so its files cannot be checked (written by hand or by an older g2p)",
            path=folder, hint=hint,
        )
    listed = read_manifest(folder)
    if not listed:
        raise ChecksumError(f"lists no file, so nothing in this {what} can be checked",
                            path=sums, hint=hint)
    unlisted = [p.relative_to(folder).as_posix() for p in _files(folder)]
    unlisted = [name for name in unlisted if name not in listed and not _hidden(name)]
    if unlisted:
        raise ChecksumError(
            f"does not list {len(unlisted)} file(s) of this {what} ({', '.join(unlisted[:3])}"
            f"{' …' if len(unlisted) > 3 else ''}): they would be loaded unchecked",
            path=sums, hint=hint)
    for name, expected in listed.items():
        file = folder / name
        if not file.is_file():
            raise ChecksumError(f"listed in {SUMS_FILE} but missing", path=file, hint=hint)
        found = sha256_file(file)
        if found != expected:
            raise ChecksumError(
                f"sha256 {found} differs from {expected} recorded in {SUMS_FILE} (the file was changed or "
                "damaged after it was written)",
                path=file, hint=hint,
            )


def folder_matches(folder: Path) -> bool:
    """Whether ``folder`` has a ``SHA256SUMS`` and every file listed matches it (no exception)."""
    try:
        verify_folder(folder)
    except (InputError, OSError):
        return False
    return True
