"""Shared fixtures: one smoke run of all notebooks per test session; GPU tests skip without CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smoke_run() -> Path:
    """Run every notebook with the ``smoke`` preset (reusing unchanged ones) -> ``build/executed``.

    Notebook tests read their metrics back with ``g2p.runner.read_glued(smoke_run / "NN_name.ipynb")``.
    """
    from g2p import paths, runner

    if not runner.discover():
        pytest.fail(f"no notebooks matching {runner.NOTEBOOK_GLOB} in {paths.notebooks}", pytrace=False)
    try:
        runner.run("smoke")
    except runner.NotebookExecutionError as exc:
        pytest.fail(f"smoke run failed: {exc}", pytrace=False)
    return paths.executed


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
