"""Presets load and validate; g2p.config resolves them once into per-notebook parameters and typed blocks."""

import dataclasses

import pytest

from g2p import config, presets
from g2p.errors import ConfigError
from g2p.g2pdiff.config import DiffusionTrainConfig
from g2p.genepheno.config import BaselineConfig, TrainConfig


@pytest.mark.parametrize("preset", presets.PRESETS)
def test_every_preset_resolves_into_typed_blocks(preset: str) -> None:
    resolved = config.resolve(preset)
    assert "seed" in resolved.common
    assert resolved.parameters("01_data_curation")["preset"] == preset
    model = resolved.genepheno()
    assert isinstance(model, TrainConfig) and model.seed == resolved.common["seed"]
    assert isinstance(resolved.diffusion(), DiffusionTrainConfig)
    baselines = resolved.baselines(model)
    # equal budgets: the trained baselines get GenePheno's epochs and patience
    assert isinstance(baselines, BaselineConfig) and (baselines.epochs, baselines.patience) == (model.epochs, model.patience)


def test_notebook_block_overrides_common(tmp_path, monkeypatch) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 0", metadata={"tags": ["parameters"]})]
    nbformat.write(nb, tmp_path / "01_nb.ipynb")
    (tmp_path / "quick.yaml").write_text("common:\n  seed: 1\n  a: 1\n01_nb: {a: 2}\n")
    monkeypatch.setattr(presets.paths, "params", tmp_path)
    monkeypatch.setattr(presets.paths, "notebooks", tmp_path)
    assert config.resolve("quick").parameters("01_nb.ipynb") == {"seed": 1, "a": 2, "preset": "quick"}


def test_overrides_use_the_field_names_and_none_keeps_the_preset() -> None:
    smoke = config.resolve("smoke")
    base = smoke.genepheno()
    tuned = smoke.genepheno(lambda_ex=0.0, lambda_go=None, tau=0.5)
    assert (tuned.lambda_ex, tuned.lambda_go, tuned.tau) == (0.0, base.lambda_go, 0.5)
    assert dataclasses.replace(tuned, lambda_ex=base.lambda_ex, tau=base.tau) == base
    with pytest.raises(ConfigError, match="lambda1"):
        smoke.genepheno(lambda1=0.0)  # the old notebook name is not a knob any more
    with pytest.raises(ConfigError, match="epochs"):
        smoke.genepheno(epochs=0)


def test_curated_names_are_derived_from_the_curation_block() -> None:
    assert config.resolve("smoke").curated_names(["mpo", "hpo"]) == ["mpo-max400", "hpo-max400"]
    assert config.resolve("quick").curated_names(["mpo", "hpo"]) == ["mpo", "hpo"]
    assert config.resolve("smoke").curated_names(["mpo-max400"]) == ["mpo-max400"]  # already a folder name


def test_unknown_preset_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown preset 'fast'"):
        presets.load("fast")


@pytest.mark.parametrize("preset", ["smoke", "quick", "paper"])
def test_alignment_guidance_is_on_in_every_preset(preset):
    """The model the book calls G2PDiffusion has its alignment guidance: a strength above 0 in notebooks
    05 and 06 (the same one), and an alignment model to guide with."""
    from g2p import config as g2p_config

    resolved = g2p_config.resolve(preset)
    strengths = {nb: resolved.parameters(nb)["alignment_scale"] for nb in ("05_train_g2pdiffusion", "06_generate_phenotypes")}
    assert all(w is not None and w > 0 for w in strengths.values()), strengths
    assert len(set(strengths.values())) == 1, strengths
    assert resolved.diffusion().alignment
