"""g2p.figures.save writes the PNG and a manifest entry naming the notebook, preset and run id."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from g2p import figures  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run_env(monkeypatch):
    monkeypatch.setenv("G2P_NOTEBOOK", "01_data_curation")
    monkeypatch.setenv("G2P_PRESET", "smoke")
    monkeypatch.setenv("G2P_RUN_ID", "run-123")


def test_save_writes_png_and_manifest_entry(tmp_path, run_env) -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = figures.save(fig, "curve", folder=tmp_path)
    plt.close(fig)
    assert path == tmp_path / "curve.png"
    assert path.read_bytes().startswith(PNG_MAGIC)
    entry = figures.load_manifest(tmp_path)["curve.png"]
    assert entry["notebook"] == "01_data_curation"
    assert entry["preset"] == "smoke"
    assert entry["run_id"] == "run-123"
    assert "written" in entry
    assert not list(tmp_path.glob(".*.tmp")), "atomic write left a temp file behind"


def test_second_figure_keeps_first_entry_and_axes_are_accepted(tmp_path, run_env, monkeypatch) -> None:
    fig, ax = plt.subplots()
    figures.save(fig, "first", folder=tmp_path)
    monkeypatch.setenv("G2P_RUN_ID", "run-456")
    figures.save(ax, "second", folder=tmp_path)  # an Axes: saved through its figure
    plt.close(fig)
    manifest = figures.load_manifest(tmp_path)
    assert set(manifest) == {"first.png", "second.png"}
    assert manifest["first.png"]["run_id"] == "run-123"
    assert manifest["second.png"]["run_id"] == "run-456"


def test_interactive_use_is_recorded_as_such(tmp_path, monkeypatch) -> None:
    for var in ("G2P_NOTEBOOK", "G2P_PRESET", "G2P_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    fig, _ = plt.subplots()
    figures.save(fig, "scratch", folder=tmp_path)
    plt.close(fig)
    assert figures.load_manifest(tmp_path)["scratch.png"]["run_id"] == "interactive"
