"""Tables and figures of the GenePheno evaluation (notebook 03), built from the seed summary of
``results.csv`` (:func:`g2p.genepheno.evaluate.summarise`).

Tables are pandas DataFrames of formatted strings, in percent like the paper: ``"31.1 ± 0.3"`` — the
mean over seeds and its standard deviation — for methods trained with several seeds, ``"31.1 [29.8,
32.4]"`` — the value and its gene-bootstrap 95% interval — for deterministic ones, wrapped in a Styler
for display. Figures are matplotlib Figures; the notebook saves them with :func:`g2p.figures.save`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from g2p.genepheno import metrics, published
from g2p.genepheno.summary import best_baseline  # noqa: F401  (re-exported: plots.best_baseline)

METRIC_LABELS = {"fmax": "Fmax", "auc": "AUC", "aupr": "AUPR"}
TABLE1_KINDS = ("baseline", "ours")
# The sequence-only and GO-only variants are baselines of Table 1 as well as ablations of Table 2.
TABLE1_VARIANTS = ("complete", "no_go", "no_sequence")


def format_interval(value: float, lo: float, hi: float, percent: bool = True) -> str:
    """``31.1 [29.8, 32.4]`` (percent) — or just the value when the interval is missing."""
    scale = 100.0 if percent else 1.0
    if value is None or np.isnan(value):
        return "–"
    if lo is None or hi is None or np.isnan(lo) or np.isnan(hi):
        return f"{value * scale:.1f}"
    return f"{value * scale:.1f} [{lo * scale:.1f}, {hi * scale:.1f}]"


def format_cell(row, metric: str) -> str:
    """mean ± sd over seeds when a method ran with several seeds, else value [95% bootstrap CI]."""
    if int(row.get("n_seeds", 1) or 1) > 1:
        return f"{row[metric] * 100:.1f} ± {row[f'{metric}_sd'] * 100:.1f}"
    return format_interval(row[metric], row.get(f"{metric}_lo"), row.get(f"{metric}_hi"))


def _order(results: pd.DataFrame) -> list[str]:
    """Methods in table order: baselines as run, then ours, then ablations."""
    rank = {"baseline": 0, "ours": 1, "ablation": 2}
    firsts = results.drop_duplicates("method")
    return list(firsts.sort_values("kind", key=lambda k: k.map(rank), kind="stable")["method"])


def _bins(results: pd.DataFrame) -> list[str]:
    present = [b for b in results["bin"].unique() if b != metrics.ALL]
    return metrics.bin_labels(present)


def method_table(results: pd.DataFrame, dataset: str, rows: pd.Series | None = None,
                 metric_names: tuple[str, ...] = ("fmax", "auc"), paper_table: str = "table1") -> pd.DataFrame:
    """Methods × (bin, metric) with spreads, plus the paper's All numbers (``paper Fmax``/``paper AUC``).
    ``results`` is the seed summary (:func:`g2p.genepheno.evaluate.summarise`)."""
    data = results[results["dataset"] == dataset]
    if rows is not None:
        data = data[rows.loc[data.index]]
    if data.empty:
        raise ValueError(f"no results for dataset {dataset!r}")
    bins = _bins(data)
    out = pd.DataFrame(index=pd.Index(_order(data), name="method"))
    for b in bins:
        for m in metric_names:
            col = {}
            for _, r in data[data["bin"] == b].iterrows():
                col[r["method"]] = format_cell(r, m)
            out[(b, METRIC_LABELS[m])] = pd.Series(col)
    paper = published.all_numbers()
    paper = paper[(paper["dataset"] == dataset) & (paper["table"] == paper_table) & (paper["bin"] == metrics.ALL)]
    labels = data.drop_duplicates("method").set_index("method")["paper_label"]
    for m in ("fmax", "auc"):
        values = {}
        for method, label in labels.items():
            hit = paper[paper["method"] == label] if isinstance(label, str) else paper.iloc[0:0]
            values[method] = f"{hit[m].iloc[0] * 100:.1f}" if len(hit) else "–"
        out[(published.SOURCE, METRIC_LABELS[m])] = pd.Series(values)
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["bin", "metric"])
    return out


def table1(results: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Table-1 style: baselines, GenePheno and its sequence-only / GO-only variants, per bin."""
    rows = results["kind"].isin(TABLE1_KINDS) | results["name"].isin(TABLE1_VARIANTS)
    return method_table(results, dataset, rows)


