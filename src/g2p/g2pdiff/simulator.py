r"""A documented phenotype simulator: real barcode records in, simulated specimen images out.

Why a simulator
---------------
G2PDiffusion learns to draw an organism from its DNA barcode and where it was collected.  Specimen
photos paired with their own barcodes (BIOSCAN-5M) cannot be obtained offline, so this project pairs
**real** records with **simulated** images:

* **Real**: the COI-5P barcodes, the full taxonomy (order → family → genus → species) and the
  collection latitude/longitude of 33,910 BOLD insect specimens (:mod:`g2p.g2pdiff.datasets`).
* **Simulated**: every pixel.  The taxonomy is used *only here*, to make related specimens look
  alike; the generative model never sees it, only the DNA and the coordinates.  Because real
  barcodes carry the real phylogenetic signal, a model that reads DNA well can recover the traits
  that the simulator attached to each lineage.

Traits
------
Each specimen gets the traits in :data:`TRAIT_NAMES`: body length (fraction of the image height),
body width (ratio to length), head size (ratio to body width), wing span (fraction of the image
width), wing shape (0 narrow and pointed … 1 broad), base colour as HSV (hue, saturation, value),
pattern type (0 none, 1 spots, 2 bands), pattern density and pattern hue shift, leg length and
antenna length (ratios to body length).  For a continuous trait :math:`j` and a specimen :math:`i`
of order :math:`o`, family :math:`f`, genus :math:`g`, species :math:`s`:

.. math::

   t_{ij} = \mu_{o j} + s_j \,\bigl(1.0\, z^{f}_{j} + 0.6\, z^{g}_{j} + 0.35\, z^{s}_{j}
            + 0.12\, \rho_j\, z^{i}_{j}\bigr) + \text{env}_j(\beta_i, \lambda_i)

where :math:`\mu_o` is the order's body plan (:data:`ORDER_PLANS`), :math:`s_j` the trait's spread
(:data:`TRAIT_SPREAD`), and each :math:`z \sim N(0, 1)` is drawn from a generator seeded by
``(seed, level, taxon name)`` (BLAKE2b hash), so every member of a taxon shares its offset and the
variance shrinks from family to species.  The individual term is seeded by ``processid``
(:math:`\rho_j` = 0 for the pattern logits, so pattern type is fixed per species).  Pattern type is
the argmax of three inherited logits.  Hue wraps modulo 1; other traits are clipped to
:data:`TRAIT_BOUNDS`.  A missing rank (BIOSCAN-5M leaves some unassigned) contributes no offset.

Environment (real coordinates, latitude :math:`\beta`, longitude :math:`\lambda` in degrees), with
:math:`a = (|\beta| - 40) / 50`:

* Bergmann-like size cline: body length and wing span × :math:`(1 + 0.25\,a)` (≈ 0.8 at the
  equator, 1.0 at 40°, ≈ 1.2 at 80°);
* thermal melanism: value (lightness) :math:`- 0.25\,a` (darker at high latitude);
* a longitude effect on colour: hue :math:`+ 0.04 \sin\lambda`.

Records without coordinates get the reference point :math:`\beta = 40°, \lambda = 0°`, where all
three effects are zero.

Drawing (:mod:`g2p.g2pdiff.drawing`)
------------------------------------
Dorsal view, head up, centred, on a plain light background, the same pixel scale for every
specimen (so size differences are visible), drawn with PIL polygons/ellipses on a canvas 4× (2× for
images above 96 px) the output size and box-downsampled (antialiasing).  Body plans:
Lepidoptera: slim body, two pairs of broad coloured wings carrying the pattern, clubbed antennae;
Coleoptera: hard oval elytra with a suture line carrying the pattern, pronotum, six legs;
Hymenoptera: round head, thorax, narrow waist (petiole), gaster with the pattern, two pairs of clear
wings; Diptera: large round head with big eyes, one pair of clear wings, short antennae.  Other orders
use a generic plan (oval body, no wings).  :meth:`PhenotypeSimulator.measure` estimates body size
(foreground area) and pigmentation (darkness of the foreground) back from pixels; clear wings are
lighter than the foreground threshold, so they do not count towards size.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from g2p import atomic, paths
from g2p.artifacts import key_of, keyed_file
from g2p.g2pdiff.drawing import draw_specimen

SIMULATOR_VERSION = "2"
TRAIT_NAMES: tuple[str, ...] = (
    "body_length",
    "body_width",
    "head_size",
    "wing_span",
    "wing_shape",
    "hue",
    "saturation",
    "value",
    "pattern_type",
    "pattern_density",
    "pattern_hue",
    "leg_length",
    "antenna_length",
)
PATTERN_TYPES: tuple[str, ...] = ("none", "spots", "bands")
REFERENCE_LAT, REFERENCE_LON = 40.0, 0.0
SIZE_CLINE, MELANISM, LON_HUE = 0.25, 0.25, 0.04

# The latent (inherited) traits: the continuous ones plus three pattern logits.
_LATENT: tuple[str, ...] = (
    "body_length", "body_width", "head_size", "wing_span", "wing_shape", "hue", "saturation",
    "value", "pattern_density", "pattern_hue", "leg_length", "antenna_length",
    "logit_none", "logit_spots", "logit_bands",
)
LEVEL_SIGMA: dict[str, float] = {"family": 1.0, "genus": 0.6, "species": 0.35, "individual": 0.12}
TRAIT_SPREAD: dict[str, float] = {
    "body_length": 0.06, "body_width": 0.07, "head_size": 0.10, "wing_span": 0.07,
    "wing_shape": 0.18, "hue": 0.14, "saturation": 0.14, "value": 0.12, "pattern_density": 0.25,
    "pattern_hue": 0.15, "leg_length": 0.08, "antenna_length": 0.10,
    "logit_none": 1.0, "logit_spots": 1.0, "logit_bands": 1.0,
}
_INDIVIDUAL_SCALE = {name: (0.0 if name.startswith("logit_") else 1.0) for name in _LATENT}
TRAIT_BOUNDS: dict[str, tuple[float, float]] = {
    "body_length": (0.2, 0.7), "body_width": (0.12, 0.8), "head_size": (0.3, 1.1),
    "wing_span": (0.3, 0.95), "wing_shape": (0.0, 1.0), "saturation": (0.05, 0.95),
    "value": (0.08, 0.95), "pattern_density": (0.0, 1.0), "pattern_hue": (-0.5, 0.5),
    "leg_length": (0.05, 0.7), "antenna_length": (0.03, 0.9),
}

# Body plan = the order's trait means (in _LATENT order, see _plan()).
ORDER_PLANS: dict[str, dict[str, float]] = {
    "Lepidoptera": dict(body_length=0.42, body_width=0.22, head_size=0.75, wing_span=0.78,
                        wing_shape=0.6, hue=0.08, saturation=0.55, value=0.68, pattern_density=0.5,
                        pattern_hue=0.45, leg_length=0.12, antenna_length=0.45,
                        logit_none=0.0, logit_spots=0.4, logit_bands=0.4),
    "Coleoptera": dict(body_length=0.5, body_width=0.6, head_size=0.55, wing_span=0.5,
                       wing_shape=0.5, hue=0.02, saturation=0.6, value=0.5, pattern_density=0.4,
                       pattern_hue=0.3, leg_length=0.35, antenna_length=0.35,
                       logit_none=0.3, logit_spots=0.3, logit_bands=-0.2),
    "Hymenoptera": dict(body_length=0.55, body_width=0.3, head_size=0.95, wing_span=0.72,
                        wing_shape=0.3, hue=0.12, saturation=0.65, value=0.55, pattern_density=0.5,
                        pattern_hue=0.0, leg_length=0.45, antenna_length=0.45,
                        logit_none=0.0, logit_spots=-0.4, logit_bands=0.6),
    "Diptera": dict(body_length=0.45, body_width=0.42, head_size=0.9, wing_span=0.68,
                    wing_shape=0.4, hue=0.15, saturation=0.35, value=0.42, pattern_density=0.4,
                    pattern_hue=0.1, leg_length=0.5, antenna_length=0.08,
                    logit_none=0.4, logit_spots=-0.2, logit_bands=0.2),
    "other": dict(body_length=0.5, body_width=0.45, head_size=0.6, wing_span=0.5, wing_shape=0.5,
                  hue=0.3, saturation=0.45, value=0.5, pattern_density=0.4, pattern_hue=0.2,
                  leg_length=0.35, antenna_length=0.3, logit_none=0.3, logit_spots=0.0,
                  logit_bands=0.0),
}


def _plan_name(order: object) -> str:
    return order if isinstance(order, str) and order in ORDER_PLANS else "other"


def _hash_normals(seed: int, key: str, n: int) -> np.ndarray:
    """``n`` standard normals that depend only on ``(seed, key)``, stable across runs and machines."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return np.random.default_rng([seed, int.from_bytes(digest, "little")]).standard_normal(n)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def records_fingerprint(records: pd.DataFrame) -> str:
    """Hash of what the renders depend on: processid, taxonomy and coordinates of every row."""
    cols = ["processid", "order", "family", "genus", "species", "lat", "lon"]
    present = [c for c in cols if c in records.columns]
    text = records[present].astype(str).to_csv(index=False)
    return key_of(text, length=20)


