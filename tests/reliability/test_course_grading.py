"""Grading stopped by its time limit or by Ctrl-C: one line, no kernel or zmq traceback, no partial output,
no kernel or scratch folder left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from g2p import course, paths

pytestmark = pytest.mark.slow
CH02 = "02_train_genepheno"
NOISE = ("Traceback", "zmq", "DeadKernelError", "Socket operation", "Kernel died", "RuntimeWarning")


@pytest.fixture(scope="module")
def looping(smoke_run, tmp_path_factory) -> Path:
    """A chapter 02 submission whose first answer is right and whose next cell never ends."""
    folder = tmp_path_factory.mktemp("looping")
    course.build([paths.notebooks / f"{CH02}.ipynb"], folder, values_from=None)
    nb = nbformat.read(folder / "student" / f"{CH02}.ipynb", as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if course.SOLUTION_TAG in c.metadata.get("tags", []))
    nb.cells[first].source = ("import torch\n\ndef my_exclusive_loss(logits, pairs):\n    s = logits.float()\n"
                              "    return torch.nn.functional.softplus(s[:, pairs[:, 0]] + s[:, pairs[:, 1]]).sum(-1).mean()\n\n"
                              "while True:\n    pass\n")
    submission = folder / "sub" / f"{CH02}.ipynb"
    submission.parent.mkdir()
    nbformat.write(nb, submission)
    return submission


def _g2p(args: list[str], tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-m", "g2p", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _left_behind(tmp: Path) -> list[str]:
    """Scratch folders under ``tmp`` and processes whose command line names ``tmp`` (a kernel)."""
    leftovers = [str(p) for p in tmp.iterdir() if p.name.startswith(("g2p-grade-", "g2p-class-"))]
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(tmp) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                leftovers.append(f"process {proc.name}")
        except OSError:
            continue
    return leftovers


def test_a_time_limit_grades_what_ran_quietly(looping, tmp_path):
    keep = tmp_path / "executed.ipynb"
    process = _g2p(["course", "check", str(looping), "--timeout", "15", "--keep", str(keep)], tmp_path)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    assert not any(word in out + err for word in NOISE), err[-2000:]
    lines = out.strip().splitlines()
    assert lines[0].startswith("warning: the time limit (15 s) stopped the notebook"), lines
    assert any(line.startswith("2.1 ") and "  pass  " in line for line in lines), lines
    assert lines[-1].startswith("score: 2/3") and "time limit reached" in lines[-1], lines
    assert keep.is_file()  # what ran, as asked for
    time.sleep(1)
    assert _left_behind(tmp_path) == []


@pytest.mark.parametrize("command", ["check", "grade"])
def test_ctrl_c_shuts_the_kernels_down_in_one_line(looping, tmp_path, command):
    out_dir = tmp_path / "grades"
    args = ["course", "check", str(looping), "--keep", str(tmp_path / "executed.ipynb")] if command == "check" else \
        ["course", "grade", str(looping.parent), "--out", str(out_dir), "--jobs", "1"]
    process = _g2p(args, tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any((p / "work").is_dir() for p in _scratch(tmp_path)):
        time.sleep(0.5)  # wait until a submission's kernel runs
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert not any(word in out + err for word in NOISE), err[-2000:]
    assert err.strip().splitlines()[-1].startswith("error: interrupted while grading"), err
    assert not (tmp_path / "executed.ipynb").exists() and not out_dir.exists()
    time.sleep(1)
    assert _left_behind(tmp_path) == []


def _scratch(tmp: Path) -> list[Path]:
    return [*tmp.glob("g2p-grade-*"), *tmp.glob("g2p-class-*/g2p-grade-*")]
