"""Atomic writes: a temp file in the target's folder, then ``os.replace``.

Every output of the project goes through these helpers so that an interrupted run never leaves a
half-written file where a later stage would read it.

Temporary names are ``.<target name>.tmp-<pid>-<random>``. A process killed outright (SIGKILL,
power loss) cannot remove its temporaries, so each write first sweeps the temporaries in its target's
folder whose process no longer exists (:func:`sweep_stale`): a rerun leaves no stray files behind.

Folders written with :func:`directory` get a ``SHA256SUMS`` of their files before they are put in
place (:mod:`g2p.checksums`), so a reader can check a folder before trusting it, and are swapped in
under the folder's lock (:mod:`g2p.locks`): two writers of one folder take turns instead of renaming
each other's folder away.

An ``OSError`` raised while a temporary is written (disk full, a file-size limit, no permission)
names no file when it comes from ``write()``; :func:`open_for_write` and :func:`directory` re-raise it
naming the target, so the command line can say which output could not be written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from g2p import locks

_TEMP = re.compile(r"^\..+\.(?:tmp-(\d+)-[A-Za-z0-9_]+|old-(\d+))$")


def write_bytes(target: Path, data: bytes) -> Path:
    target = Path(target)
    with open_for_write(target) as tmp:
        tmp.write_bytes(data)
    return target


def write_text(target: Path, text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def temp_prefix(target: Path) -> str:
    """The prefix of this process's temporaries for ``target`` (``mkstemp``/``mkdtemp`` add the rest)."""
    return f".{Path(target).name}.tmp-{os.getpid()}-"


def sweep_stale(target: Path) -> list[Path]:
    """Remove the temporaries in ``target``'s folder left by processes that no longer exist (any
    target's: a dead process finishes nothing); returns what went."""
    target = Path(target)
    removed = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or _alive(int(match.group(1) or match.group(2))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


@contextlib.contextmanager
def naming(target: Path) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file (``write()`` on a full disk …) or only one of
    ``target``'s temporaries as one naming ``target``: the file the user asked for."""
    try:
        yield
    except OSError as exc:
        ours = exc.filename is None or Path(str(exc.filename)).name.startswith(f".{Path(target).name}.")
        if not ours or exc.errno is None:
            raise
        raise type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(target)) from exc


@contextlib.contextmanager
def open_for_write(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it replaces ``target`` only if the block succeeds."""
    target = Path(target)
    with naming(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(target)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=temp_prefix(target), suffix="")
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            # mkstemp creates 0600 files; give the result the permissions a plain open() would.
            if tmp.exists():
                os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def temporary_directory(target: Path) -> Iterator[Path]:
    """A scratch folder beside ``target`` (same file system), removed afterwards; swept if orphaned."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(target)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=temp_prefix(target), suffix=""))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def directory(target: Path, *, checksums: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` whole.

    With ``checksums`` (the default) a ``SHA256SUMS`` of every file is written into the folder first.
    """
    from g2p import checksums as checksums_mod

    target = Path(target)
    with naming(target), temporary_directory(target) as tmp:
        yield tmp
        if checksums:
            checksums_mod.write_manifest(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        with locks.hold(target, what="folder being replaced"):
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
