"""Figures for notebooks 05–06: training curves, sample grids, sweeps, the metrics comparison."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import torch

from g2p.g2pdiff.benchmark import COLUMNS


def _show(ax, image: torch.Tensor, title: str | None = None) -> None:
    ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def training_curves(history: pd.DataFrame, smooth: int = 20) -> plt.Figure:
    """Diffusion loss (MSE to the ε or v target) and alignment InfoNCE per step, one line per variant
    (rolling mean); the diffusion loss on a log axis (it falls by an order of magnitude)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for variant, h in history.groupby("variant", sort=False):
        w = max(1, min(smooth, len(h) // 5))
        for ax, col in zip(axes, ("loss", "align_loss")):
            ax.plot(h["step"], h[col].rolling(w, min_periods=1).mean(), label=variant)
    axes[0].set(xlabel="step", ylabel="MSE to the target (rolling mean)", title="diffusion loss", yscale="log")
    axes[1].set(xlabel="step", ylabel="InfoNCE", title="gene–image alignment loss")
    axes[0].legend()
    fig.tight_layout()
    return fig


def sample_grid(
    truth: torch.Tensor, samples: dict[str, torch.Tensor], labels: Sequence[str], max_rows: int = 6
) -> plt.Figure:
    """Rows = specimens; first column the ground truth, then the first sample of each method."""
    n = min(max_rows, len(truth))
    cols = 1 + len(samples)
    fig, axes = plt.subplots(n, cols, figsize=(1.4 * cols, 1.4 * n), squeeze=False)
    for i in range(n):
        _show(axes[i, 0], truth[i], "truth" if i == 0 else None)
        axes[i, 0].set_ylabel(labels[i], fontsize=6, rotation=0, ha="right", va="center")
        for j, (method, x) in enumerate(samples.items(), start=1):
            _show(axes[i, j], x[i, 0], method if i == 0 else None)
    fig.tight_layout()
    return fig


def samples_per_barcode(truth: torch.Tensor, samples: torch.Tensor, labels: Sequence[str], max_rows: int = 4) -> plt.Figure:
    """Rows = specimens: the truth then all k samples of one method (diversity at a fixed barcode)."""
    n, k = min(max_rows, len(truth)), samples.shape[1]
    fig, axes = plt.subplots(n, k + 1, figsize=(1.4 * (k + 1), 1.4 * n), squeeze=False)
    for i in range(n):
        _show(axes[i, 0], truth[i], "truth" if i == 0 else None)
        axes[i, 0].set_ylabel(labels[i], fontsize=6, rotation=0, ha="right", va="center")
        for j in range(k):
            _show(axes[i, j + 1], samples[i, j], f"sample {j + 1}" if i == 0 else None)
    fig.tight_layout()
    return fig


TRAIT_LABELS = {"area_fraction": "body size (foreground area)", "length": "body length (fraction of height)",
                "darkness": "pigmentation (darkness)"}


def latitude_sweep(sweep, max_records: int = 4) -> plt.Figure:
    """Per record two image rows (simulator truth, generated) across latitudes; below, each measured
    trait against latitude: truth solid, generated dashed, one colour per record. The first
    ``max_records`` records are drawn; the MAE and ρ in the titles are over all of them."""
    n_rec, s = min(max_records, sweep.generated.shape[0]), sweep.generated.shape[1]
    traits = list(dict.fromkeys(sweep.table["trait"]))
    lats = sorted(set(sweep.table["lat"]))
    # sizes in inches: square image cells (so the thumbnails fill them) after a margin for the names,
    # then the trait curves, at least 9.5 inches wide whatever the number of latitudes
    cell, margin, curves_height, legend = 0.95, 1.8, 3.0, 0.5
    width = max(margin + cell * s + 0.1, 9.5)
    image_height = cell * 2 * n_rec
    height = 0.3 + image_height + 1.1 + curves_height + legend
    fig = plt.figure(figsize=(width, height))
    images = fig.add_gridspec(2 * n_rec, s, left=margin / width, right=(margin + cell * s) / width,
                              top=1 - 0.3 / height, bottom=1 - (0.3 + image_height) / height, hspace=0.06, wspace=0.04)
    labels = sweep.labels or [f"record {r}" for r in range(n_rec)]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for r in range(n_rec):
        for i in range(s):
            top = fig.add_subplot(images[2 * r, i])
            _show(top, sweep.truth[r, i], f"{lats[i]:.0f}°" if r == 0 else None)
            bottom = fig.add_subplot(images[2 * r + 1, i])
            _show(bottom, sweep.generated[r, i])
            if i == 0:
                top.set_ylabel("truth", fontsize=7, rotation=0, ha="right", va="center")
                bottom.set_ylabel("generated", fontsize=7, rotation=0, ha="right", va="center")
                top.text(-0.75, 0.0, labels[r], transform=top.transAxes, fontsize=8, style="italic",
                         color=colours[r % len(colours)], ha="right", va="center", wrap=True)
    curves = fig.add_gridspec(1, len(traits), left=0.07, right=0.98, top=(legend + curves_height) / height,
                              bottom=(legend + 0.45) / height, wspace=0.3)
    for j, trait in enumerate(traits):
        ax = fig.add_subplot(curves[0, j])
        for r in range(n_rec):
            t = sweep.table[(sweep.table["trait"] == trait) & (sweep.table["record"] == r)]
            colour = colours[r % len(colours)]
            ax.plot(t["lat"], t["truth"], "o-", color=colour, label=f"truth: {labels[r]}")
            ax.plot(t["lat"], t["generated"], "s--", color=colour, alpha=0.8, label="generated")
        title = TRAIT_LABELS.get(trait, trait)
        if sweep.summary is not None and trait in sweep.summary.index:
            row = sweep.summary.loc[trait]
            title += (f"\nMAE {row['mae']:.3f}, mean ρ {row['rank_corr']:.2f}"
                      f"\n(autoencoder alone: MAE {row['autoencoder_mae']:.3f})")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("latitude (°)", fontsize=8)
        ax.tick_params(labelsize=7)
    # colours name the specimens (as on the left); line styles tell truth from generated
    styles = [plt.Line2D([], [], color="0.3", marker="o", linestyle="-", label="truth (simulator)"),
              plt.Line2D([], [], color="0.3", marker="s", linestyle="--", label="generated (mean of the samples)")]
    fig.legend(handles=styles, loc="lower center", ncol=2, fontsize=7, frameon=False)
    return fig


def mutation_sweep(sweep) -> plt.Figure:
    n = len(sweep.generated)
    fig, axes = plt.subplots(1, n + 1, figsize=(1.6 * (n + 1), 2), gridspec_kw={"width_ratios": [1] * n + [2]})
    for i in range(n):
        row = sweep.table.iloc[i]
        _show(axes[i], sweep.generated[i], f"{int(row['n_mutations'])} edits")
    axes[-1].plot(sweep.table["n_mutations"], sweep.table["rms_pixel_change"], "o-")
    axes[-1].set(xlabel="bases edited", ylabel="RMS pixel change")
    fig.tight_layout()
    return fig


METRIC_TITLES = {
    "success_rate": "success rate (paper: score ≥ τ)",
    "genus_hit": "success: genus classifier hit (ours)",
    "species_hit": "success: species classifier hit (ours)",
    "pes": "PES (specimen)",
}


def metrics_bars(metrics: pd.DataFrame, k: int = 1) -> plt.Figure:
    """Every method per split at top-k, one panel per headline metric, with 95 % bootstrap intervals."""
    sel = metrics[metrics["k"] == k].copy()
    sel["stem"] = [COLUMNS.get((m, lv)) for m, lv in zip(sel["metric"], sel["level"])]
    stems = [st for st in METRIC_TITLES if st in set(sel["stem"])]
    methods = list(dict.fromkeys(sel["method"]))
    splits = list(dict.fromkeys(sel["split"]))
    fig, axes = plt.subplots(1, len(stems), figsize=(3.2 * len(stems), 0.45 * len(methods) * len(splits) + 1.2),
                             sharey=True, squeeze=False)
    height = 0.8 / len(splits)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, stem in zip(axes[0], stems):
        for j, split in enumerate(splits):
            rows = sel[(sel["stem"] == stem) & (sel["split"] == split)].set_index("method").reindex(methods)
            y = [i + j * height for i in range(len(methods))]
            err = [rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]]
            ax.barh(y, rows["value"], height=height, xerr=err, color=colours[j % len(colours)], label=split,
                    error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_title(METRIC_TITLES[stem], fontsize=8)
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(methods))], methods)
        ax.invert_yaxis()
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"top-{k}, 95 % bootstrap intervals over test specimens", fontsize=9)
    fig.tight_layout()
    return fig
