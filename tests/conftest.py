"""Shared fixtures: one smoke run of all notebooks per test session; GPU tests skip without CUDA.

The suite never writes into the reader's outputs: before anything imports ``g2p``, this file points
``$G2P_OUTPUT_ROOT`` at a temporary folder, so curated data, runs, figures, executed notebooks,
provenance and the book of the test session all land there (the notebooks' kernels inherit it).
Set ``$G2P_TEST_OUTPUT_ROOT`` to a folder of your choice to keep (and reuse) a session's outputs;
otherwise the temporary folder is removed when the session passes, and kept, with its path printed,
when something failed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_KEEP = bool(os.environ.get("G2P_TEST_OUTPUT_ROOT"))
OUTPUT_ROOT = Path(os.environ.get("G2P_TEST_OUTPUT_ROOT") or tempfile.mkdtemp(prefix="g2p-test-")).resolve()
OUTPUT_ROOT.mkdir(parents=True, exist_ok=True)
os.environ["G2P_OUTPUT_ROOT"] = str(OUTPUT_ROOT)
os.environ.pop("G2P_DEBUG", None)  # the CLI tests check what a user sees without --debug


def pytest_configure(config: pytest.Config) -> None:
    from g2p import paths

    if paths.output_root != OUTPUT_ROOT:  # g2p was imported before this file set the variable
        raise pytest.UsageError(f"g2p.paths.output_root is {paths.output_root}, not the test folder {OUTPUT_ROOT}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _KEEP:
        return
    if exitstatus == 0:
        shutil.rmtree(OUTPUT_ROOT, ignore_errors=True)
    else:
        print(f"\ntest outputs kept for inspection in {OUTPUT_ROOT}")


@pytest.fixture(scope="session")
def smoke_run() -> Path:
    """Run every notebook with the ``smoke`` preset (reusing unchanged ones) -> ``build/smoke/executed``
    under the session's output root.

    Notebook tests read their metrics back with ``g2p.runner.read_glued(smoke_run / "NN_name.ipynb")``.
    """
    from g2p import paths, runner

    if not runner.discover():
        pytest.fail(f"no notebooks matching {runner.NOTEBOOK_GLOB} in {paths.notebooks}", pytrace=False)
    try:
        runner.run("smoke")
    except runner.NotebookExecutionError as exc:
        pytest.fail(f"smoke run failed: {exc}", pytrace=False)
    return paths.executed_dir("smoke")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; no GPU present")
    for item in gpu_items:
        item.add_marker(skip)
