"""The training set of a G2PDiffusion run: training rows, environment-augmented copies, cached latents.

Latitude and species are confounded in the real records (each species is collected within a few
degrees), so a model can use location as a proxy for taxon.  ``env_augment`` adds, per training
specimen, that many renders of the same specimen at random latitudes (the simulator can place any
specimen anywhere), so that the environment's effect is seen apart from the taxon's; ``env_resample``
moves a fraction of the specimens themselves.  Only training rows are augmented; validation and test
keep their real coordinates.

With ``data: bioscan5m`` the training set is the real photos themselves (:mod:`g2p.data.bioscan5m`),
with no augmentation: a photo cannot be retaken at another latitude.

Each table's renders (or photos) are encoded once by the frozen TAESD autoencoder; the latents are
stored under a key of what they were built from (:func:`g2p.artifacts.key_of`: the records' fingerprint, image size,
simulator seed), so a rerun on the same data reuses them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from diffusers import AutoencoderTiny

from g2p import atomic
from g2p.artifacts import key_of, keyed_file
from g2p.g2pdiff.latents import encode_images
from g2p.g2pdiff.simulator import PhenotypeSimulator, records_fingerprint

if TYPE_CHECKING:
    from g2p.g2pdiff.config import DiffusionTrainConfig


def training_rows(records: pd.DataFrame) -> pd.DataFrame:
    """The ``split == "train"`` rows (all rows when there is no split), checked for what training needs."""
    required = {"processid", "barcode", "lat", "lon"}
    missing = required - set(records.columns)
    if missing:
        raise ValueError(f"records lack columns: {', '.join(sorted(missing))}")
    if "split" in records.columns:
        records = records[records["split"] == "train"]
    if len(records) < 2:
        raise ValueError("need at least 2 training records (InfoNCE uses in-batch negatives)")
    return records.reset_index(drop=True)


def _random_coordinates(records: pd.DataFrame, rows: np.ndarray, max_lat: float, rng: np.random.Generator) -> pd.DataFrame:
    out = records.copy()
    out["lat"] = out["lat"].astype(float)
    out["lon"] = out["lon"].astype(float)
    lat = out["lat"].to_numpy(copy=True)
    lon = out["lon"].to_numpy(copy=True)
    new_lat = rng.uniform(-max_lat, max_lat, len(out))
    new_lon = rng.uniform(-180, 180, len(out))
    lat[rows] = new_lat[rows]
    lon[rows] = np.where(np.isnan(lon[rows]), new_lon[rows], lon[rows])  # recorded longitude kept
    out["lat"], out["lon"] = lat, lon
    if "has_coords" in out.columns:
        out.loc[rows, "has_coords"] = True
    return out


def augment_environment(records: pd.DataFrame, copies: int, max_lat: float, seed: int,
                        resample: float = 0.0) -> list[pd.DataFrame]:
    """The training tables: the specimens themselves, a ``resample`` fraction of them moved to a
    random latitude (uniform in ±``max_lat``), then ``copies`` tables of all specimens at random
    latitudes.  Longitude is kept where recorded and drawn uniformly where missing.  Each table
    depends only on (seed, its index) and the records, so its renders and latents can be cached.
    """
    rng = np.random.default_rng([seed, 7919, 0])
    moved = np.flatnonzero(rng.random(len(records)) < resample)
    tables = [_random_coordinates(records, moved, max_lat, rng) if len(moved) else records]
    everyone = np.arange(len(records))
    for c in range(1, copies + 1):
        tables.append(_random_coordinates(records, everyone, max_lat, np.random.default_rng([seed, 7919, c])))
    return tables


def training_latents(
    records: pd.DataFrame, config: DiffusionTrainConfig, cache_dir: Path, vae: AutoencoderTiny,
    images: torch.Tensor | None = None,
) -> torch.Tensor:
    """TAESD latents of these specimens, cached on disk as ``<cache_dir>/latents_<key>.pt``: of the given
    ``images``, else of the simulator's renders (at the records' coordinates) or, with ``data:
    bioscan5m``, of the real photos (read and encoded batch by batch, so the photos are never all in
    memory at once)."""
    real = images is None and config.data == "bioscan5m"
    key = key_of(records_fingerprint(records) + f"|{config.image_size}|{config.simulator_seed}"
                 + ("|given" if images is not None else "") + ("|bioscan5m" if real else ""))
    target = keyed_file(cache_dir, "latents", key, ".pt")
    if target.exists():
        return torch.load(target)
    if real:
        from g2p.data.bioscan5m import Bioscan5M

        batches = Bioscan5M(config.bioscan5m_root).batches(records, config.image_size)
        latents = torch.cat([encode_images(vae, batch.float().div_(255.0)) for batch in batches])
        with atomic.open_for_write(target) as tmp:
            torch.save(latents, tmp)
        return latents
    if images is None:
        simulator = PhenotypeSimulator(seed=config.simulator_seed)
        images = torch.cat([simulator.render(records.iloc[i : i + 256], config.image_size, cache=False)
                            for i in range(0, len(records), 256)])
    if images.shape[0] != len(records):
        raise ValueError(f"got {images.shape[0]} images for {len(records)} records")
    latents = encode_images(vae, images)
    with atomic.open_for_write(target) as tmp:
        torch.save(latents, tmp)
    return latents
