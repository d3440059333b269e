"""Notebook 03 through the smoke preset: every method × bin scored, values in [0, 1], numbers glued."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from g2p import config as g2p_config
from g2p import figures, paths
from g2p.genepheno import benchmark, metrics
from g2p.runner import read_glued

SMOKE = g2p_config.resolve("smoke")  # the preset the smoke run used, read once

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outputs(smoke_run):
    values = read_glued(smoke_run / "03_evaluate.ipynb")
    results, violations = benchmark.load_results("smoke")
    datasets = SMOKE.curated_names(SMOKE.parameters("03_evaluate")["datasets"])
    return values, results[results["curated"].isin(datasets)], violations[violations["curated"].isin(datasets)]


def test_every_method_and_bin_has_a_row(outputs):
    _, results, _ = outputs
    assert not results.empty
    variants = SMOKE.parameters("03_evaluate").get("variants", list(benchmark.VARIANTS))
    for curated, rows in results.groupby("curated"):
        from g2p.data.curated import load

        expected_bins = metrics.bin_labels(load(curated).terms["bin"])
        names = set(rows["name"])
        assert set(variants) <= names, curated
        assert {"naive", "kmer_lr", "deeppheno_like"} <= names, curated
        assert sum(n.startswith(("max_", "weighted_")) for n in names) == 2, curated
        for (name, seed), group in rows.groupby(["name", "seed"]):  # each run: every bin once
            assert sorted(group["bin"]) == sorted(expected_bins), (curated, name, seed)
        # the complete model and trained baselines run every seed, ablations their own seeds
        block = SMOKE.parameters("03_evaluate")
        seeds_of = rows[rows["bin"] == "All"].groupby("name")["seed"].apply(sorted)
        assert seeds_of["complete"] == sorted(block["seeds"]) == seeds_of["deeppheno_like"], curated
        for ablation in set(variants) - {"complete"}:
            assert seeds_of[ablation] == sorted(block["ablation_seeds"]), (curated, ablation)
    assert set(results["kind"]) == {"baseline", "ours", "ablation"}


def test_metric_values_are_probabilities(outputs):
    _, results, violations = outputs
    cols = ["fmax", "fmax_lo", "fmax_hi", "auc", "auc_lo", "auc_hi", "aupr", "aupr_lo", "aupr_hi"]
    values = results[cols]
    # AUC is NaN only where no term of a bin has both classes among the few smoke test genes;
    # bootstrap intervals exist for the first seed's runs only.
    first = results["seed"] == results["seed"].min()
    assert values[["fmax"]].notna().all().all()
    assert values.loc[first, ["fmax_lo", "fmax_hi"]].notna().all().all()
    assert values.loc[~first, ["fmax_lo", "fmax_hi"]].isna().all().all()
    assert values.stack().dropna().between(0, 1).all()
    bounded = results[first]
    assert (bounded["fmax_lo"] <= bounded["fmax"] + 1e-12).all() and (bounded["fmax"] <= bounded["fmax_hi"] + 1e-12).all()
    with_pairs = violations["n_pairs"] > 0  # a dataset without exclusive pairs has nothing to violate
    assert violations.loc[with_pairs, "violation_rate"].between(0, 1).all()
    assert violations.loc[~with_pairs, "violation_rate"].isna().all()


def test_every_reported_interval_contains_its_estimate(outputs):
    """The book prints these intervals next to their estimates (results.csv and, for a dataset with
    prospective targets, prospective.csv): each must hold its own point estimate, AUPR included."""
    _, results, _ = outputs
    prospective = benchmark.load_prospective("smoke")
    tables = {"results.csv": results, "prospective.csv": prospective}
    checked = 0
    for table_name, table in tables.items():
        for metric in ("fmax", "auc", "aupr"):
            rows = table.dropna(subset=[metric, f"{metric}_lo", f"{metric}_hi"])
            outside = rows[(rows[f"{metric}_lo"] > rows[metric] + 1e-12) | (rows[metric] > rows[f"{metric}_hi"] + 1e-12)]
            assert outside.empty, f"{table_name}: {metric} outside its interval in {len(outside)} rows, e.g.\n{outside.head(3)}"
            checked += len(rows)
    assert checked > 0


def test_glued_numbers_match_the_csv(outputs):
    values, results, violations = outputs
    summary = benchmark.summarise(results)
    seeds = SMOKE.parameters("03_evaluate")["seeds"]
    for name in results["dataset"].unique():
        ours = results[(results["dataset"] == name) & (results["name"] == "complete") & (results["bin"] == "All")]
        assert sorted(ours["seed"]) == sorted(seeds)  # one row per seed
        assert values[f"{name}_genepheno_fmax"] == pytest.approx(float(ours["fmax"].mean()))
        best = summary[(summary["dataset"] == name) & (summary["kind"] == "baseline") & (summary["bin"] == "All")]
        assert values[f"{name}_best_baseline_fmax"] == pytest.approx(float(best["fmax"].max()))
        assert 0 <= values[f"{name}_genepheno_auc"] <= 1
        for key in ("violation_rate_complete", "violation_rate_no_exclusive"):
            has_pairs = violations[violations["dataset"] == name]["n_pairs"].max() > 0
            rate = float(values[f"{name}_{key}"])  # glued NaN reads back as "nan"
            assert (0 <= rate <= 1) if has_pairs else math.isnan(rate)
        # the verdict names the comparison it makes, and says "not" exactly when GenePheno loses one
        verdict = str(values[f"{name}_verdict"])
        loses = any(float(summary[(summary["dataset"] == name) & (summary["name"] == "complete")
                                  & (summary["bin"] == "All")][m].iloc[0]) <= float(best[m].max())
                    for m in ("fmax", "auc"))
        assert ("not" in verdict) == loses, verdict


def test_figures_were_saved_by_the_notebook(outputs):
    _, results, _ = outputs
    manifest = figures.load_manifest(preset="smoke")
    for name in results["dataset"].unique():
        for metric in ("fmax", "auc"):
            entry = manifest[f"03_{name}_{metric}_by_bin.png"]
            assert entry["preset"] == "smoke"
            assert (paths.figures_dir("smoke") / f"03_{name}_{metric}_by_bin.png").stat().st_size > 0
    assert isinstance(pd.read_csv(benchmark.genepheno_dir("smoke") / benchmark.RESULTS_FILE), pd.DataFrame)


def test_benchmark_in_two_processes_equals_one(smoke_run, tmp_path):
    """The benchmark's jobs (fit, predict, bootstrap) in worker processes give the table one process
    gives, row for row (the wall-time column aside); the deterministic baselines travel as one job.
    Workers train on one thread each, so the one-process run does too (a different thread count
    changes a trained baseline's float sums, hence its weights)."""
    import torch

    name = SMOKE.curated_names(SMOKE.parameters("03_evaluate")["datasets"])[0]
    model = SMOKE.genepheno()
    kwargs = dict(config=model, baselines=SMOKE.baselines(model), variants=[], seeds=[0, 1], n_boot=5, progress=None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = benchmark.run_benchmark(name, "smoke", workers=1, output_dir=tmp_path / "one", **kwargs)
    finally:
        torch.set_num_threads(threads)
    two = benchmark.run_benchmark(name, "smoke", workers=2, output_dir=tmp_path / "two", **kwargs)
    assert len(one) > 0 and set(one["name"]) >= {"naive", "kmer_lr", "deeppheno_like"}
    pd.testing.assert_frame_equal(one.drop(columns="wall_s"), two.drop(columns="wall_s"))
    _, one_violations = benchmark.load_results("smoke", tmp_path / "one")
    _, two_violations = benchmark.load_results("smoke", tmp_path / "two")
    pd.testing.assert_frame_equal(one_violations, two_violations)
