"""The benchmark orchestration end to end on the synthetic family dataset (tiny, CPU, seconds)."""

from __future__ import annotations


import pandas as pd
import pytest
from test_baselines import toy_dataset

from g2p import config as g2p_config
from g2p.genepheno import benchmark, metrics
from g2p.genepheno.config import BaselineConfig

FAST_BASELINES = {"epochs": 15, "patience": 5, "hidden": 32, "lr": 5e-3, "batch_size": 32, "min_go_count": 1,
                  "kmer_dim": 32}
TINY_MODEL = {"epochs": 2, "batch_size": 32, "d_model": 16, "mlp_hidden": 32, "progress": False}
MODEL = g2p_config.resolve("smoke").genepheno(**TINY_MODEL)
BASELINES = BaselineConfig(**FAST_BASELINES)


@pytest.fixture(scope="module")
def toy():
    ds = toy_dataset(name="toy")
    ds.datasheet = {"dataset": "toy"}
    return ds


@pytest.fixture(scope="module")
def bench(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # A row of another dataset already in the CSV must survive this call.
    pd.DataFrame({"dataset": ["other"], "method": ["x"], "bin": ["All"], "fmax": [0.5]}).to_csv(
        out / benchmark.RESULTS_FILE, index=False)
    results = benchmark.run_benchmark(
        "toy", "smoke", config=MODEL, baselines=BASELINES, variants=[], n_boot=20, seeds=[0],
        output_dir=out, loader=lambda name: toy, progress=None)
    return out, results


def test_every_method_and_bin_is_scored(bench, toy):
    out, results = bench
    saved, violations = benchmark.load_results("smoke", out)
    mine = saved[saved["dataset"] == "toy"]
    assert (saved["dataset"] == "other").sum() == 1
    methods = set(mine["name"])
    assert {"naive", "kmer_lr", "deeppheno_like"} <= methods
    assert len([m for m in methods if m.startswith(("max_", "weighted_"))]) == 2
    expected_bins = metrics.bin_labels(toy.terms["bin"])
    for name, group in mine.groupby("name"):
        assert list(group["bin"]) == expected_bins, name
    values = mine[["fmax", "fmax_lo", "fmax_hi", "auc", "auc_lo", "auc_hi", "aupr", "aupr_lo", "aupr_hi"]]
    assert ((values >= 0) & (values <= 1)).all().all()
    assert set(mine["kind"]) == {"baseline"}
    assert (mine["wall_s"] >= 0).all()
    assert set(violations["name"]) == methods
    assert violations["violation_rate"].between(0, 1).all()
    # The test split, not train: the naive baseline's AUC on test is chance-level (constant scores).
    naive_all = mine[(mine["name"] == "naive") & (mine["bin"] == "All")].iloc[0]
    assert naive_all["auc"] == pytest.approx(0.5)
    best_transfer = mine[mine["name"].str.startswith("weighted_") & (mine["bin"] == "All")]["fmax"].iloc[0]
    assert best_transfer > naive_all["fmax"]


def test_baseline_scores_are_cached(bench, toy):
    out, results = bench
    again = benchmark.run_benchmark(
        "toy", "smoke", config=MODEL, baselines=BASELINES, variants=[], n_boot=20, seeds=[0],
        output_dir=out, loader=lambda name: toy, progress=None)
    # Cached scores → identical metrics and the stored (first-run) wall times.
    pd.testing.assert_frame_equal(results.reset_index(drop=True), again.reset_index(drop=True))
    assert (out / "toy" / "baselines" / "naive.npz").exists()


def test_unknown_variant_is_rejected(toy, tmp_path):
    with pytest.raises(ValueError, match="variant"):
        benchmark.run_benchmark("toy", "smoke", config=MODEL, baselines=BASELINES, variants=["nope"], seeds=[0],
                                output_dir=tmp_path, loader=lambda n: toy)


def test_genepheno_variants_train_and_score_per_seed(toy, tmp_path, monkeypatch):
    pytest.importorskip("g2p.genepheno.train")
    monkeypatch.setattr(benchmark.paths, "runs", tmp_path / "runs")
    results = benchmark.run_benchmark(
        "toy", "smoke", config=MODEL, baselines=BASELINES, variants=["complete", "no_exclusive"], n_boot=5,
        seeds=[0, 1], ablation_seeds=[1], output_dir=tmp_path / "out", loader=lambda name: toy, progress=None)
    ours = results[results["name"].isin(["complete", "no_exclusive"])]
    assert set(ours["kind"]) == {"ours", "ablation"}
    assert ours[["fmax", "auc"]].apply(lambda c: c.between(0, 1)).all().all()
    for seed in (0, 1):
        assert (tmp_path / "runs" / "smoke" / "genepheno" / "toy" / "complete" / f"seed{seed}" / "best").is_dir()
    # trained methods once per seed, deterministic baselines once; bootstrap bounds only for seed 0
    per_method = results[results["bin"] == "All"].groupby("name")["seed"].apply(sorted)
    assert per_method["complete"] == [0, 1] and per_method["deeppheno_like"] == [0, 1]
    assert per_method["no_exclusive"] == [1]  # ablations only on ablation_seeds
    assert per_method["naive"] == [0]
    all_rows = results[results["bin"] == "All"]
    assert all_rows[all_rows["seed"] == 1]["fmax_lo"].isna().all()
    assert all_rows[all_rows["seed"] == 0]["fmax_lo"].notna().all()
    with pytest.raises(ValueError, match="subset of seeds"):
        benchmark.run_benchmark("toy", "smoke", config=MODEL, baselines=BASELINES, variants=["complete"], seeds=[0],
                                ablation_seeds=[2], loader=lambda name: toy, progress=None)
    summary = benchmark.summarise(results)
    row = summary[(summary["name"] == "complete") & (summary["bin"] == "All")].iloc[0]
    both = all_rows[all_rows["name"] == "complete"]["fmax"]
    assert row["n_seeds"] == 2 and row["fmax"] == pytest.approx(both.mean())
    assert row["fmax_sd"] == pytest.approx(both.std(ddof=1))
    _, violations = benchmark.load_results("smoke", tmp_path / "out")
    assert {"complete", "no_exclusive"} <= set(violations["name"])


def test_tables_and_figures_from_results(bench):
    import matplotlib

    matplotlib.use("Agg")
    from g2p.genepheno import plots, published

    out, _ = bench
    results, violations = benchmark.load_results("smoke", out)
    results = benchmark.summarise(results[results["dataset"] == "toy"])
    table = plots.table1(results, "toy")
    assert set(table.index) == set(results["method"])
    assert ("All", "Fmax") in table.columns and (published.SOURCE, "AUC") in table.columns
    naive = results[(results["name"] == "naive") & (results["bin"] == "All")].iloc[0]
    assert table.loc[naive["method"], ("All", "Fmax")].startswith(f"{100 * naive['fmax']:.1f} [")
    assert plots.best_baseline(results, "toy")["fmax"] == results[results["bin"] == "All"]["fmax"].max()
    html = plots.styled(table, "caption").to_html()
    assert "caption" in html
    for fig in (plots.plot_metric_by_bin(results, "toy", "fmax"), plots.plot_violations(violations[violations["dataset"] == "toy"]),
                plots.plot_ours_vs_paper(results, ["toy"])):
        assert fig.axes
    assert plots.format_interval(0.3114, 0.30, 0.32) == "31.1 [30.0, 32.0]"


def test_published_numbers_are_fractions():
    from g2p.genepheno import published

    numbers = published.all_numbers()
    assert numbers[["fmax", "auc"]].apply(lambda c: c.between(0, 1)).all().all()
    assert published.lookup("mpo", "GenePheno") == pytest.approx((0.3114, 0.6786))
    assert published.lookup("hpo", "w/o GO input") == pytest.approx((0.3996, 0.5660))
    assert published.lookup("mpo", "GenePheno", ">=301") == pytest.approx((0.3606, 0.6143))
    assert published.lookup("mpo", None) is None
