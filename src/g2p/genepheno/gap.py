"""Chapter 03's decomposition of GenePheno's distance to the GO MLP: which part of the model (the concept
bottleneck, GO pretraining) accounts for how much, and what is left."""

from __future__ import annotations

import pandas as pd

from g2p.genepheno import metrics
from g2p.genepheno.plots import METRIC_LABELS, _mean_sd


#: The variants that take one part of the model away or add one, for :func:`gap_decomposition`: a key of
#: ``benchmark.VARIANTS`` → what its difference to the complete model measures.
GAP_PARTS = {
    "direct_head": "the concept bottleneck (a direct head instead)",
    "go_pretrained": "GO pretraining (added)",
    "no_pretrain": "GO pretraining (taken away)",
}
GO_MLP = "deeppheno_like"
PRETRAINING_PARTS = ("go_pretrained", "no_pretrain")


def gap_decomposition(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Where GenePheno's distance to the GO MLP comes from, All terms, in points (x100): the complete
    model (mean ± sd over seeds), each part of :data:`GAP_PARTS` the run trained (its value and its
    difference to the complete model), the GO MLP, and what is left: the GO MLP minus the best GenePheno
    of these. Parts the run did not train are left out."""
    keys = ["complete", *(k for k in GAP_PARTS if k in set(summary.loc[summary["dataset"] == dataset, "name"])), GO_MLP]
    labels = {"complete": "GenePheno (complete)", GO_MLP: "GO MLP (DeepPheno-like)",
              **{k: f"change: {w}" for k, w in GAP_PARTS.items()}}
    values = {k: {m: _mean_sd(summary, dataset, k, m) for m in ("fmax", "auc")} for k in keys}
    seeds = summary[(summary["dataset"] == dataset) & (summary["bin"] == metrics.ALL)].set_index("name")["n_seeds"]
    table = []
    for key in keys:
        record: dict[str, object] = {"": labels[key]}
        for m in ("fmax", "auc"):
            mean, sd = values[key][m]
            record[f"{METRIC_LABELS[m]} (%)"] = f"{100 * mean:.2f} ± {100 * sd:.2f}" if sd > 0 else f"{100 * mean:.2f}"
            record[f"Δ{METRIC_LABELS[m]} vs complete"] = ("" if key == "complete" else
                                                          f"{100 * (mean - values['complete'][m][0]):+.2f}")
        record["seeds"] = int(seeds[key])
        table.append(record)
    left: dict[str, object] = {"": "left unexplained: GO MLP − best GenePheno above", "seeds": ""}
    for m in ("fmax", "auc"):
        best = max(values[k][m][0] for k in keys if k != GO_MLP)
        left[f"{METRIC_LABELS[m]} (%)"] = ""
        left[f"Δ{METRIC_LABELS[m]} vs complete"] = f"{100 * (values[GO_MLP][m][0] - best):+.2f}"
    table.append(left)
    return pd.DataFrame(table).set_index("")


def gap_markdown(summary: pd.DataFrame, datasets: list[str]) -> str:
    """One line per dataset: what each part of :func:`gap_decomposition` changes, the gap left, and the
    complete model's seed sd as the yardstick for a one-seed difference."""
    lines = []
    for name in datasets:
        table = gap_decomposition(summary, name)
        _, sd_f = _mean_sd(summary, name, "complete", "fmax")
        _, sd_a = _mean_sd(summary, name, "complete", "auc")
        parts = [f"{label.removeprefix('change: ')} {row['ΔFmax vs complete']} Fmax / {row['ΔAUC vs complete']} AUC"
                 for label, row in table.iterrows() if label.startswith("change: ")]
        left = table.iloc[-1]
        lines.append(f"- **{name.upper()}**: " + "; ".join(parts + [
            f"left unexplained {left['ΔFmax vs complete']} Fmax / {left['ΔAUC vs complete']} AUC"])
            + f" (complete model's seed sd {100 * sd_f:.2f} / {100 * sd_a:.2f}).")
    if not summary["name"].isin(PRETRAINING_PARTS).any():
        lines.append("\nGO pretraining has no row here: this preset does not train it in the chapter (the quick "
                     "preset's time budget; the paper preset does); its validation measurements "
                     "are in `benchmarks/go_pretraining_sweep.md`.")
    return "\n".join(lines)
