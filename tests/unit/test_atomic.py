"""Atomic writes leave either the old content or the new one, never a half-written file."""

from pathlib import Path

import pytest

from g2p import atomic


def test_write_text_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    atomic.write_text(target, "first")
    atomic.write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failed_write_keeps_old_content_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.open_for_write(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_directory_is_replaced_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    with atomic.directory(target) as tmp:
        (tmp / "a.tsv").write_text("1")
    assert (target / "a.tsv").read_text() == "1"
    with pytest.raises(KeyError):
        with atomic.directory(target) as tmp:
            (tmp / "b.tsv").write_text("2")
            raise KeyError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["SHA256SUMS", "a.tsv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]
    with atomic.directory(target) as tmp:
        (tmp / "c.tsv").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["SHA256SUMS", "c.tsv"]


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    try:
        target = atomic.write_text(tmp_path / "fig.png", "x")
        with atomic.directory(tmp_path / "d") as tmp:
            (tmp / "a").write_text("1")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_stale_temporaries_of_dead_processes_are_swept(tmp_path: Path) -> None:
    import os

    target = tmp_path / "dataset"
    dead = _dead_pid()
    (tmp_path / f".dataset.tmp-{dead}-abc123").mkdir()  # a folder write killed with SIGKILL
    (tmp_path / f".dataset.tmp-{dead}-abc123" / "labels.npz").write_bytes(b"half")
    (tmp_path / f".dataset.old-{dead}").mkdir()
    live = tmp_path / f".dataset.tmp-{os.getppid()}-xyz"  # a live process's temporary stays
    live.mkdir()
    other = tmp_path / f".other.tsv.tmp-{dead}-abc"  # another target's, but its writer is dead too: swept
    other.write_text("x")
    hidden = tmp_path / ".dataset.tmp-notapid-x"  # not one of ours: left alone
    hidden.write_text("x")
    with atomic.directory(target) as tmp:
        (tmp / "a.tsv").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, hidden.name, "dataset"])


def test_file_write_sweeps_its_own_stale_temporaries(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / f".out.txt.tmp-{dead}-q1w2e3").write_text("partial")
    atomic.write_text(tmp_path / "out.txt", "whole")
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