def sweep_latitude(record: pd.Series | pd.DataFrame, latitudes: Sequence[float]) -> pd.DataFrame:
    """Copies of one record at each latitude (same processid, so the same individual noise)."""
    row = record.iloc[0] if isinstance(record, pd.DataFrame) else record
    out = pd.DataFrame([row] * len(latitudes)).reset_index(drop=True)
    out["lat"] = np.asarray(latitudes, dtype=float)
    if pd.isna(out["lon"]).any():
        out["lon"] = REFERENCE_LON
    out["has_coords"] = True
    return out


class PhenotypeSimulator:
    """Ground-truth traits and deterministic renders for barcode records (see the module docstring)."""

    def __init__(self, seed: int = 0, *, cache_dir: Path | None = None) -> None:
        self.seed = int(seed)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else paths.cache / "g2pdiff"

    # ---------------------------------------------------------------------------------------------
    # traits
    # ---------------------------------------------------------------------------------------------
    def _offsets(self, level: str, keys: pd.Series) -> np.ndarray:
        """Inherited offsets (rows × latent) for one taxonomic level; missing names give zeros."""
        table: dict[str, np.ndarray] = {}
        out = np.zeros((len(keys), len(_LATENT)))
        for i, key in enumerate(keys):
            if key is None:
                continue
            if key not in table:
                table[key] = _hash_normals(self.seed, f"{level}|{key}", len(_LATENT))
            out[i] = table[key]
        return out

    def traits(self, records: pd.DataFrame) -> pd.DataFrame:
        """Ground-truth traits per specimen (:data:`TRAIT_NAMES` plus ``processid``, ``plan`` and the
        environment terms ``env_lat``, ``env_lon``, ``size_factor``), deterministic in seed + record."""
        missing = {"processid", "order", "family", "genus", "species", "lat", "lon"} - set(records.columns)
        if missing:
            raise ValueError(f"records lack column(s) {sorted(missing)}")
        plans = records["order"].map(_plan_name)
        latent = np.array([[ORDER_PLANS[p][name] for name in _LATENT] for p in plans], dtype=float)
        spread = np.array([TRAIT_SPREAD[name] for name in _LATENT])

        def key(*cols: str) -> pd.Series:
            # A rank's key includes the ranks above it, so homonyms in different lineages differ.
            values = records[list(cols)].astype(object)
            return pd.Series([None if _is_missing(row[-1]) else "|".join(map(str, row))
                              for row in values.itertuples(index=False)], index=records.index)

        z = (LEVEL_SIGMA["family"] * self._offsets("family", key("order", "family"))
             + LEVEL_SIGMA["genus"] * self._offsets("genus", key("order", "family", "genus"))
             + LEVEL_SIGMA["species"] * self._offsets("species", key("order", "family", "genus", "species")))
        individual_scale = np.array([_INDIVIDUAL_SCALE[name] for name in _LATENT])
        z += LEVEL_SIGMA["individual"] * individual_scale * self._offsets(
            "individual", records["processid"].astype(str))
        latent += spread * z
        t = pd.DataFrame(latent, columns=list(_LATENT), index=records.index)

        lat = records["lat"].to_numpy(dtype=float)
        lon = records["lon"].to_numpy(dtype=float)
        known = ~(np.isnan(lat) | np.isnan(lon))
        env_lat = np.where(known, lat, REFERENCE_LAT)
        env_lon = np.where(known, lon, REFERENCE_LON)
        a = (np.abs(env_lat) - REFERENCE_LAT) / 50.0
        size_factor = 1.0 + SIZE_CLINE * a
        t["body_length"] *= size_factor
        t["wing_span"] *= size_factor
        t["value"] -= MELANISM * a
        t["hue"] += LON_HUE * np.sin(np.radians(env_lon))

        for name, (lo, hi) in TRAIT_BOUNDS.items():
            t[name] = t[name].clip(lo, hi)
        t["hue"] = np.mod(t["hue"], 1.0)
        t["pattern_type"] = np.argmax(t[["logit_none", "logit_spots", "logit_bands"]].to_numpy(), axis=1)
        out = t[list(TRAIT_NAMES)].copy()
        out.insert(0, "processid", records["processid"].to_numpy())
        out.insert(1, "plan", plans.to_numpy())
        out["env_lat"], out["env_lon"], out["size_factor"] = env_lat, env_lon, size_factor
        return out

    # ---------------------------------------------------------------------------------------------
    # rendering
    # ---------------------------------------------------------------------------------------------
    def render(self, records: pd.DataFrame, image_size: int, *, cache: bool | None = None) -> torch.Tensor:
        """``[N, 3, H, W]`` float32 in [0, 1]; identical pixels for identical seed + records."""
        return torch.from_numpy(self.render_uint8(records, image_size, cache=cache)).float().div_(255.0)

    def render_uint8(self, records: pd.DataFrame, image_size: int, *, cache: bool | None = None) -> np.ndarray:
        """``[N, 3, H, W]`` uint8.  ``cache`` (default: only for ≥ 256 records) stores the array under
        ``cache_dir`` keyed by (simulator version, seed, size, records fingerprint), written atomically."""
        image_size = int(image_size)
        if image_size < 16:
            raise ValueError(f"image_size must be >= 16, got {image_size}")
        use_cache = len(records) >= 256 if cache is None else cache
        target = keyed_file(self.cache_dir, f"render-v{SIMULATOR_VERSION}-seed{self.seed}-{image_size}px",
                            records_fingerprint(records), ".npy")
        if use_cache and target.is_file():
            images = np.load(target)
            if images.shape == (len(records), 3, image_size, image_size):
                return images
        traits = self.traits(records)
        images = np.empty((len(records), 3, image_size, image_size), dtype=np.uint8)
        for i, row in enumerate(traits.itertuples(index=False)):
            images[i] = np.asarray(draw_specimen(row, image_size)).transpose(2, 0, 1)
        if use_cache:
            buffer = io.BytesIO()
            np.save(buffer, images)
            atomic.write_bytes(target, buffer.getvalue())
        return images

    # ---------------------------------------------------------------------------------------------
    # measuring
    # ---------------------------------------------------------------------------------------------
    @staticmethod
    def measure(images: torch.Tensor | np.ndarray, *, threshold: float = 0.12) -> pd.DataFrame:
        """Traits estimated from pixels of ``[N, 3, H, W]`` images in [0, 1] (real or generated).

        The background is each image's median border colour; the foreground mask is where any
        channel differs from it by more than ``threshold``.  Columns: ``area_fraction`` (body size:
        mask area / image area), ``length`` (mask's vertical extent / H), ``darkness`` (pigmentation:
        1 − mean luminance over the mask; NaN for an empty mask).
        """
        x = torch.as_tensor(images).float()
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images [N, 3, H, W], got {tuple(x.shape)}")
        if x.max() > 1.5:  # uint8 input
            x = x / 255.0
        border = torch.cat([x[:, :, 0, :], x[:, :, -1, :], x[:, :, :, 0], x[:, :, :, -1]], dim=2)
        background = border.median(dim=2).values[:, :, None, None]
        mask = (x - background).abs().amax(dim=1) > threshold  # [N, H, W]
        area = mask.float().mean(dim=(1, 2))
        rows = mask.any(dim=2).float()  # [N, H]
        length = rows.mean(dim=1)
        luminance = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
        count = mask.sum(dim=(1, 2)).float()
        mean_lum = (luminance * mask).sum(dim=(1, 2)) / count.clamp(min=1)
        darkness = torch.where(count > 0, 1.0 - mean_lum, torch.full_like(mean_lum, float("nan")))
        return pd.DataFrame({"area_fraction": area.numpy(), "length": length.numpy(),
                             "darkness": darkness.numpy()})
