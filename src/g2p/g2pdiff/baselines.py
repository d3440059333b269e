"""The baseline methods G2PDiffusion is compared with; each returns samples ``[N, k, 3, H, W]`` in [0, 1].

* ``retrieval``: the training images of the k training barcodes nearest by k-mer profile cosine.
* ``random``: k random training images.
* The ablations, sampled from the trained network with a changed input or guidance:
  ``unconditional`` (null barcode, no environment: ``guidance_scale = 0``), ``no_environment``
  (classifier-free guidance with the coordinates left out, the input condition dropout trained) and
  ``no_alignment`` (``alignment_scale = 0``); ``no_cfg`` (plain conditional sampling, classifier-free
  guidance off: ``guidance_scale = 1``, alignment guidance as set) and ``no_cfg_no_alignment`` (both
  off), the other two cells of the guidance 2×2.

:mod:`g2p.g2pdiff.benchmark` runs these beside the full model and scores them all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from g2p.g2pdiff.conditioner import KmerTokenizer
from g2p.g2pdiff.pipeline import G2PDiffusionPipeline, SamplingSettings, generate_samples


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


def unconditional_samples(pipe: G2PDiffusionPipeline, records: pd.DataFrame, settings: SamplingSettings,
                          num_images: int | None = None) -> torch.Tensor:
    """The network with the null barcode and no environment (``guidance_scale = 0``, no alignment)."""
    return generate_samples(pipe, records, settings, guidance_scale=0.0, alignment_scale=0.0, num_images=num_images)


def no_environment_samples(pipe: G2PDiffusionPipeline, records: pd.DataFrame, settings: SamplingSettings,
                           num_images: int | None = None) -> torch.Tensor:
    """The network guided without coordinates (the "no environment" input condition dropout trained)."""
    return generate_samples(pipe, records, settings, use_environment=False, num_images=num_images)


def no_alignment_samples(pipe: G2PDiffusionPipeline, records: pd.DataFrame, settings: SamplingSettings,
                         num_images: int | None = None) -> torch.Tensor:
    """The network with alignment guidance switched off (``alignment_scale = 0``)."""
    return generate_samples(pipe, records, settings, alignment_scale=0.0, num_images=num_images)


def no_cfg_samples(pipe: G2PDiffusionPipeline, records: pd.DataFrame, settings: SamplingSettings,
                   num_images: int | None = None, alignment: bool = True) -> torch.Tensor:
    """Plain conditional sampling (classifier-free guidance off, ``guidance_scale = 1``), with the
    settings' alignment guidance (``alignment``) or without it."""
    return generate_samples(pipe, records, settings, guidance_scale=1.0,
                            alignment_scale=None if alignment else 0.0, num_images=num_images)
