"""Presets resolve to per-notebook parameters; unknown presets fail clearly."""

import pytest

from g2p import presets


@pytest.mark.parametrize("preset", presets.PRESETS)
def test_every_preset_loads_with_common_block(preset: str) -> None:
    data = presets.load(preset)
    assert "seed" in data["common"]
    params = presets.notebook_parameters(preset, "01_data_curation")
    assert params["preset"] == preset


def test_notebook_block_overrides_common(tmp_path, monkeypatch) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 0", metadata={"tags": ["parameters"]})]
    nbformat.write(nb, tmp_path / "01_nb.ipynb")
    (tmp_path / "quick.yaml").write_text("common:\n  seed: 1\n  a: 1\n01_nb: {a: 2}\n")
    monkeypatch.setattr(presets.paths, "params", tmp_path)
    monkeypatch.setattr(presets.paths, "notebooks", tmp_path)
    assert presets.notebook_parameters("quick", "01_nb.ipynb") == {"seed": 1, "a": 2, "preset": "quick"}


def test_unknown_preset_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown preset 'fast'"):
        presets.load("fast")