def table2(results: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Table-2 style ablation: GenePheno complete and each ablation, All terms, with the paper's Table 2."""
    rows = results["kind"].isin(("ours", "ablation")) & (results["bin"] == metrics.ALL)
    return method_table(results, dataset, rows, metric_names=("fmax", "auc", "aupr"), paper_table="table2")


def styled(table: pd.DataFrame, caption: str):
    """An HTML-rendering Styler with a caption (no index name clutter)."""
    return table.style.set_caption(caption).set_table_styles(
        [{"selector": "caption", "props": "caption-side: top; font-weight: bold; text-align: left;"},
         {"selector": "th, td", "props": "padding: 2px 8px; white-space: nowrap;"}])


def violations_table(violations: pd.DataFrame) -> pd.DataFrame:
    """Exclusive-pair violation rates (percent, mean over seeds) per dataset × method, with the rate in
    the true labels."""
    table = violations.pivot_table(index="method", columns="dataset", values="violation_rate", sort=False,
                                   aggfunc="mean") * 100
    truth = violations.groupby("dataset")["label_rate"].first() * 100
    table.loc["(true labels)"] = truth
    return table.round(3)


def value(results: pd.DataFrame, dataset: str, name: str, metric: str = "fmax", bin: str = metrics.ALL) -> float:
    """One number of the results table (``name`` is the method key, e.g. ``complete`` or ``kmer_lr``)."""
    rows = results[(results["dataset"] == dataset) & (results["name"] == name) & (results["bin"] == bin)]
    if rows.empty:
        raise KeyError(f"no result for {dataset}/{name}/{bin}")
    return float(rows[metric].iloc[0])


def plot_metric_by_bin(results: pd.DataFrame, dataset: str, metric: str = "fmax",
                       kinds: tuple[str, ...] = TABLE1_KINDS) -> plt.Figure:
    """Grouped bars: ``metric`` per frequency bin (and All) for each method; error bars are the sd over
    seeds for seeded methods and the 95% bootstrap interval for deterministic ones."""
    data = results[(results["dataset"] == dataset) & results["kind"].isin(kinds)]
    bins = _bins(data)
    methods = _order(data)
    colours = sns.color_palette("tab10", len(methods))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(bins) * max(1, len(methods)) / 4), 3.6))
    width = 0.8 / max(len(methods), 1)
    for i, method in enumerate(methods):
        rows = data[data["method"] == method].set_index("bin").reindex(bins)
        x = np.arange(len(bins)) + (i - (len(methods) - 1) / 2) * width
        v = rows[metric].to_numpy(dtype=float)
        if "n_seeds" in rows and (rows["n_seeds"] > 1).any():
            sd = rows[f"{metric}_sd"].to_numpy(dtype=float)
            err = np.vstack([sd, sd])
        else:
            err = np.vstack([v - rows[f"{metric}_lo"].to_numpy(dtype=float),
                             rows[f"{metric}_hi"].to_numpy(dtype=float) - v])
        ax.bar(x, v, width, label=method, color=colours[i],
               yerr=np.where(np.isnan(err), 0, err), capsize=2, error_kw={"linewidth": 0.8})
    ax.set_xticks(np.arange(len(bins)), bins)
    ax.set_xlabel("term frequency bin (genes per term)")
    ax.set_ylabel(METRIC_LABELS[metric])
    if metric == "auc":
        ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.set_title(f"{dataset.upper()}: {METRIC_LABELS[metric]} by term frequency (test split; ± sd over seeds)")
    ax.legend(fontsize=7, ncol=2, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def plot_ours_vs_paper(results: pd.DataFrame, datasets: list[str]) -> plt.Figure:
    """Our All-terms Fmax/AUC against the paper's for every method the paper also reports."""
    numbers = published.all_numbers()
    rows = []
    for _, r in results[(results["bin"] == metrics.ALL) & results["dataset"].isin(datasets)].iterrows():
        label = r.get("paper_label")
        if not isinstance(label, str):
            continue
        table = "table2" if r["kind"] == "ablation" else "table1"
        label = "GenePheno" if (table == "table1" and label == "complete") else label
        hit = numbers[(numbers["table"] == table) & (numbers["dataset"] == r["dataset"])
                      & (numbers["method"] == label) & (numbers["bin"] == metrics.ALL)]
        if len(hit):
            for m in ("fmax", "auc"):
                rows.append({"dataset": r["dataset"], "method": r["method"], "metric": METRIC_LABELS[m],
                             "ours": r[m], "paper": float(hit[m].iloc[0])})
    frame = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
    for ax, m in zip(axes, ("Fmax", "AUC")):
        sub = frame[frame["metric"] == m] if len(frame) else frame
        if len(sub):
            sns.scatterplot(data=sub, x="paper", y="ours", hue="method", style="dataset", ax=ax, s=40, legend=(m == "AUC"))
        lims = [0, 1] if m == "AUC" else [0, max(0.6, float(sub[["ours", "paper"]].max().max()) + 0.05) if len(sub) else 1]
        ax.plot(lims, lims, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlim(lims)
        ax.set_ylim(lims)
        ax.set_title(f"{m}, All terms")
        ax.set_xlabel(published.SOURCE)
        ax.set_ylabel("this reproduction")
    if len(frame):
        axes[1].legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def plot_violations(violations: pd.DataFrame) -> plt.Figure:
    """Exclusive-pair violation rate per method (percent of test genes × pairs with both predicted)."""
    data = violations.copy()
    data["violation %"] = 100 * data["violation_rate"]
    fig, ax = plt.subplots(figsize=(7, 0.35 * data["method"].nunique() + 1.5))
    sns.barplot(data=data, y="method", x="violation %", hue="dataset", ax=ax, orient="h")
    for i, (ds, rate) in enumerate(data.groupby("dataset", sort=False)["label_rate"].first().items()):
        ax.axvline(100 * rate, color=sns.color_palette()[i], linestyle="--", linewidth=0.8)
    ax.set_title("Exclusive-pair violations at each method's Fmax threshold (dashed: true labels)")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ findings in words
def _mean_sd(summary: pd.DataFrame, dataset: str, name: str, metric: str) -> tuple[float, float]:
    row = summary[(summary["dataset"] == dataset) & (summary["name"] == name) & (summary["bin"] == metrics.ALL)]
    if row.empty:
        raise KeyError(f"no result for {dataset}/{name}")
    return float(row[metric].iloc[0]), float(row[f"{metric}_sd"].iloc[0])


def verdict(summary: pd.DataFrame, dataset: str) -> str:
    """One Markdown sentence: does GenePheno (complete, mean over seeds) beat every baseline on Fmax and
    AUC (All terms)? Names the strongest baseline per metric and the margin; says so plainly if not."""
    parts = []
    for metric in ("fmax", "auc"):
        ours, ours_sd = _mean_sd(summary, dataset, "complete", metric)
        best = best_baseline(summary, dataset, metric)
        margin = ours - float(best[metric])
        word = "above" if margin > 0 else "below"
        parts.append(f"{METRIC_LABELS[metric]} {ours:.3f} ± {ours_sd:.3f}, {abs(margin):.3f} {word} the strongest "
                     f"baseline ({best['method']}, {float(best[metric]):.3f})")
    wins = [_mean_sd(summary, dataset, "complete", m)[0] > float(best_baseline(summary, dataset, m)[m])
            for m in ("fmax", "auc")]
    head = ("beats every baseline on both metrics" if all(wins) else
            "does **not** beat every baseline" + ("" if any(wins) else " on either metric"))
    return f"On {dataset.upper()}, GenePheno {head}: " + "; ".join(parts) + "."


def ablation_findings(summary: pd.DataFrame, dataset: str, metric: str = "fmax") -> str:
    """A Markdown list: each ablation's mean difference to the complete model and whether it exceeds
    seed noise (|Δ| > 2 × the larger of the two standard deviations over seeds; an ablation run with
    one seed is judged by the complete model's spread) or lies within it."""
    ours, ours_sd = _mean_sd(summary, dataset, "complete", metric)
    rows = summary[(summary["dataset"] == dataset) & (summary["kind"] == "ablation") & (summary["bin"] == metrics.ALL)]
    lines = []
    for row in rows.itertuples():
        delta = float(getattr(row, metric)) - ours
        noise = 2 * max(float(getattr(row, f"{metric}_sd")), ours_sd)
        judged = ("beyond seed noise" if abs(delta) > noise else "within seed noise") if noise > 0 else "single seed"
        seeds = int(getattr(row, "n_seeds", 1))
        lines.append(f"- {row.method}: {100 * delta:+.1f} points {METRIC_LABELS[metric]} "
                     f"({seeds} seed{'s' if seeds != 1 else ''}; {judged})")
    return "\n".join(lines)
