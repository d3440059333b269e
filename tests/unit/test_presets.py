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


#: What an overlay of the paper preset may change: how many steps, epochs, genes, species, images and
#: replicates; never what is computed (architectures, encoders, losses, the data pipeline, the variants).
SIZE_KEYS = {
    "common": {"seeds", "ablation_seeds"},
    "01_data_curation": {"max_genes"},
    "genepheno": {"epochs", "patience", "go_pretraining.steps", "go_pretraining.batch_size", "go_pretraining.max_proteins"},
    "03_evaluate": {"n_boot"},
    "04_interpretability": {"n_boot", "explorer_genes"},
    "05_train_g2pdiffusion": {"max_species", "per_species", "num_inference_steps"},
    "06_generate_phenotypes": {"max_species", "per_species", "n_eval", "num_images", "ablation_images",
                               "reference_per_species", "num_inference_steps", "evaluator_epochs", "n_boot",
                               "sweep_records", "sweep_points", "sweep_images"},
    "diffusion": {"steps", "batch_size", "warmup_steps", "checkpoint_every"},
}


#: Runtime-only settings an overlay may set too: they decide how fast, never what is computed.
RUNTIME_KEYS = {"genepheno": {"cpu_threads"}, "diffusion": {"cpu_threads"}, "05_train_g2pdiffusion": {"cpu_threads"},
                "06_generate_phenotypes": {"cpu_threads"}}


def _leaves(blocks: dict) -> dict[tuple[str, str], object]:
    out = {}
    for block, body in blocks.items():
        for key, value in (body or {}).items():
            if isinstance(value, dict):
                out.update({(block, f"{key}.{leaf}"): v for leaf, v in value.items()})
            else:
                out[(block, key)] = value
    return out


def test_paper_dry_is_the_paper_preset_with_only_sizes_cut() -> None:
    base, blocks = presets.overlay_of("paper-dry")
    assert base == "paper"
    touched = _leaves(blocks)
    assert touched, "the overlay changes nothing"
    allowed = {block: SIZE_KEYS.get(block, set()) | RUNTIME_KEYS.get(block, set()) for block in {*SIZE_KEYS, *RUNTIME_KEYS}}
    outside = sorted(f"{block}.{key}" for block, key in touched if key not in allowed.get(block, set()))
    assert not outside, f"paper-dry changes more than sizes and counts: {outside}"
    assert "cpu_threads" in TrainConfig.RUNTIME_ONLY  # not part of a run's identity
    paper, dry = config.resolve("paper"), config.resolve("paper-dry")
    for build in ("genepheno", "diffusion"):
        cut = {key.split(".")[0] for block, key in touched if block == build}
        a, b = dataclasses.asdict(getattr(paper, build)()), dataclasses.asdict(getattr(dry, build)())
        assert {k: v for k, v in a.items() if k not in cut} == {k: v for k, v in b.items() if k not in cut}, build
    assert dry.genepheno().encoder == "hf" and dry.genepheno().go_pretraining is not None
    assert dry.variants == paper.variants and dry.baselines() == paper.baselines(dry.genepheno())
    for stem in ("01_data_curation", "05_train_g2pdiffusion", "06_generate_phenotypes"):
        sized = {key for block, key in touched if block in (stem, "common")}
        same = {k: v for k, v in paper.parameters(stem).items() if k not in sized | {"preset"}}
        assert same == {k: v for k, v in dry.parameters(stem).items() if k in same}, stem
    for (block, key), value in touched.items():  # every cut is a cut: smaller than paper's (null there: all)
        was = _leaves({block: paper.blocks.get(block) or {}}).get((block, key))
        if isinstance(value, (int, float)) and not isinstance(value, bool) and was is not None:
            assert value <= was, (block, key, value, was)
        elif isinstance(value, list):
            assert set(value) <= set(was) and len(value) <= len(was), (block, key)


def test_an_overlay_merges_key_by_key_and_names_its_own_lines(tmp_path, monkeypatch) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 0\nb = [1]", metadata={"tags": ["parameters"]})]
    nbformat.write(nb, tmp_path / "01_nb.ipynb")
    (tmp_path / "smoke.yaml").write_text("common:\n  seed: 1\n  a: 1\n01_nb: {a: 2, b: [1, 2]}\n"
                                         "genepheno:\n  epochs: 5\n  go_pretraining: {steps: 10, batch_size: 8}\n")
    (tmp_path / "quick.yaml").write_text("base: smoke\n01_nb: {b: [3]}\ngenepheno:\n  go_pretraining: {steps: 2}\n")
    monkeypatch.setattr(presets.paths, "params", tmp_path)
    monkeypatch.setattr(presets.paths, "notebooks", tmp_path)
    quick = config.resolve("quick")
    assert quick.parameters("01_nb") == {"seed": 1, "a": 2, "b": [3], "preset": "quick"}
    model = quick.genepheno()
    assert model.epochs == 5 and (model.go_pretraining.steps, model.go_pretraining.batch_size) == (2, 8)
    assert config.resolve("smoke").genepheno().go_pretraining.steps == 10  # the base is untouched
    (tmp_path / "quick.yaml").write_text("base: smoke\n01_nb:\n  c: 3\n")
    with pytest.raises(ConfigError, match=r"quick.yaml, line 3, field '01_nb.c': unknown key 'c'"):
        presets.load("quick")
    (tmp_path / "quick.yaml").write_text("base: quick\n")
    with pytest.raises(ConfigError, match=r"quick.yaml, line 1, field 'base': base 'quick' is not another preset"):
        presets.load("quick")
