"""Mutually exclusive phenotype pairs predicted together, across thresholds, by models trained with and
without the exclusive regulariser (test scores per seed from :func:`g2p.genepheno.readout.variant_test_scores`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from g2p.genepheno import metrics

def exclusive_cooccurrence(dataset, scores: dict[str, list[np.ndarray]], thresholds=None) -> pd.DataFrame:
    """For each model (``{name: [test scores per seed]}``), seed and threshold t: the share of (test
    gene, exclusive pair) combinations where both terms score ≥ t; plus ``observed`` (both terms
    annotated, the same for every t)."""
    thresholds = np.round(np.arange(0.05, 0.951, 0.05), 2) if thresholds is None else np.asarray(thresholds)
    pairs = dataset.exclusive_index()
    test = dataset.split_index("test")
    rows = []
    observed = metrics.exclusive_violation_rate(dataset.labels[test].toarray(), pairs, 0.5)
    for name, per_seed in scores.items():
        for seed, s in enumerate(per_seed):
            for t in thresholds:
                rows.append({"model": name, "seed": seed, "threshold": float(t),
                             "rate": metrics.exclusive_violation_rate(s, pairs, float(t))})
    frame = pd.DataFrame(rows)
    frame["observed"] = observed
    return frame


def exclusive_pair_table(dataset, scores: dict[str, list[np.ndarray]], *, threshold: float = 0.5, top: int = 8) -> pd.DataFrame:
    """The exclusive pairs most often predicted together at ``threshold`` (mean over seeds), per model,
    with how often both are observed together among the test genes."""
    pairs = dataset.exclusive_index()
    test = dataset.split_index("test")
    truth = dataset.labels[test].toarray() > 0
    table = dataset.exclusive_pairs[["name_a", "name_b"]].rename(columns={"name_a": "phenotype", "name_b": "excludes"})
    table["observed together"] = (truth[:, pairs[:, 0]] & truth[:, pairs[:, 1]]).sum(axis=0)
    for name, per_seed in scores.items():
        both = [((s[:, pairs[:, 0]] >= threshold) & (s[:, pairs[:, 1]] >= threshold)).sum(axis=0) for s in per_seed]
        table[f"predicted together: {name}"] = np.mean(both, axis=0)
    value_cols = [c for c in table.columns if c.startswith("predicted together")]
    return table.sort_values(value_cols, ascending=False, kind="stable").head(top).reset_index(drop=True)


def exclusive_summary(frame: pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    """Mean over seeds of each model's co-occurrence rate at ``threshold`` and averaged over all
    thresholds, the observed rate, and the share of thresholds at which the first model's mean rate
    is lower than the second's."""
    models = list(dict.fromkeys(frame["model"]))
    means = frame.groupby(["model", "threshold"])["rate"].mean().unstack("threshold")
    at = means.columns[np.argmin(np.abs(means.columns.to_numpy() - threshold))]
    out = {"threshold": float(at), "observed": float(frame["observed"].iloc[0])}
    for m in models:
        out[f"{m}_at"] = float(means.loc[m, at])
        out[f"{m}_mean"] = float(means.loc[m].mean())
    if len(models) >= 2:
        a, b = means.loc[models[0]], means.loc[models[1]]
        differs = (a != b).to_numpy()
        out["lower_share"] = float((a < b).to_numpy()[differs].mean()) if differs.any() else float("nan")
        per_seed = frame.groupby(["model", "seed"])["rate"].mean()  # each seed's mean over thresholds
        for m in models[:2]:
            out[f"{m}_seed_min"], out[f"{m}_seed_max"] = float(per_seed[m].min()), float(per_seed[m].max())
    return out


def exclusive_verdict(summary: dict[str, float], with_name: str, without_name: str) -> str:
    """A sentence: does the model trained with the regulariser predict exclusive pairs together less,
    beyond the spread over seeds (each seed's mean co-occurrence over all thresholds)?"""
    a, b = summary[f"{with_name}_mean"], summary[f"{without_name}_mean"]
    share = summary.get("lower_share", float("nan"))
    if not np.isfinite(share):
        return "the two models never differ at any threshold"
    spread = (f"mean over thresholds {a:.4f} with it against {b:.4f} without; per seed "
              f"{summary[f'{with_name}_seed_min']:.4f}–{summary[f'{with_name}_seed_max']:.4f} against "
              f"{summary[f'{without_name}_seed_min']:.4f}–{summary[f'{without_name}_seed_max']:.4f}")
    if summary[f"{with_name}_seed_max"] < summary[f"{without_name}_seed_min"]:
        return f"the regulariser lowers the co-occurrence in every seed ({spread})"
    if summary[f"{with_name}_seed_min"] > summary[f"{without_name}_seed_max"]:
        return f"the regulariser does not lower the co-occurrence: it is higher in every seed ({spread})"
    return f"the regulariser makes no difference beyond the spread over seeds ({spread})"
