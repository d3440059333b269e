"""Figures that describe a curated dataset (notebook 01). Each function returns a matplotlib Figure.

The notebook saves them with :func:`g2p.figures.save`; nothing here writes files.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from g2p.data.curated import BIN_EDGES, BIN_LABELS, CuratedDataset
from g2p.data.split import ALL_SPLITS

SPLIT_COLOURS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868", "prospective": "#C44E52"}


def label(dataset: CuratedDataset) -> str:
    """How the book writes a curated dataset: its table row's label (``MPO`` for ``mpo-max400``)."""
    return str(dataset.datasheet.get("label") or dataset.name.split("-")[0].upper())


def _panels(datasets: Mapping[str, CuratedDataset], what: str, width: float = 5.0,
            height: float = 3.2) -> tuple[Figure, list[tuple[plt.Axes, CuratedDataset]]]:
    """One panel per dataset, two per row, each titled ``<label>: <what>``."""
    items = list(datasets.values())
    ncols = min(2, len(items))
    nrows = -(-len(items) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.ravel()[len(items):]:
        ax.set_visible(False)
    pairs = list(zip(axes.ravel(), items))
    for ax, dataset in pairs:
        ax.set_title(f"{label(dataset)}: {what}")
    return fig, pairs


def term_frequency(datasets: Mapping[str, CuratedDataset]) -> Figure:
    """Histogram of genes per term (log scale) with the GenePheno bin edges, one panel per dataset."""
    fig, panels = _panels(datasets, "term frequency and bins")
    for ax, dataset in panels:
        counts = dataset.terms["n_genes"].to_numpy()
        bins = np.logspace(np.log10(max(counts.min(), 1)), np.log10(counts.max() + 1), 40)
        sns.histplot(x=counts, bins=bins, ax=ax, color="#4C72B0")
        ax.set_xscale("log")
        for edge in BIN_EDGES:
            ax.axvline(edge + 0.5, color="#C44E52", ls="--", lw=1)
        per_bin = dataset.terms["bin"].value_counts()
        text = "\n".join(f"{b}: {int(per_bin.get(b, 0))}" for b in BIN_LABELS)
        ax.text(0.98, 0.95, text, transform=ax.transAxes, ha="right", va="top", fontsize=8)
        ax.set_xlabel("genes annotated to the term (after propagation)")
        ax.set_ylabel("terms")
    fig.tight_layout()
    return fig


def sequence_lengths(datasets: Mapping[str, CuratedDataset]) -> Figure:
    """Protein length distribution by split (prospective targets included), one panel per dataset."""
    fig, panels = _panels(datasets, "protein lengths by split")
    for ax, dataset in panels:
        frame = pd.DataFrame({"length": dataset.genes["sequence"].str.len(), "split": dataset.genes["split"]})
        order = [split for split in ALL_SPLITS if split in set(frame["split"])]
        sns.histplot(data=frame, x="length", hue="split", hue_order=order, palette=SPLIT_COLOURS, bins=30,
                     log_scale=True, element="step", fill=False, stat="density", common_norm=False, ax=ax)
        ax.set_xlabel("protein length (residues)")
    fig.tight_layout()
    return fig


def labels_per_gene(datasets: Mapping[str, CuratedDataset]) -> Figure:
    """How many (propagated) terms each curated gene carries, one panel per dataset."""
    fig, panels = _panels(datasets, "labels per gene")
    for ax, dataset in panels:
        per_gene = np.diff(dataset.labels[dataset.curated_index()].indptr)
        sns.histplot(x=per_gene, bins=50, log_scale=True, ax=ax, color="#55A868")
        ax.axvline(np.median(per_gene), color="k", ls=":", lw=1, label=f"median {np.median(per_gene):.0f}")
        ax.legend()
        ax.set_xlabel("terms per gene")
        ax.set_ylabel("genes")
    fig.tight_layout()
    return fig


def term_depth(datasets: Mapping[str, CuratedDataset]) -> Figure:
    """Kept terms by ontology depth, stacked by frequency bin, one panel per dataset."""
    fig, panels = _panels(datasets, "term depth")
    for ax, dataset in panels:
        sns.histplot(data=dataset.terms, x="depth", hue="bin", hue_order=list(BIN_LABELS), multiple="stack",
                     discrete=True, ax=ax)
        ax.set_xlabel("depth (shortest path to the root)")
        ax.set_ylabel("terms")
    fig.tight_layout()
    return fig


def cooccurrence(dataset: CuratedDataset, top: int = 25) -> Figure:
    """Jaccard co-occurrence of the ``top`` most frequent terms below the shallowest kept level (the
    organ-system terms are carried by most genes and would only show the true-path rule)."""
    terms = dataset.terms
    deeper = terms["depth"] > terms["depth"].min()
    candidates = terms[deeper] if deeper.sum() >= 2 else terms
    chosen = candidates.sort_values("n_genes", ascending=False).head(top).index.to_numpy()
    sub = dataset.labels[dataset.curated_index()][:, chosen].astype(np.float32)
    inter = (sub.T @ sub).toarray()
    sizes = np.diag(inter)
    jaccard = inter / (sizes[:, None] + sizes[None, :] - inter)
    names = [n if len(n) <= 40 else n[:37] + "..." for n in terms.loc[chosen, "name"]]
    fig, ax = plt.subplots(figsize=(9, 8))
    sns.heatmap(pd.DataFrame(jaccard, index=names, columns=names), cmap="viridis", vmin=0, vmax=1, ax=ax,
                cbar_kws={"label": "Jaccard"}, xticklabels=True, yticklabels=True)
    ax.tick_params(labelsize=7)
    ax.set_title(f"{label(dataset)}: co-occurrence of the {len(chosen)} most frequent sub-system terms")
    fig.tight_layout()
    return fig


def exclusive_examples(dataset: CuratedDataset, per_rule: int = 2) -> pd.DataFrame:
    """A few exclusive pairs per rule, with how often both members occur together (should be rare)."""
    pairs = dataset.exclusive_pairs
    if pairs.empty:
        return pd.DataFrame(columns=["rule", "name_a", "name_b", "genes_a", "genes_b", "genes_both"])
    sample = pairs.groupby("rule", group_keys=False).head(per_rule).reset_index(drop=True)
    column = {t: j for j, t in enumerate(dataset.terms["term_id"])}
    csc = dataset.labels[dataset.curated_index()].tocsc()
    a = [set(csc[:, column[t]].indices) for t in sample["term_a"]]
    b = [set(csc[:, column[t]].indices) for t in sample["term_b"]]
    return sample.assign(
        genes_a=[len(x) for x in a], genes_b=[len(y) for y in b], genes_both=[len(x & y) for x, y in zip(a, b)]
    )[["rule", "term_a", "name_a", "term_b", "name_b", "genes_a", "genes_b", "genes_both"]]
