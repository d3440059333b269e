"""Every figure and results table of the GenePheno half: training curves (notebook 02), the
benchmark's tables and figures (notebook 03), the interpretability figures (notebook 04).

Results tables are built from the seed summary of ``results.csv`` (:func:`g2p.genepheno.benchmark.summarise`):
pandas DataFrames of formatted strings, in percent like the paper: ``"31.1 ± 0.3"`` — the mean over
seeds and its standard deviation — for methods trained with several seeds, ``"31.1 [29.8, 32.4]"`` —
the value and its gene-bootstrap 95% interval — for deterministic ones, wrapped in a Styler for
display. Figures are matplotlib Figures; the notebooks save them with :func:`g2p.figures.save`.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from g2p.genepheno import metrics, published
from g2p.genepheno.bottleneck import Bottleneck, short_label
from g2p.genepheno.concept_weights import contributions
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
                 metric_names: tuple[str, ...] = ("fmax", "auc"), paper_table: str | None = "table1") -> pd.DataFrame:
    """Methods × (bin, metric) with spreads, plus the paper's All numbers (``paper Fmax``/``paper AUC``;
    none with ``paper_table=None``). ``results`` is the seed summary (:func:`g2p.genepheno.benchmark.summarise`)."""
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
    paper = published.for_dataset(published.all_numbers(), dataset)
    paper = paper[(paper["table"] == paper_table) & (paper["bin"] == metrics.ALL)]
    labels = data.drop_duplicates("method").set_index("method")["paper_label"]
    for m in ("fmax", "auc") if paper_table else ():
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
        hit = published.for_dataset(numbers, r["dataset"])
        hit = hit[(hit["table"] == table) & (hit["method"] == label) & (hit["bin"] == metrics.ALL)]
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


def verdicts_markdown(summary: pd.DataFrame, datasets: list[str]) -> str:
    """:func:`verdict` for every dataset, one paragraph each."""
    return "\n\n".join(verdict(summary, name) for name in datasets)


def ablations_markdown(summary: pd.DataFrame, datasets: list[str], metric: str = "fmax") -> str:
    """:func:`ablation_findings` for every dataset under its name."""
    return "\n\n".join(f"**{name.upper()}**\n\n" + ablation_findings(summary, name, metric) for name in datasets)


def violations_markdown(violations: pd.DataFrame, datasets: list[str]) -> str:
    """One sentence per dataset: the exclusive-pair violation rate with and without the regulariser and
    in the annotations themselves (or that the dataset has no exclusive pair)."""
    lines = []
    for name in datasets:
        rows = violations[violations["dataset"] == name]
        if rows.empty or int(rows["n_pairs"].max()) == 0:
            lines.append(f"- **{name.upper()}**: no exclusive pair, so nothing to violate.")
            continue
        rates = rows.groupby("name")["violation_rate"].mean()
        without = rates.get("no_exclusive")
        lines.append(f"- **{name.upper()}** ({int(rows['n_pairs'].max())} pairs): {100 * rates['complete']:.2f} % of "
                     f"(test gene, pair) cases with the regulariser"
                     + (f", {100 * without:.2f} % without it" if without is not None else "")
                     + f"; the annotations themselves {100 * float(rows['label_rate'].iloc[0]):.2f} %.")
    return "\n".join(lines)


def overview_table(summary: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """The paper's Table 1 at a glance: methods × datasets, All terms, each cell *ours (paper)* for Fmax
    and AUC in percent (ours: mean ± sd over seeds, or the deterministic value)."""
    data = summary[(summary["bin"] == metrics.ALL) & summary["dataset"].isin(datasets)
                   & (summary["kind"].isin(TABLE1_KINDS) | summary["name"].isin(TABLE1_VARIANTS))]
    paper = published.table1()
    out = pd.DataFrame(index=pd.Index(_order(data), name="method"))
    for name in datasets:
        rows = data[data["dataset"] == name].set_index("method")
        theirs = published.for_dataset(paper, name)
        for metric in ("fmax", "auc"):
            cells = {}
            for method, row in rows.iterrows():
                label = "GenePheno" if row["name"] == "complete" else row.get("paper_label")
                hit = theirs[theirs["method"] == label] if isinstance(label, str) else theirs.iloc[0:0]
                cells[method] = format_cell(row, metric) + (f" ({hit[metric].iloc[0] * 100:.1f})" if len(hit) else "")
            out[(name.upper(), METRIC_LABELS[metric])] = pd.Series(cells)
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["dataset", "metric"])
    return out.fillna("–")


def prospective_markdown(prospective: pd.DataFrame, summary: pd.DataFrame, datasets: list[str]) -> str:
    """One paragraph per dataset with prospective targets: GenePheno and the strongest baseline on them
    (All terms, mean ± sd over seeds) beside their test-split numbers."""
    lines = []
    for name in datasets:
        later = prospective[(prospective["dataset"] == name) & (prospective["bin"] == metrics.ALL)]
        if later.empty:
            continue
        parts = []
        for metric in ("fmax", "auc"):
            ours, ours_sd = _mean_sd(prospective, name, "complete", metric)
            best = best_baseline(prospective, name, metric)
            test = _mean_sd(summary, name, "complete", metric)[0]
            parts.append(f"{METRIC_LABELS[metric]} {ours:.3f} ± {ours_sd:.3f} (test split {test:.3f}) against "
                         f"{float(best[metric]):.3f} for the strongest baseline ({best['method']})")
        lines.append(f"On the **{name.upper()}** prospective targets, GenePheno reaches " + "; ".join(parts) + ".")
    return "\n\n".join(lines) or "No dataset of this preset has prospective targets."


# ------------------------------------------------------------------------------ training (notebook 02)
def _long(histories: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    frames = []
    for run, history in histories.items():
        if history.empty:
            continue
        parts = [c for c in ("train_total", "train_mlc", "train_ex", "train_go", "val_fmax") if c in history]
        frame = history.melt(id_vars="epoch", value_vars=parts, var_name="series", value_name="value")
        frames.append(frame.assign(run=run))
    if not frames:
        raise ValueError("no training history to plot")
    return pd.concat(frames, ignore_index=True)


def plot_training_curves(histories: Mapping[str, pd.DataFrame] | pd.DataFrame) -> plt.Figure:
    """Left: the training loss per epoch (solid = total, dashed = L_MLC); right: validation Fmax, with
    the best epoch of each run marked. ``histories`` maps a run name (e.g. the dataset) to
    ``TrainResult.history``; a single DataFrame is plotted as one run."""
    if isinstance(histories, pd.DataFrame):
        histories = {"run": histories}
    data = _long(histories)
    fig, (ax_loss, ax_fmax) = plt.subplots(1, 2, figsize=(10, 3.8))
    loss = data[data["series"].isin(["train_total", "train_mlc"])]
    sns.lineplot(loss, x="epoch", y="value", hue="run", style="series", marker="o", ax=ax_loss)
    # log scale: the loss is summed over a gene's terms, so datasets with more terms sit far higher
    ax_loss.set(title="training loss", ylabel="loss per gene (log scale)", xlabel="epoch", yscale="log")
    fmax = data[data["series"] == "val_fmax"]
    sns.lineplot(fmax, x="epoch", y="value", hue="run", marker="o", ax=ax_fmax)
    for run, group in fmax.groupby("run", sort=False):
        best = group.loc[group["value"].idxmax()]
        ax_fmax.scatter(best["epoch"], best["value"], s=120, facecolors="none", edgecolors="black", zorder=3)
    ax_fmax.set(title="validation Fmax (circle = best epoch)", ylabel="Fmax", xlabel="epoch")
    for ax in (ax_loss, ax_fmax):
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ interpretability (notebook 04)
def plot_weight_heatmap(table: pd.DataFrame, title: str = ""):
    """Rows: GO concepts, columns: phenotypes; diverging colours centred on 0, weights printed."""
    limit = float(np.abs(table.to_numpy()).max()) or 1.0
    fig, ax = plt.subplots(figsize=(3.2 + 0.9 * table.shape[1], 2.2 + 0.32 * table.shape[0]))
    sns.heatmap(table, cmap="RdBu_r", center=0, vmin=-limit, vmax=limit, ax=ax, annot=table.shape[1] <= 12,
                fmt=".2f", annot_kws={"fontsize": 6},
                cbar_kws={"label": "head weight (concept → phenotype logit)", "shrink": 0.7},
                xticklabels=[short_label(c, 45) for c in table.columns], yticklabels=[short_label(r, 50) for r in table.index])
    ax.set_xlabel("phenotype [label-frequency bin]")
    ax.set_ylabel("GO concept (depth 2)")
    ax.tick_params(axis="x", labelrotation=35, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_case_contributions(bottleneck: Bottleneck, case_genes: pd.DataFrame, *, n_concepts: int = 8):
    """One panel per case gene: the concepts with the largest |activation × weight| for its
    top-scoring phenotype; filled bars = concepts the gene is annotated with."""
    fig, axes = plt.subplots(1, len(case_genes), figsize=(5.2 * len(case_genes), 0.45 * n_concepts + 1.6), squeeze=False)
    for ax, case in zip(axes[0], case_genes.itertuples()):
        term = int(np.argmax(bottleneck.probabilities(rows=case.row)[0]))
        table = contributions(bottleneck, case.row, term).head(n_concepts).iloc[::-1]
        colors = ["#0969da" if v > 0 else "#cf222e" for v in table["contribution"]]
        bars = ax.barh([short_label(c, 34) for c in table["concept"]], table["contribution"], color=colors)
        for bar, annotated in zip(bars, table["annotated"]):
            if not annotated:
                bar.set_facecolor("white")
                bar.set_hatch("///")
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(f"{case.role}: {case.symbol}\ntop prediction: {short_label(bottleneck.terms['name'].iat[term], 42)}",
                     fontsize=9)
        ax.set_xlabel("activation × weight (logit units)")
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle("Concepts behind each case gene's top prediction (hatched: not annotated to the gene)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_intervention(by_concept: pd.DataFrame, stat: dict[str, float]):
    """Hit rate per concept (sorted) against its chance level, with the overall rates."""
    frame = by_concept.sort_values("hit_rate", ascending=False, kind="stable").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(frame))
    ax.bar(x, frame["hit_rate"], width=1.0, color="#0969da", alpha=0.8, label="most-moved phenotype related")
    ax.plot(x, frame["shuffled"], color="#cf222e", lw=1.2, label="chance: same phenotype, random concept")
    ax.plot(x, frame["chance"], color="#6e7781", lw=1.0, label="chance: random phenotype")
    ax.axhline(stat["hit_rate"], color="#0969da", ls="--", lw=1, label=f"all flips: {stat['hit_rate']:.3f}")
    ax.axhline(stat["shuffled"], color="#cf222e", ls=":", lw=1, label=f"random concept, all flips: {stat['shuffled']:.3f}")
    ax.set_xlim(-0.5, len(frame) - 0.5)
    ax.set_ylim(0, 1)
    ax.set_xlabel("GO concept (sorted by hit rate)")
    ax.set_ylabel("share of test genes")
    ax.set_title("Concept flips: is the phenotype that moves most related to the concept?", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def plot_attention(tables: dict[str, pd.DataFrame]):
    """One heatmap per case gene: sequence tokens × its most-attended GO tokens."""
    fig, axes = plt.subplots(len(tables), 1, figsize=(9, 2.6 * len(tables) + 1.2), squeeze=False)
    for ax, (title, table) in zip(axes[:, 0], tables.items()):
        sns.heatmap(table, cmap="viridis", vmin=0, ax=ax, cbar_kws={"label": "attention", "shrink": 0.8},
                    xticklabels=[short_label(c, 46) for c in table.columns])
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=40, labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


def plot_exclusive(frame: pd.DataFrame):
    """Co-occurrence rate against threshold: mean over seeds (line) and range (band) per model."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for (name, rows), color in zip(frame.groupby("model", sort=False), ("#0969da", "#cf222e", "#1a7f37", "#8250df")):
        stats = rows.groupby("threshold")["rate"].agg(["mean", "min", "max"])
        ax.plot(stats.index, stats["mean"], color=color, label=name)
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2)
    ax.axhline(float(frame["observed"].iloc[0]), color="black", ls=":", lw=1, label="observed in the annotations")
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("score threshold t")
    ax.set_ylabel("share of (gene, pair) with both ≥ t")
    ax.set_title("Mutually exclusive phenotype pairs predicted together (test split)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
