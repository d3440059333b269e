"""Ctrl-C and a time limit (SIGTERM) while ``g2p run`` executes a notebook: one line, exit 130 / 143,
no library traceback (the kernel's ``ZMQError``, nbclient's ``DeadKernelError``), nothing kept.

The run uses a source tree of its own (``$G2P_ROOT``: one notebook that sleeps, a one-block preset),
so the test costs one kernel start per signal, not a real chapter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow


def _tree(root: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A long cell"),
        nbformat.v4.new_code_cell("preset = 'smoke'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os, pathlib, time\n"
                                  "pathlib.Path(os.environ['G2P_OUTPUT_ROOT'], 'started').write_text('yes')\n"
                                  "time.sleep(120)"),
    ]
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nb, root / "notebooks" / "01_long.ipynb")
    (root / "params").mkdir()
    (root / "params" / "smoke.yaml").write_text("common:\n  seed: 0\n")


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                   (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_stopped_run_says_one_line_and_keeps_nothing(tmp_path: Path, sig: int, code: int, word: str) -> None:
    root, out = tmp_path / "tree", tmp_path / "out"
    _tree(root)
    env = {**{k: v for k, v in os.environ.items() if k != "G2P_DEBUG"}, "G2P_ROOT": str(root),
           "G2P_OUTPUT_ROOT": str(out)}
    proc = subprocess.Popen([sys.executable, "-m", "g2p", "run", "--preset", "smoke"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not (out / "started").exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the notebook's cell never started"
            time.sleep(0.1)
        time.sleep(0.5)  # inside time.sleep of the cell
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, stderr[-3000:]
    assert "Traceback" not in stderr + stdout and "ZMQError" not in stderr and "DeadKernelError" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [stderr.strip().splitlines()[-1]], stderr
    assert errors[0].startswith(f"error: {word}: notebook 01_long.ipynb stopped after"), errors
    assert "nothing of this execution was kept" in errors[0]
    executed = out / "build" / "smoke" / "executed"
    assert sorted(p.name for p in executed.iterdir()) == [], "an interrupted run keeps no executed copy or temporary"
