"""Chapter 03's decomposition of GenePheno's distance to the GO MLP, from a hand-made results table."""

from __future__ import annotations

import pandas as pd
import pytest

from g2p.genepheno import gap
from g2p.genepheno.summary import summarise


def _results(with_parts: bool = True) -> pd.DataFrame:
    rows = []

    def add(name: str, kind: str, seed: int, fmax: float, auc: float) -> None:
        rows.append({"dataset": "mpo", "name": name, "method": name, "kind": kind, "bin": "All", "seed": seed,
                     "fmax": fmax, "auc": auc, "aupr": 0.1, **{f"{m}_{b}": float("nan") for m in ("fmax", "auc", "aupr")
                                                                 for b in ("lo", "hi")}})

    for seed, (f, a) in enumerate([(0.320, 0.740), (0.322, 0.742), (0.324, 0.744)]):
        add("complete", "ours", seed, f, a)
        add("deeppheno_like", "baseline", seed, f + 0.010, a + 0.030)
    if with_parts:
        add("direct_head", "ablation", 0, 0.325, 0.720)  # better Fmax, worse AUC
        add("go_pretrained", "ablation", 0, 0.322, 0.745)
    return pd.DataFrame(rows)


def test_each_part_is_its_difference_to_the_complete_model_and_the_rest_is_left():
    table = gap.gap_decomposition(summarise(_results()), "mpo")
    assert list(table.index) == ["GenePheno (complete)", "change: the concept bottleneck (a direct head instead)",
                                 "change: GO pretraining (added)", "GO MLP (DeepPheno-like)",
                                 "left unexplained: GO MLP − best GenePheno above"]
    assert table.loc["GenePheno (complete)", "Fmax (%)"] == "32.20 ± 0.20"  # mean ± sd over 3 seeds
    assert table.loc["GenePheno (complete)", "seeds"] == 3
    direct = table.loc["change: the concept bottleneck (a direct head instead)"]
    assert (direct["ΔFmax vs complete"], direct["ΔAUC vs complete"], direct["seeds"]) == ("+0.30", "-2.20", 1)
    assert table.loc["GO MLP (DeepPheno-like)", "ΔAUC vs complete"] == "+3.00"
    # what is left: GO MLP minus the best GenePheno row, metric by metric (direct head for Fmax,
    # pretraining for AUC)
    left = table.iloc[-1]
    assert left["ΔFmax vs complete"] == "+0.70" and left["ΔAUC vs complete"] == "+2.70"
    text = gap.gap_markdown(summarise(_results()), ["mpo"])
    assert "left unexplained +0.70 Fmax / +2.70 AUC" in text and "seed sd 0.20 / 0.20" in text
    assert "has no row here" not in text  # the run trained a pretraining part


def test_parts_the_run_did_not_train_are_left_out():
    table = gap.gap_decomposition(summarise(_results(with_parts=False)), "mpo")
    assert list(table.index) == ["GenePheno (complete)", "GO MLP (DeepPheno-like)",
                                 "left unexplained: GO MLP − best GenePheno above"]
    assert table.iloc[-1]["ΔFmax vs complete"] == "+1.00"
    assert "GO pretraining has no row here" in gap.gap_markdown(summarise(_results(with_parts=False)), ["mpo"])


def test_a_dataset_without_the_go_mlp_is_a_clear_error():
    results = _results()
    with pytest.raises(KeyError, match="deeppheno_like"):
        gap.gap_decomposition(summarise(results[results["name"] != "deeppheno_like"]), "mpo")
