"""Baselines and the method comparison: every method's samples scored by the independent evaluators.

Methods (samples ``[N, k, 3, H, W]`` in [0, 1] for N test specimens):

* ``g2pdiffusion``: the full model (DNA + environment, CFG, alignment guidance).
* ``no_alignment``: the full model with ``alignment_scale = 0``.
* ``no_environment``: the model trained without the environment input.
* ``unconditional``: the full model sampled with the null context only (``guidance_scale = 0``); condition
  dropout trained that context, so no separate p_uncond = 1 model is needed.
* ``retrieval``: the training images of the k training barcodes nearest by k-mer profile cosine.
* ``random``: k random training images.

Scores come from :mod:`g2p.g2pdiff.evaluate` (never from the generator's own alignment model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from g2p import atomic
from g2p.g2pdiff.conditioner import KmerTokenizer
from g2p.g2pdiff.pipeline import G2PDiffusionPipeline

PAPER_LABEL = "paper (BIOSCAN-5M, different dataset)"
METHODS = ("g2pdiffusion", "no_alignment", "no_environment", "unconditional", "retrieval", "random")


@dataclass
class SamplingSettings:
    num_images: int = 4
    num_inference_steps: int = 20
    guidance_scale: float = 2.0
    alignment_scale: float = 1.0
    batch_size: int = 16
    seed: int = 0


def generate_samples(
    pipe: G2PDiffusionPipeline, records: pd.DataFrame, settings: SamplingSettings, *,
    guidance_scale: float | None = None, alignment_scale: float | None = None, progress: bool = False,
) -> torch.Tensor:
    """``[N, k, 3, H, W]`` samples for each record's barcode and coordinates (seeded per batch)."""
    gs = settings.guidance_scale if guidance_scale is None else guidance_scale
    al = settings.alignment_scale if alignment_scale is None else alignment_scale
    out = []
    starts = range(0, len(records), settings.batch_size)
    for start in tqdm(starts, disable=not progress, desc="sampling"):
        batch = records.iloc[start : start + settings.batch_size]
        images = pipe(
            batch["barcode"].tolist(), batch["lat"].tolist(), batch["lon"].tolist(),
            num_images_per_barcode=settings.num_images, guidance_scale=gs, alignment_scale=al,
            num_inference_steps=settings.num_inference_steps,
            generator=torch.Generator(pipe.unet.device).manual_seed(settings.seed + start),
        ).images
        out.append(images.reshape(len(batch), settings.num_images, *images.shape[1:]))
    return torch.cat(out)


