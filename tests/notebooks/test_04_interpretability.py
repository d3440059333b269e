"""Notebook 04 through the smoke preset: statistics over the whole test split, figures, the explorer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from g2p import config as g2p_config
from g2p import figures
from g2p.data import curated
from g2p.genepheno import interventions, readout
from g2p.runner import read_glued

SMOKE = g2p_config.resolve("smoke")  # the preset the smoke run used, read once

pytestmark = pytest.mark.slow

NOTEBOOK = "04_interpretability"


@pytest.fixture(scope="module")
def glued(smoke_run):
    return read_glued(smoke_run / f"{NOTEBOOK}.ipynb")


@pytest.fixture(scope="module")
def params():
    params = SMOKE.parameters(NOTEBOOK)
    return {**params, "datasets": SMOKE.curated_names(params["datasets"])}  # the folders notebook 01 wrote


def test_intervention_statistic_covers_the_whole_test_split(glued, params):
    dataset = curated.load(params["datasets"][0])
    n_test = len(dataset.split_index("test"))
    assert glued["interp_n_genes"] == n_test
    assert glued["interp_n_concepts"] == len(dataset.concepts)
    assert glued["interp_n_flips"] == n_test * len(dataset.concepts)
    for key in ("hit_rate", "hit_rate_lo", "hit_rate_hi", "chance", "shuffled", "driver_annotated", "base_rate"):
        assert 0 <= glued[f"interp_{key}"] <= 1, key
    assert glued["interp_hit_rate_lo"] <= glued["interp_hit_rate"] <= glued["interp_hit_rate_hi"]
    assert any(word in glued["interp_intervention_verdict"] for word in ("above", "below", "not distinguishable"))


def test_flips_agree_with_the_models_own_phenotype_head(params):
    """The notebook's arithmetic (Δlogit = w·Δactivation) against the torch head on flipped activations."""
    name = params["datasets"][0]
    dataset = curated.load(name)
    loaded = readout.load_trained("smoke", name, "complete", params.get("seed", 0))
    bn = readout.read_bottleneck(loaded, dataset, "test", attention=False)
    result = interventions.intervention_effects(bn, interventions.related_pairs(dataset))
    targets = interventions.flip_targets(bn)
    head = loaded.model.phenotype_head
    rng = np.random.default_rng(0)
    for g, k in zip(rng.integers(0, bn.n_genes, 5), rng.integers(0, len(bn.concepts), 5)):
        units = torch.tensor(bn.activations[g])  # σ(concept logits), or the logits for identity units
        flipped = units.clone()
        flipped[k] = float(targets[g, k])
        free = torch.tensor(bn.free_activations[g])  # the unsupervised units, if the model has any
        units, flipped = torch.cat([units, free]), torch.cat([flipped, free])
        with torch.no_grad():
            change = torch.sigmoid(head(flipped)) - torch.sigmoid(head(units))
        assert result.top_term[g, k] == int(change.abs().argmax())


def test_glued_numbers_of_the_other_sections(glued):
    assert 0 <= glued["interp_concept_auc"] <= 1
    assert glued["interp_agreement_genes"] > 0
    assert 0 <= glued["interp_exclusive_with"] <= 1 and 0 <= glued["interp_exclusive_without"] <= 1
    assert "regulariser" in glued["interp_exclusive_verdict"] or "never differ" in glued["interp_exclusive_verdict"]
    assert 0 <= glued["interp_attention_cls_share"] <= 1
    assert glued["interp_case_text"].count("gene, *") >= 1


def test_at_least_four_figures_written_by_this_notebook(smoke_run):
    meta = json.loads((smoke_run / f"{NOTEBOOK}.ipynb").read_text())["metadata"]["g2p"]
    mine = {name for name, entry in figures.load_manifest(preset="smoke").items()
            if entry["notebook"] == NOTEBOOK and entry["run_id"] == meta["run_id"]}
    assert len(mine) >= 4, mine
    assert {"04_case_contributions.png", "04_intervention_by_concept.png", "04_cross_attention.png",
            "04_exclusive_cooccurrence.png"} <= mine


def test_explorer_output_is_live_and_recorded(smoke_run):
    nb = json.loads((smoke_run / f"{NOTEBOOK}.ipynb").read_text())
    bundles = [o["data"] for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    explorers = [b for b in bundles if "text/html" in b and "Concept-intervention explorer" in "".join(b["text/html"])]
    assert len(explorers) == 1
    html = "".join(explorers[0]["text/html"])
    assert html.count('class="g2p-panel ') >= 3 + 3  # 3 genes, each with views of its own
    assert "g2p-concept-explorer-table" in html
