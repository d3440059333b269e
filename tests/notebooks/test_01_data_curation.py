"""Notebook 01 through the smoke preset: the glued dataset numbers are real and consistent."""

from __future__ import annotations

import pytest

from g2p import config as g2p_config
from g2p import figures, paths
from g2p.data import curated, specs
from g2p.runner import read_glued

SMOKE = g2p_config.resolve("smoke")  # the preset the smoke run used, read once

pytestmark = pytest.mark.slow

NOTEBOOK = "01_data_curation"
QUANTITIES = ("n_genes", "n_terms", "label_density", "n_exclusive_pairs", "n_train", "n_val", "n_test", "n_concepts")


@pytest.fixture(scope="module")
def glued(smoke_run):
    return read_glued(smoke_run / f"{NOTEBOOK}.ipynb")


@pytest.fixture(scope="module")
def params():
    return SMOKE.parameters(NOTEBOOK)


def test_every_dataset_glues_its_numbers(glued, params) -> None:
    for dataset in params["datasets"]:
        for quantity in QUANTITIES:
            assert f"{dataset}_{quantity}" in glued, f"{dataset}_{quantity} not glued"


def test_numbers_are_consistent(glued, params) -> None:
    for d in params["datasets"]:
        n_genes = glued[f"{d}_n_genes"]
        assert 0 < n_genes <= (params.get("max_genes") or 10**6)
        assert glued[f"{d}_n_train"] + glued[f"{d}_n_val"] + glued[f"{d}_n_test"] == n_genes
        assert glued[f"{d}_n_train"] > glued[f"{d}_n_test"] > 0 and glued[f"{d}_n_val"] > 0
        bins = sum(glued[f"{d}_terms_bin_{slug}"] for slug in ("11_30", "31_100", "101_300", "ge301"))
        assert bins == glued[f"{d}_n_terms"] > 0
        assert 0.0 < glued[f"{d}_label_density"] < 1.0
        assert glued[f"{d}_n_concepts"] > 0
        assert 0 <= glued[f"{d}_exclusive_pairs_cooccurring"] <= glued[f"{d}_n_exclusive_pairs"]


def test_glued_numbers_match_the_curated_folder(glued, params) -> None:
    for d in params["datasets"]:
        name = specs.curated_name(d, min_genes=params["min_genes"], seed=params["seed"], max_genes=params["max_genes"])
        summary = curated.load(name).datasheet["summary"]
        assert glued[f"{d}_n_genes"] == summary["n_genes"]
        assert glued[f"{d}_n_terms"] == summary["n_terms"]
        assert glued[f"{d}_n_exclusive_pairs"] == summary["n_exclusive_pairs"]
        assert abs(glued[f"{d}_label_density"] - summary["label_density"]) < 1e-9


def test_figures_were_saved_by_this_notebook(smoke_run, params) -> None:
    manifest = figures.load_manifest(preset="smoke")
    names = [f"01_{kind}.png" for kind in ("term_frequency", "sequence_lengths", "labels_per_gene", "term_depth")]
    names += [f"01_{d}_cooccurrence.png" for d in params["datasets"]]
    for name in names:
        entry = manifest.get(name)
        assert entry is not None, f"{name} missing from the manifest"
        assert entry["notebook"].startswith(NOTEBOOK)


def test_the_prose_describes_every_dataset_of_the_preset(glued, params) -> None:
    """The chapter's summary is written per dataset from the table, not per name in the prose."""
    text = str(glued["datasets_summary"])
    for d in params["datasets"]:
        spec = specs.SPECS[d]
        assert f"**{spec.label}**" in text and f"{glued[f'{d}_n_genes']:,} genes" in text
    source = (paths.notebooks / f"{NOTEBOOK}.ipynb").read_text()
    assert "mpo_n_genes" not in source, "prose must not hard-code one dataset's glue keys"
