"""Confine a process (a graded submission's kernel) with Linux Landlock: it may write only in its scratch
folder, may not read the folders it must not see, and may not signal processes outside the sandbox.

``python -m g2p.sandbox --write DIR [--hide PATH ...] -- COMMAND ...`` applies the rules to itself and
then ``exec``s ``COMMAND``; Landlock rules are inherited by every child, so anything the submission
starts is confined as well. Unprivileged: no root, no namespaces, no setuid helper.

* **writes**: only beneath ``--write`` folders (plus ``/dev/null``-like devices); every other path is
  read-only, whatever the Unix permissions (an instructor running as root included);
* **reads**: everything except the ``--hide`` paths (the chapter sources with their solutions, the other
  submissions, the gradebook). Landlock only grants, so "all but these" is granted as the siblings of
  every folder on the way to a hidden path;
* **signals** (Landlock ABI 6, Linux 6.12+): a submission cannot kill or stop the grader.

Landlock appeared in Linux 5.13; :func:`available` says whether this kernel has it. Written against the
kernel's ABI with ``ctypes`` (about 60 lines): the PyPI ``landlock`` package (1.0.0.dev5, alpha)
covers the file-system rules only, not the signal scope.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same numbers on every architecture
_RULESET_VERSION = 1
_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# file-system access rights, by the ABI version that introduced them
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_ABI1_ALL = (1 << 13) - 1  # EXECUTE … MAKE_SYM
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a rule on a file may carry
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

#: Devices a Python process writes to as a matter of course (never files of the user's).
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is missing or disabled (or not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def available() -> bool:
    return abi_version() >= 1


def _fs_rights(abi: int) -> int:
    rights = _ABI1_ALL
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def readable_roots(hidden: Iterable[Path], start: Path = Path("/")) -> list[Path]:
    """The fewest paths whose subtrees together are everything under ``start`` except the ``hidden``
    paths: the siblings of each folder on the way from ``start`` to a hidden path."""
    hidden = [Path(os.path.realpath(h)) for h in hidden]
    if not any(_inside(h, start) for h in hidden):
        return [start]
    roots: list[Path] = []
    try:
        children = sorted(start.iterdir())
    except OSError:
        return roots
    for child in children:
        if child.is_symlink() or any(_inside(child, h) for h in hidden):
            continue  # a hidden path or inside one; a link (a rule follows it, and its target has its own)
        if any(_inside(h, child) for h in hidden) and child.is_dir():
            roots += readable_roots(hidden, child)
        else:
            roots.append(child)
    return roots


def confine(write: Sequence[Path], hide: Sequence[Path] = ()) -> int:
    """Restrict this process (and its future children) for good; returns the ABI version used.
    Raises :class:`OSError` where the kernel has no Landlock."""
    abi = abi_version()
    if abi < 1:
        raise OSError("this kernel has no Landlock (Linux 5.13 or later, enabled at boot)")
    libc = _libc()
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, 0, (SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET) if abi >= 6 else 0)
    # an older kernel accepts the longer struct as long as the fields it does not know are zero
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}")
    read = (EXECUTE | READ_FILE | READ_DIR | (IOCTL_DEV if abi >= 5 else 0)) & handled
    rules = [(p, read) for p in readable_roots([*hide])]
    rules += [(Path(d), handled) for d in DEVICES]
    rules += [(Path(folder), handled) for folder in write]
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a device this system lacks, a root that vanished: nothing to grant
            try:
                if not os.path.isdir(path):
                    rights &= FILE_RIGHTS
                rule = _PathBeneathAttr(rights, fd)
                if libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_PATH_BENEATH), ctypes.byref(rule),
                                ctypes.c_uint32(0)) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}: {os.strerror(ctypes.get_errno())}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), f"landlock_restrict_self: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)
    return abi


def command(write: Sequence[Path], hide: Sequence[Path], argv: Sequence[str]) -> list[str]:
    """The command line that runs ``argv`` confined (what a kernel manager launches)."""
    out = [sys.executable, "-m", "g2p.sandbox"]
    for folder in write:
        out += ["--write", str(folder)]
    for path in hide:
        out += ["--hide", str(path)]
    return [*out, "--", *argv]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m g2p.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, action="append", default=[], help="a folder it may write in")
    parser.add_argument("--hide", type=Path, action="append", default=[], help="a path it may not read")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    run = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not run:
        parser.error("no command to run")
    confine(args.write, args.hide)
    os.execvp(run[0], run)


if __name__ == "__main__":
    main()
