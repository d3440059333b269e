"""Figures for notebooks 05–06: training curves, sample grids, sweeps, the metrics comparison."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch


def _show(ax, image: torch.Tensor, title: str | None = None) -> None:
    ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def training_curves(history: pd.DataFrame, smooth: int = 20) -> plt.Figure:
    """Diffusion (ε-MSE) and alignment (InfoNCE) loss per step, one line per variant (rolling mean)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for variant, h in history.groupby("variant", sort=False):
        w = max(1, min(smooth, len(h) // 5))
        for ax, col in zip(axes, ("loss", "align_loss")):
            ax.plot(h["step"], h[col].rolling(w, min_periods=1).mean(), label=variant)
    axes[0].set(xlabel="step", ylabel="‖ε − ε_θ‖² (rolling mean)", title="diffusion loss")
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


def latitude_sweep(sweep) -> plt.Figure:
    """Top: truth and generated images per latitude; bottom: measured traits, truth vs generated."""
    s = len(sweep.generated)
    traits = list(dict.fromkeys(sweep.table["trait"]))
    fig = plt.figure(figsize=(max(8, 1.3 * s), 6))
    grid = fig.add_gridspec(3, max(s, len(traits)))
    lats = sorted(set(sweep.table["lat"]), key=list(sweep.table["lat"]).index)
    for i in range(s):
        _show(fig.add_subplot(grid[0, i]), sweep.truth[i], f"truth {lats[i]:.0f}°")
        _show(fig.add_subplot(grid[1, i]), sweep.generated[i], f"generated {lats[i]:.0f}°")
    per = max(1, max(s, len(traits)) // len(traits))
    for j, trait in enumerate(traits):
        ax = fig.add_subplot(grid[2, j * per : (j + 1) * per])
        t = sweep.table[sweep.table["trait"] == trait]
        ax.plot(t["lat"], t["truth"], "o-", label="simulator truth")
        ax.plot(t["lat"], t["generated"], "s--", label="generated")
        ax.set(xlabel="latitude", title=trait)
        if j == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
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


def metrics_bars(metrics: pd.DataFrame, k: int = 1) -> plt.Figure:
    """Our methods per split for the headline metrics at top-k."""
    sel = metrics[(metrics["k"] == k) & (
        ((metrics["metric"] != "success_rate") & (metrics["level"] == "specimen"))
        | ((metrics["metric"] == "success_rate") & (metrics["level"] == "genus")))]
    g = sns.catplot(data=sel, x="value", y="method", hue="split", col="metric", kind="bar",
                    sharex=False, height=3, aspect=1.1)
    g.figure.suptitle(f"top-{k}: CLIBD-like score, genus success rate, PES (specimen)", y=1.04)
    return g.figure
