"""Training curves for GenePheno runs: training loss (and its parts) and validation Fmax per epoch."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns


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
