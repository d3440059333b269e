"""What the generator does when one input moves: a latitude sweep and a barcode mutation sweep.

The latitude sweep compares traits measured from generated images (``PhenotypeSimulator.measure``)
with the same measurements on the simulator's ground-truth renders of that specimen at each latitude,
so the error says whether the model learned the simulator's environmental clines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from g2p.g2pdiff.pipeline import G2PDiffusionPipeline


@dataclass
class Sweep:
    table: pd.DataFrame  # long rows (one per setting × trait)
    truth: torch.Tensor | None  # [S, 3, H, W] ground-truth renders (latitude sweep) or None
    generated: torch.Tensor  # [S, 3, H, W] first sample per setting


def latitude_sweep(
    pipe: G2PDiffusionPipeline, simulator, record: pd.Series, latitudes: Sequence[float], *,
    num_images: int = 2, num_inference_steps: int = 20, guidance_scale: float = 2.0,
    alignment_scale: float = 1.0, seed: int = 0,
) -> Sweep:
    """Generate one specimen's barcode at each latitude; traits (mean over samples) vs the truth."""
    from g2p.g2pdiff.simulator import sweep_latitude

    swept = sweep_latitude(record, latitudes)
    truth = simulator.render(swept, pipe.image_size)
    images = pipe(
        [record["barcode"]] * len(swept), swept["lat"].tolist(), swept["lon"].tolist(),
        num_images_per_barcode=num_images, num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale, alignment_scale=alignment_scale,
        # one seed for every latitude, so only the latitude differs between rows
        generator=[torch.Generator().manual_seed(seed + j) for _ in range(len(swept)) for j in range(num_images)],
    ).images
    measured = simulator.measure(images).assign(setting=np.repeat(np.arange(len(swept)), num_images))
    gen = measured.groupby("setting").mean()
    true = simulator.measure(truth)
    rows = []
    for i, lat in enumerate(swept["lat"]):
        for trait in true.columns:
            rows.append({"lat": float(lat), "trait": trait, "truth": float(true[trait].iloc[i]),
                         "generated": float(gen[trait].iloc[i])})
    table = pd.DataFrame(rows)
    table["abs_error"] = (table["generated"] - table["truth"]).abs()
    first = images.reshape(len(swept), num_images, *images.shape[1:])[:, 0]
    return Sweep(table, truth, first)


def mutate(barcode: str, n: int, seed: int = 0) -> str:
    """``barcode`` with ``n`` distinct positions changed to a different base (seeded)."""
    if n > len(barcode):
        raise ValueError(f"cannot mutate {n} positions of a {len(barcode)} bp barcode")
    rng = np.random.default_rng(seed)
    seq = list(barcode)
    for pos in rng.choice(len(seq), size=n, replace=False):
        seq[pos] = rng.choice([b for b in "ACGT" if b != seq[pos]])
    return "".join(seq)


def mutation_sweep(
    pipe: G2PDiffusionPipeline, record: pd.Series, n_mutations: Sequence[int] = (0, 5, 20, 80, 200), *,
    num_inference_steps: int = 20, guidance_scale: float = 2.0, alignment_scale: float = 1.0, seed: int = 0,
) -> Sweep:
    """Edit n bases of one barcode and regenerate with the same noise; distance to the unedited image."""
    barcodes = [mutate(record["barcode"], n, seed) for n in n_mutations]
    images = pipe(
        barcodes, [record["lat"]] * len(barcodes), [record["lon"]] * len(barcodes),
        num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
        alignment_scale=alignment_scale,
        generator=[torch.Generator().manual_seed(seed) for _ in barcodes],
    ).images
    distance = (images - images[0:1]).pow(2).mean(dim=(1, 2, 3)).sqrt()
    table = pd.DataFrame({"n_mutations": list(n_mutations), "rms_pixel_change": distance.numpy()})
    return Sweep(table, None, images)
