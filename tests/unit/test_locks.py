"""One run per output folder (:mod:`g2p.locks`), with real processes: a second run refuses naming the
holder or waits for it, a lock is released on exit, a killed holder's lock is taken over, and folders
written whole by parallel processes take turns instead of renaming each other's folder away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from g2p import atomic, checksums, locks

HOLDER = """
import sys, time
from pathlib import Path
from g2p import locks
with locks.hold(Path(sys.argv[1]), what="test run", wait=False):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""

WRITER = """
import sys
from pathlib import Path
from g2p import atomic
for i in range(int(sys.argv[2])):
    with atomic.directory(Path(sys.argv[1])) as tmp:
        (tmp / "part.txt").write_text(f"{sys.argv[3]} {i}\\n" * 1000)
"""


def _holder(folder: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_second_run_refuses_naming_the_holder(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    proc = _holder(folder, 60)
    try:
        with pytest.raises(locks.FolderBusy, match=rf"test run in use by pid {proc.pid} on .*since") as info:
            with locks.hold(folder, what="test run", wait=False):
                pass
        assert info.value.path == folder and "one run per output folder" in str(info.value)
    finally:
        _stop(proc)


def test_a_waiting_run_goes_on_when_the_holder_ends(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    proc = _holder(folder, 1.5)
    said: list[str] = []
    try:
        start = time.monotonic()
        with locks.hold(folder, what="test run", say=said.append):
            assert proc.poll() is not None, "the lock was taken while its holder still ran"
        assert time.monotonic() - start > 0.5
        assert len(said) == 1 and said[0].startswith(f"waiting: {folder} (test run) is in use by pid {proc.pid}")
    finally:
        _stop(proc)


def test_a_limited_wait_refuses_when_it_runs_out(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    proc = _holder(folder, 60)
    try:
        start = time.monotonic()
        with pytest.raises(locks.FolderBusy), locks.hold(folder, wait=0.5, say=lambda message: None):
            pass
        assert 0.4 < time.monotonic() - start < 10
    finally:
        _stop(proc)


def test_a_killed_holders_lock_is_taken_over_and_removed(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    proc = _holder(folder, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lock = locks.lock_file(folder)
    assert f"pid {proc.pid}" in lock.read_text(), "a holder killed outright cannot remove its lock file"
    said: list[str] = []
    with locks.hold(folder, wait=False, say=said.append):
        assert f"pid {os.getpid()}" in lock.read_text()
    assert len(said) == 1 and "took over a stale lock" in said[0] and f"pid {proc.pid}" in said[0]
    assert not lock.exists()


def test_a_lock_is_released_on_exit_and_reentrant(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    lock = locks.lock_file(folder)
    with locks.hold(folder, wait=False):
        with locks.hold(folder, wait=False):  # a command, then the library function it calls
            assert lock.exists()
        assert lock.exists(), "the inner release must not drop the outer hold"
    assert not lock.exists()
    proc = subprocess.run([sys.executable, "-c", HOLDER, str(folder), "0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not lock.exists()


def test_a_distributed_runs_other_ranks_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "run"
    proc = _holder(folder, 60)  # rank 0
    try:
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", "1")
        with locks.hold(folder, wait=False):
            pass
    finally:
        _stop(proc)


def test_folders_written_by_parallel_processes_take_turns(tmp_path: Path) -> None:
    """Four processes replacing one folder 15 times each (what two trainings of one experiment did to
    ``checkpoint/``): without the swap lock one of them fails now and then with "no such file"."""
    target = tmp_path / "checkpoint"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(target), "15", str(i)], stderr=subprocess.PIPE,
                              text=True) for i in range(4)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert checksums.folder_matches(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"], "temporaries or a lock left behind"
    assert atomic.sweep_stale(target) == []
