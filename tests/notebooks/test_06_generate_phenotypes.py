"""Notebook 06 through the smoke preset: metrics.csv covers every method × split with intervals, both
success-rate definitions, the glued numbers match the CSV, sweeps and background statistics glued."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from g2p import paths
from g2p.g2pdiff.benchmark import METHODS
from g2p.runner import read_glued

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outputs(smoke_run):
    values = read_glued(smoke_run / "06_generate_phenotypes.ipynb")
    metrics = pd.read_csv(paths.run_dir("smoke", "g2pdiffusion") / "metrics.csv")
    return values, metrics


def test_metrics_csv_has_every_method_and_split(outputs):
    _, metrics = outputs
    assert list(metrics.columns) == ["method", "split", "metric", "level", "k", "value", "n", "ci_low", "ci_high"]
    assert set(metrics["method"]) == set(METHODS)
    assert set(metrics["split"]) == {"test_seen", "test_unseen"}
    for (method, split), rows in metrics.groupby(["method", "split"]):
        assert {"clibd_score", "success_score", "success_taxon", "pes"} <= set(rows["metric"]), (method, split)


def test_metric_ranges_and_intervals(outputs):
    _, metrics = outputs
    rates = metrics[metrics["metric"].isin(["success_score", "success_taxon"])]["value"].dropna()
    assert rates.between(0, 1).all()
    cos = metrics[metrics["metric"].isin(["clibd_score", "pes"])]["value"]
    assert cos.between(-1 - 1e-6, 1 + 1e-6).all()
    known = metrics.dropna(subset=["value"])
    assert (known["ci_low"] <= known["value"] + 1e-9).all() and (known["value"] <= known["ci_high"] + 1e-9).all()
    # the species classifier knows the unseen species from their reference specimens: every unseen test
    # specimen counts at the species level
    unseen_species = metrics[(metrics["split"] == "test_unseen") & (metrics["metric"] == "success_taxon")
                             & (metrics["level"] == "species")]
    n_unseen = metrics[(metrics["split"] == "test_unseen") & (metrics["metric"] == "pes")]["n"].max()
    assert (unseen_species["n"] == n_unseen).all() and unseen_species["value"].notna().all()
    # the ground-truth render is its own specimen: PES 1
    truth = metrics[(metrics["method"] == "truth") & (metrics["metric"] == "pes") & (metrics["level"] == "specimen")]
    assert truth["value"].min() == pytest.approx(1.0, abs=1e-4)


def test_glued_values_match_the_csv(outputs):
    values, metrics = outputs
    row = metrics[(metrics["method"] == "g2pdiffusion") & (metrics["split"] == "test_seen")
                  & (metrics["metric"] == "success_taxon") & (metrics["level"] == "genus") & (metrics["k"] == 1)]
    assert values["g2pdiff_test_seen_g2pdiffusion_genus_hit_k1"] == pytest.approx(float(row["value"].iloc[0]))
    assert values["g2pdiff_test_seen_g2pdiffusion_genus_hit_k1_lo"] == pytest.approx(float(row["ci_low"].iloc[0]))
    assert values["g2pdiff_check_seen_full"] == pytest.approx(float(row["value"].iloc[0]))
    n = metrics[(metrics["split"] == "test_seen") & (metrics["metric"] == "pes")]["n"].max()
    assert values["g2pdiff_n_eval_seen"] == n
    # retrieval returns real training renders of near-identical barcodes: high PES to the truth
    assert values["g2pdiff_test_seen_retrieval_pes_k1"] > values["g2pdiff_test_seen_random_pes_k1"]
    assert math.isfinite(values["g2pdiff_tau"])


def test_sweep_and_background_numbers(outputs):
    values, _ = outputs
    for trait in ("area_fraction", "length", "darkness"):
        assert math.isfinite(values[f"g2pdiff_latitude_{trait}_mae"])
        # the truth through the autoencoder and back: a floor, finite and far below a flat guess
        assert 0 <= values[f"g2pdiff_latitude_{trait}_autoencoder_mae"] < 0.2
        # glued for every trait, since the prose cites them all; nan when every generated curve is flat
        # (Spearman's rho undefined), which an undertrained smoke model can produce
        for column in ("rank_corr", "rank_corr_min"):
            rho = float(values[f"g2pdiff_latitude_{trait}_{column}"])
            assert math.isnan(rho) or -1 <= rho <= 1, (trait, column, rho)
    assert 0 <= values["g2pdiff_latitude_same_genus"] <= values["g2pdiff_latitude_same_order"] <= 1
    # truth renders are drawn on the background colour itself
    assert values["g2pdiff_background_truth"] < 1.0
    assert values["g2pdiff_background_generated"] >= 0
    assert values["g2pdiff_no_environment_source"].startswith("the full model")


def test_the_guidance_2x2_is_glued_for_both_splits(outputs):
    """Every cell of the 2×2 (classifier-free guidance × alignment guidance) and alignment's paired effect
    are glued with intervals that contain them; the cells are the metrics.csv rows of their methods."""
    from g2p.g2pdiff.benchmark import GUIDANCE_CELLS

    values, metrics = outputs
    for split in ("seen", "unseen"):
        for (cfg, align), method in GUIDANCE_CELLS.items():
            for measure, (metric, level) in (("species_hit", ("success_taxon", "species")),
                                             ("clibd_score", ("clibd_score", "specimen"))):
                name = f"g2pdiff_2x2_{split}_cfg_{cfg}_align_{align}_{measure}"
                value, low, high = (float(values[name + suffix]) for suffix in ("", "_lo", "_hi"))
                assert low - 1e-9 <= value <= high + 1e-9, name
                row = metrics[(metrics["method"] == method) & (metrics["split"] == f"test_{split}")
                              & (metrics["metric"] == metric) & (metrics["level"] == level) & (metrics["k"] == 1)]
                # top-1 is each method's first sample, in metrics.csv as in the 2×2
                assert value == pytest.approx(float(row["value"].iloc[0]), nan_ok=True), name
        for cfg in ("on", "off"):
            name = f"g2pdiff_align_effect_{split}_cfg_{cfg}_species_hit"
            effect, low, high = (float(values[name + suffix]) for suffix in ("", "_lo", "_hi"))
            assert -1 <= low - 1e-9 <= effect <= high + 1e-9 <= 1, name
    assert "species" in values["g2pdiff_alignment_verdict"]
    assert float(values["g2pdiff_alignment_scale"]) > 0  # alignment guidance is on in every preset


def test_unseen_truth_first_is_read_from_the_csv(outputs):
    values, metrics = outputs
    sel = metrics[(metrics["split"] == "test_unseen") & (metrics["metric"] == "success_score") & (metrics["k"] == 1)]
    by_method = sel.set_index("method")["value"]
    assert values["g2pdiff_unseen_truth_success"] == pytest.approx(by_method["truth"])
    best = values["g2pdiff_unseen_best_generated"]
    assert values["g2pdiff_unseen_best_generated_success"] == pytest.approx(by_method[best])
    first = by_method["truth"] >= by_method.drop(["truth", "retrieval", "random"]).max()
    assert values["g2pdiff_unseen_truth_first_text"].startswith("the truth scores" if first else "a generated")
