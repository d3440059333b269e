"""Many GenePheno training runs: the complete model on each dataset × seed, in parallel processes on a CPU.

:func:`train_datasets` is what notebook 02 calls; :func:`train_many` runs any list of :class:`TrainJob`
(the benchmark's variants too); :func:`summary_table` is one row per finished run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from g2p import paths
from g2p.data import curated
from g2p.genepheno.train import TrainConfig, TrainResult, train


def variant_dir(preset: str, dataset_name: str, variant: str, seed: int = 0) -> Path:
    """``runs/<preset>/genepheno/<dataset>/<variant>/seed<k>``: one training run of the benchmark."""
    return paths.run_dir(preset, f"genepheno/{dataset_name}/{variant}/seed{seed}")


def complete_run_dir(preset: str, dataset_name: str, seed: int = 0) -> Path:
    """The ``complete`` model's run: notebook 02 trains it, notebook 03 reuses it."""
    return variant_dir(preset, dataset_name, "complete", seed)


@dataclass(frozen=True)
class TrainJob:
    """One training run: a curated dataset (by name), its settings and its run folder."""

    dataset: str
    config: TrainConfig
    output_dir: Path


def run_job(job: TrainJob) -> TrainResult:
    """Train (or reuse) one job's run; a worker process's entry point."""
    result = train(load_cached(job.dataset), job.config, job.output_dir)
    if not result.finished:
        raise RuntimeError(f"training {job.output_dir} stopped before finishing")
    return result


_DATASETS: dict[str, object] = {}


def load_cached(name: str):
    """The curated dataset ``name``, kept while the process works on it (one dataset at a time)."""
    if name not in _DATASETS:
        _DATASETS.clear()
        _DATASETS[name] = curated.load(name)
    return _DATASETS[name]


def train_many(jobs: list[TrainJob], workers: int = 1) -> list[TrainResult]:
    """Run (or reuse) every job, in order. With ``workers`` > 1 on a CPU, jobs run in that many
    processes at once, each on one thread (small models use two cores better as two runs than as one
    run on two threads); each process encodes a dataset once for all its jobs. Every run is the same
    as it would be alone: its result depends only on its own config and seed. On CUDA one process."""
    if workers <= 1 or len(jobs) <= 1 or torch.cuda.is_available():
        return [run_job(job) for job in jobs]
    quiet = [dataclasses.replace(job, config=dataclasses.replace(job.config, progress=False, cpu_threads=1))
             for job in jobs]
    # Jobs of one dataset are adjacent, so each worker tends to keep one dataset's encoding.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(run_job, quiet))
    # The runs are finished on disk now: train() returns each one at once (and in this process).
    return [run_job(job) for job in jobs]


def train_datasets(names: list[str], preset: str, config: TrainConfig,
                   seeds: list[int] | tuple[int, ...] = (0,), workers: int = 1) -> dict[tuple[str, int], TrainResult]:
    """Train (or reuse) the complete model on each curated dataset with each seed, into
    ``complete_run_dir``; keys are (dataset, seed). ``workers``: see :func:`train_many`."""
    keys = [(name, int(seed)) for name in names for seed in seeds]
    jobs = [TrainJob(name, dataclasses.replace(config, seed=seed), complete_run_dir(preset, name, seed))
            for name, seed in keys]
    return dict(zip(keys, train_many(jobs, workers)))


def summary_table(results: dict[tuple[str, int], TrainResult]) -> pd.DataFrame:
    """One row per (dataset, seed): best val Fmax and epoch, epochs run, training time, throughput."""
    rows = []
    for (name, seed), result in results.items():
        history = result.history
        best = history.loc[history["val_fmax"].idxmax()]
        rows.append({
            "dataset": name,
            "seed": seed,
            "best_val_fmax": result.best_val_fmax,
            "best_epoch": int(best["epoch"]),
            "epochs_run": len(history),
            "train_time_s": float(history["epoch_seconds"].sum()),
            "wall_time_s": float(result.extra.get("wall_time_s", result.wall_time_s)),
            "train_genes_per_s": float(history["train_genes_per_s"].median()),
            "notes": "; ".join(result.extra.get("notes") or []),
        })
    return pd.DataFrame(rows)


def summary_markdown(summary: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """A Markdown list, one line per dataset of :func:`summary_table`: mean and sd of the best validation
    Fmax over seeds, the training time of all seeds, and any note the runs left (no exclusive pairs …).
    ``labels`` maps curated names to how the book writes them (default: upper case)."""
    lines = []
    for name, rows in summary.groupby("dataset", sort=False):
        label = (labels or {}).get(name, name.upper())
        sd = f" (sd {rows['best_val_fmax'].std(ddof=1):.3f})" if len(rows) > 1 else ""
        notes = sorted({note for text in rows.get("notes", pd.Series(dtype=str)).fillna("") for note in text.split("; ") if note})
        lines.append(f"- **{label}**: validation Fmax {rows['best_val_fmax'].mean():.3f}{sd} over {len(rows)} "
                     f"seed{'s' if len(rows) != 1 else ''}; training took {rows['wall_time_s'].sum():.0f} s in all"
                     + "".join(f". Note: {note}" for note in notes) + ".")
    return "\n".join(lines)