def random_samples(train_images: torch.Tensor, n: int, k: int, seed: int = 0) -> torch.Tensor:
    """k random training images per query (the paper's "random" row)."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(train_images), (n, k), generator=gen)
    return train_images[idx]


def nearest_barcodes(train_barcodes: list[str], query_barcodes: list[str], k: int, kmer: int = 4) -> np.ndarray:
    """Indices ``[N, k]`` of the training barcodes most similar by k-mer profile cosine (best first)."""
    tok = KmerTokenizer(k=kmer, max_bp=10_000)
    train = tok.kmer_profile(train_barcodes)
    query = tok.kmer_profile(query_barcodes)
    train /= np.linalg.norm(train, axis=1, keepdims=True).clip(min=1e-9)
    query /= np.linalg.norm(query, axis=1, keepdims=True).clip(min=1e-9)
    sim = query @ train.T
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]


def retrieval_samples(train_records: pd.DataFrame, train_images: torch.Tensor, records: pd.DataFrame, k: int) -> torch.Tensor:
    """The training images of the k nearest training barcodes (nearest-barcode retrieval baseline)."""
    idx = nearest_barcodes(train_records["barcode"].tolist(), records["barcode"].tolist(), k)
    return train_images[torch.from_numpy(idx)]


def method_samplers(
    pipelines: dict[str, G2PDiffusionPipeline], train_records: pd.DataFrame, train_images: torch.Tensor,
    settings: SamplingSettings,
) -> dict[str, Callable[[pd.DataFrame], torch.Tensor]]:
    """One function per method: test records → samples ``[N, k, 3, H, W]``."""
    full, k = pipelines["full"], settings.num_images
    samplers: dict[str, Callable[[pd.DataFrame], torch.Tensor]] = {
        "g2pdiffusion": lambda r: generate_samples(full, r, settings),
        "no_alignment": lambda r: generate_samples(full, r, settings, alignment_scale=0.0),
        "unconditional": lambda r: generate_samples(full, r, settings, guidance_scale=0.0, alignment_scale=0.0),
        "retrieval": lambda r: retrieval_samples(train_records, train_images, r, k),
        "random": lambda r: random_samples(train_images, len(r), k, settings.seed),
    }
    if "no_env" in pipelines:
        samplers["no_environment"] = lambda r: generate_samples(pipelines["no_env"], r, settings)
    return {m: samplers[m] for m in METHODS if m in samplers}


def compare_methods(
    evaluators, samplers: dict[str, Callable[[pd.DataFrame], torch.Tensor]], test_sets: dict[str, pd.DataFrame],
    truth: dict[str, torch.Tensor], ks: tuple[int, ...] = (1, 5), output: Path | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[tuple[str, str], torch.Tensor]]:
    """Score every method on every test split; long table ``method, split, metric, level, k, value, n``.

    Returns the table (also written to ``output`` as CSV when given) and the samples per (method, split).
    """
    from g2p.g2pdiff.evaluate import evaluate_samples

    frames, samples = [], {}
    jobs = [(m, s) for s in test_sets for m in samplers]
    for method, split in tqdm(jobs, disable=not progress, desc="methods"):
        recs = test_sets[split]
        if len(recs) == 0:
            continue
        x = samplers[method](recs)
        samples[(method, split)] = x
        table = evaluate_samples(evaluators, recs, x, truth[split], ks=ks)
        frames.append(table.assign(method=method, split=split))
    metrics = pd.concat(frames, ignore_index=True)[["method", "split", "metric", "level", "k", "value", "n"]]
    if output is not None:
        atomic.write_text(Path(output), metrics.to_csv(index=False))
    return metrics, samples


def published_metrics() -> pd.DataFrame:
    """The paper's seen-set numbers (``/work/shared/papers/g2pdiffusion.md``), as fractions.

    The paper's success rate thresholds a DNA–image score; ours counts taxon-classifier hits, so the
    rows are listed for orientation only (different dataset, different metric implementations).
    """
    rows = [
        ("random", "clibd_score", 1, 0.005), ("random", "success_rate", 1, 0.044),
        ("DF-GAN", "clibd_score", 1, 0.054), ("DF-GAN", "clibd_score", 5, 0.154),
        ("DF-GAN", "success_rate", 1, 0.056), ("DF-GAN", "success_rate", 5, 0.187),
        ("DF-GAN", "pes", 1, 0.021), ("DF-GAN", "pes", 5, 0.134),
        ("Stable Diffusion", "clibd_score", 1, 0.100), ("Stable Diffusion", "clibd_score", 5, 0.219),
        ("Stable Diffusion", "success_rate", 1, 0.115), ("Stable Diffusion", "success_rate", 5, 0.366),
        ("Stable Diffusion", "pes", 1, 0.062), ("Stable Diffusion", "pes", 5, 0.207),
        ("ControlNet", "clibd_score", 1, 0.107), ("ControlNet", "clibd_score", 5, 0.228),
        ("ControlNet", "success_rate", 1, 0.124), ("ControlNet", "success_rate", 5, 0.391),
        ("ControlNet", "pes", 1, 0.061), ("ControlNet", "pes", 5, 0.212),
        ("G2PDiffusion", "clibd_score", 1, 0.182), ("G2PDiffusion", "clibd_score", 5, 0.302),
        ("G2PDiffusion", "success_rate", 1, 0.317), ("G2PDiffusion", "success_rate", 5, 0.658),
        ("G2PDiffusion", "pes", 1, 0.152), ("G2PDiffusion", "pes", 5, 0.291),
    ]
    return pd.DataFrame(rows, columns=["method", "metric", "k", "value"]).assign(split="seen", source=PAPER_LABEL)


def comparison_table(metrics: pd.DataFrame, ks: tuple[int, ...] = (1, 5)) -> pd.DataFrame:
    """Wide table: one row per (source, split, method); columns ``metric@k`` — ours beside the paper's.

    Our rows use level ``specimen`` for clibd_score and pes, ``species`` for success_rate on seen
    species and ``genus`` on unseen species (the classifier cannot know an unseen species).
    """
    ours = metrics[metrics["k"].isin(ks)].copy()
    keep = (
        ((ours["metric"] == "clibd_score") | (ours["metric"] == "pes")) & (ours["level"] == "specimen")
    ) | (
        (ours["metric"] == "success_rate")
        & (((ours["split"] == "test_unseen") & (ours["level"] == "genus"))
           | ((ours["split"] != "test_unseen") & (ours["level"] == "species")))
    )
    ours = ours[keep].assign(source="ours (simulated BOLD specimens)")
    paper = published_metrics()
    paper = paper[paper["k"].isin(ks)]
    both = pd.concat([ours, paper], ignore_index=True)
    both["column"] = both["metric"] + "@" + both["k"].astype(str)
    wide = both.pivot_table(index=["source", "split", "method"], columns="column", values="value", sort=False)
    return wide.reset_index()


def headline_metrics(metrics: pd.DataFrame) -> dict[str, float]:
    """Flat ``g2pdiff_<split>_<method>_<metric>_k<k>`` numbers for glueing (specimen CLIBD and PES,
    genus success rate)."""
    sel = metrics[((metrics["metric"] != "success_rate") & (metrics["level"] == "specimen"))
                  | ((metrics["metric"] == "success_rate") & (metrics["level"] == "genus"))]
    return {f"g2pdiff_{r.split}_{r.method}_{r.metric}_k{r.k}": float(r.value) for r in sel.itertuples()}
