"""Notebook 06 through the smoke preset: metrics.csv covers every method × split, numbers glued."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from g2p import paths
from g2p.g2pdiff.baselines import METHODS
from g2p.runner import read_glued

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outputs(smoke_run):
    values = read_glued(smoke_run / "06_generate_phenotypes.ipynb")
    metrics = pd.read_csv(paths.run_dir("smoke", "g2pdiffusion") / "metrics.csv")
    return values, metrics


def test_metrics_csv_has_every_method_and_split(outputs):
    _, metrics = outputs
    assert list(metrics.columns) == ["method", "split", "metric", "level", "k", "value", "n"]
    assert set(metrics["method"]) == set(METHODS)
    assert set(metrics["split"]) == {"test_seen", "test_unseen"}
    for (method, split), rows in metrics.groupby(["method", "split"]):
        assert {"clibd_score", "success_rate", "pes"} <= set(rows["metric"]), (method, split)


def test_metric_ranges(outputs):
    _, metrics = outputs
    rates = metrics[metrics["metric"] == "success_rate"]["value"].dropna()
    assert rates.between(0, 1).all()
    cos = metrics[metrics["metric"].isin(["clibd_score", "pes"])]["value"]
    assert cos.between(-1 - 1e-6, 1 + 1e-6).all()
    # unseen species are unknown to the species classifier, so that success rate is undefined
    unseen_species = metrics[(metrics["split"] == "test_unseen") & (metrics["metric"] == "success_rate")
                             & (metrics["level"] == "species")]
    assert unseen_species["value"].isna().all()


def test_glued_values_match_the_csv(outputs):
    values, metrics = outputs
    row = metrics[(metrics["method"] == "g2pdiffusion") & (metrics["split"] == "test_seen")
                  & (metrics["metric"] == "clibd_score") & (metrics["k"] == 1)]
    assert values["g2pdiff_test_seen_g2pdiffusion_clibd_score_k1"] == pytest.approx(float(row["value"].iloc[0]))
    # retrieval returns real training renders of near-identical barcodes: high PES to the truth
    assert values["g2pdiff_test_seen_retrieval_pes_k1"] > values["g2pdiff_test_seen_random_pes_k1"]
    for trait in ("area_fraction", "length", "darkness"):
        assert math.isfinite(values[f"g2pdiff_latitude_{trait}_abs_error"])
