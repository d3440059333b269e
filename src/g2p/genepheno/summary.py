"""Seed summaries of ``results.csv`` (pandas only, cheap to import: the book's landing page reads them).

A module of its own rather than part of :mod:`g2p.genepheno.benchmark`, which imports torch through
training: the landing page must stay cheap. ``benchmark.summarise`` and ``plots.best_baseline`` are
these same functions, re-exported.
"""

from __future__ import annotations

import pandas as pd

ALL = "All"  # the all-terms bin (g2p.genepheno.metrics.ALL)
METRICS = ("fmax", "auc", "aupr")


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset × method × bin: the mean over seeds of each metric, its sample standard
    deviation (``<metric>_sd``; 0 for a single seed or a deterministic method), ``n_seeds``, and the
    bootstrap interval of the first seed (``<metric>_lo``/``_hi``, NaN where none was computed)."""
    keys = ["dataset", "name", "method", "kind", "bin"]
    extra = [c for c in ("curated", "paper_label") if c in results.columns]
    grouped = results.groupby(keys, sort=False, dropna=False)
    means = grouped[list(METRICS)].mean()
    spread = grouped[list(METRICS)].std(ddof=1).fillna(0.0).add_suffix("_sd")
    first = results.sort_values("seed", kind="stable").groupby(keys, sort=False, dropna=False).first()
    bounds = first[[f"{m}_{b}" for m in METRICS for b in ("lo", "hi")] + extra]
    parts = [means, spread, bounds, grouped["seed"].nunique().rename("n_seeds")]
    if "wall_s" in results.columns:
        parts.append(grouped["wall_s"].mean())
    return pd.concat(parts, axis=1).reset_index()


def best_baseline(results: pd.DataFrame, dataset: str, metric: str = "fmax", bin: str = ALL) -> pd.Series:
    """The row of the strongest baseline (by ``metric`` in ``bin``; the mean over seeds in a summary)."""
    rows = results[(results["dataset"] == dataset) & (results["kind"] == "baseline") & (results["bin"] == bin)]
    if rows.empty:
        raise ValueError(f"no baseline results for {dataset!r}")
    return rows.loc[rows[metric].idxmax()]
