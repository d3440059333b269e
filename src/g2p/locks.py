"""One writer per output folder: an advisory lock beside the folder that names its holder.

``with hold(folder, what="training run"):`` takes ``.<folder name>.lock`` in the folder's parent
(beside it, not inside: folders are replaced whole by :func:`g2p.atomic.directory`). The lock is a
``flock`` on that file, so

* it is released when its holder exits, however it exits (the kernel drops it, even after SIGKILL);
* the file records the holder (pid, host, command, start time) for the one line a second run prints;
* a lock file whose ``flock`` nobody holds is stale (its holder died before removing it): the next
  run takes it over, saying so, and removes it when done.

A second run of the same folder either waits (``wait=True``, the default for library calls: a
notebook's training waits for a command line run of the same experiment, then reuses its result) or
refuses at once with :class:`FolderBusy` (``wait=False``, what the commands use). Holding is
re-entrant within a process, so a command can take the lock before it calls a library function that
takes it again. The processes of one distributed run (``torchrun``, ``accelerate launch``: ``RANK`` and
``WORLD_SIZE`` set) are one run: rank 0 takes the lock for all of them (only it writes), the others
pass, as waiting for rank 0 would deadlock its collectives.

Why not ``filelock``: its ``FileLock`` truncates the lock file on every attempt, so the file cannot
say who holds it; the holder's name is the point here, and ``fcntl.flock`` is all the rest needs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from g2p.errors import InputError

_POLL_S = 0.2
_registry_guard = threading.Lock()
_held: dict[str, list[int]] = {}  # lock file → [fd, depth] of the locks this process holds


class FolderBusy(InputError):
    """Another run is writing the same output folder."""


def lock_file(folder: Path) -> Path:
    """``<parent>/.<name>.lock`` for ``folder`` (symlinks resolved: one lock per real folder)."""
    folder = Path(folder).expanduser()
    real = folder.parent.resolve() / folder.name
    return real.parent / f".{real.name}.lock"


def _holder_text() -> str:
    notebook = os.environ.get("G2P_NOTEBOOK")
    command = f"notebook {notebook}" if notebook else " ".join(
        [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
    started = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"pid {os.getpid()} on {socket.gethostname()} ({command[:160]}), since {started}"


def _secondary_rank() -> bool:
    """A process of a distributed run other than rank 0."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0
    except ValueError:
        return False


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace").strip()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` locked (its previous holder may have removed it
    between our open and our lock: then the lock is on a file nobody else will ever look at)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _acquire(path: Path, folder: Path, what: str, wait: bool | float, say: Callable[[str], None]) -> int:
    deadline = None if wait is True or wait is False else time.monotonic() + float(wait)
    announced = False
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if _try_lock(fd):
                if _same_file(fd, path):
                    stale = _read(fd)
                    if stale:
                        say(f"note: {folder}: took over a stale lock ({stale}; that process is gone)")
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    os.write(fd, (_holder_text() + "\n").encode())
                    return fd
                os.close(fd)
                continue  # the file we locked was removed meanwhile: lock the new one
            holder = _read(fd) or "another process"
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if wait is False or (deadline is not None and time.monotonic() >= deadline):
            raise FolderBusy(f"{what} in use by {holder}", path=folder,
                             hint="one run per output folder at a time: wait for it to finish, or stop it")
        if not announced:
            say(f"waiting: {folder} ({what}) is in use by {holder}")
            announced = True
        time.sleep(_POLL_S)


@contextlib.contextmanager
def hold(folder: Path, *, what: str = "output folder", wait: bool | float = True,
         say: Callable[[str], None] = _stderr) -> Iterator[Path]:
    """Hold ``folder``'s lock for the block (see the module docstring); yields the lock file.

    ``wait``: True waits as long as it takes, False refuses at once, a number waits that many seconds.
    """
    folder = Path(folder)
    path = lock_file(folder)
    if _secondary_rank():
        yield path
        return
    key = str(path)
    with _registry_guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is None:
        fd = _acquire(path, folder, what, wait, say)
        with _registry_guard:
            _held[key] = [fd, 1]
    try:
        yield path
    finally:
        with _registry_guard:
            entry = _held[key]
            entry[1] -= 1
            last = entry[1] == 0
            if last:
                del _held[key]
        if last:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # while still locked: a waiter that opened it sees it gone and retries
            os.close(entry[0])

