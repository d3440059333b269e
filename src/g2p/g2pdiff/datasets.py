"""Barcode records, seen/unseen splits and image datasets for the G2PDiffusion part.

What is real here: the BOLD COI-5P insect barcodes (read by :mod:`g2p.data.bold`), their full
taxonomy and their collection coordinates.  What is simulated: every pixel (see
:mod:`g2p.g2pdiff.simulator`), unless the configuration says ``data: bioscan5m`` (real photos, with
BIOSCAN-5M's own records and splits).

* :func:`load_barcode_records` reads the BOLD file and keeps a seeded subset of species and specimens.
* :func:`make_splits` assigns ``train``/``val``/``test_seen``/``test_unseen``.
* :func:`add_unseen_references` gives each unseen species reference specimens (split ``reference``)
  that only the evaluators learn from.
* :class:`SpecimenDataset` pairs each record with its simulated render (cached).
* :func:`split_records` and :func:`image_source` give the records and true images a configuration
  names: the simulator's, or BIOSCAN-5M's official splits and photos (``data: bioscan5m``);
  :class:`LazyImages` renders them only when indexed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from g2p.data import bold

if TYPE_CHECKING:
    from g2p.g2pdiff.simulator import PhenotypeSimulator

SPLITS: tuple[str, ...] = ("train", "val", "test_seen", "test_unseen", "reference")
#: The split of the unseen species' reference specimens (:func:`add_unseen_references`): the evaluators
#: learn those species from them; the generator never sees them.
REFERENCE = "reference"


def _choose_species(records: pd.DataFrame, max_species: int, seed: int) -> pd.Index:
    """Whole genera in a seeded order until ``max_species`` species are reached.

    Taking genera whole (rather than random species) keeps multi-species genera intact, which the
    unseen-species split needs.
    """
    species_by_genus = records.groupby("genus", sort=True)["species"].unique()
    order = np.random.default_rng(seed).permutation(len(species_by_genus))
    chosen: list[str] = []
    for i in order:
        chosen.extend(sorted(species_by_genus.iloc[i]))
        if len(chosen) >= max_species:
            break
    return pd.Index(chosen[:max_species])


def load_barcode_records(
    *, max_species: int | None = None, per_species: int | None = None, seed: int = 0, path: Path | None = None
) -> pd.DataFrame:
    """The real BOLD insect barcodes with taxonomy and coordinates, one row per specimen.

    Columns: ``processid, order, family, genus, species, lat, lon`` (float, NaN if missing),
    ``has_coords``, ``barcode`` (uppercase, gaps removed, IUPAC ambiguity → ``N``).
    ``max_species`` keeps whole genera (seeded order) up to that many species; ``per_species`` keeps a
    seeded sample of at most that many specimens per species.  Rows stay sorted by species, processid.
    """
    if max_species is not None and max_species < 1:
        raise ValueError(f"max_species must be >= 1, got {max_species}")
    if per_species is not None and per_species < 1:
        raise ValueError(f"per_species must be >= 1, got {per_species}")
    records = bold.read_bold_tsv(path if path is not None else bold.bold_coi_path())
    if max_species is not None:
        records = records[records["species"].isin(_choose_species(records, max_species, seed))]
    if per_species is not None:
        records = records.groupby("species", group_keys=False, sort=False).sample(
            frac=1.0, random_state=seed
        ).groupby("species", sort=False).head(per_species)
    return records.sort_values(["species", "processid"]).reset_index(drop=True)


def make_splits(
    records: pd.DataFrame,
    *,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    unseen_species_fraction: float = 0.1,
) -> pd.DataFrame:
    """Add ``split`` ∈ {train, val, test_seen, test_unseen} (a copy; input untouched).

    * Unseen species (``unseen_species_fraction`` of all species, all their specimens → ``test_unseen``)
      are drawn only from genera with ≥ 2 species, and each such genus keeps ≥ 1 species seen.
    * Each seen species' specimens are shuffled (seeded) and ``fraction · n`` (stochastically
      rounded) go to val and to test_seen, always leaving ≥ 1 in train, so every seen-test specimen's species is in train.
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction),
                        ("unseen_species_fraction", unseen_species_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError("val_fraction + test_fraction must be < 1")
    missing = {"processid", "genus", "species"} - set(records.columns)
    if missing:
        raise ValueError(f"records lack column(s) {sorted(missing)}")
    rng = np.random.default_rng(seed)
    out = records.copy()

    species_genus = out.drop_duplicates("species").set_index("species")["genus"].sort_index()
    n_unseen = int(round(unseen_species_fraction * len(species_genus)))
    seen_left = species_genus.value_counts()
    unseen: set[str] = set()
    for species in rng.permutation(species_genus.index.to_numpy()):
        if len(unseen) >= n_unseen:
            break
        genus = species_genus[species]
        if seen_left[genus] >= 2:
            unseen.add(species)
            seen_left[genus] -= 1

    split = np.full(len(out), "train", dtype=object)
    split[out["species"].isin(unseen).to_numpy()] = "test_unseen"
    seen_rows = out.index[~out["species"].isin(unseen)]
    positions = pd.Series(np.arange(len(out)), index=out.index)
    for _, rows in out.loc[seen_rows].groupby("species", sort=True).groups.items():
        pos = rng.permutation(positions[rows].to_numpy())
        n = len(pos)
        # Stochastic rounding keeps expected counts right for species with few specimens.
        n_test = int(np.floor(test_fraction * n + rng.random()))
        n_val = int(np.floor(val_fraction * n + rng.random()))
        while n_test + n_val > n - 1 and (n_test or n_val):  # keep at least one in train
            if n_test >= n_val:
                n_test -= 1
            else:
                n_val -= 1
        split[pos[:n_test]] = "test_seen"
        split[pos[n_test:n_test + n_val]] = "val"
    out["split"] = split
    return out


def add_unseen_references(records: pd.DataFrame, pool: pd.DataFrame, per_species: int, *,
                          seed: int = 0) -> pd.DataFrame:
    """``records`` (with ``split``) plus, for each unseen species, ``per_species`` reference specimens in
    split ``reference`` (a copy; inputs untouched).

    The evaluators learn the unseen species from these; the generator never sees them (it trains on
    ``train`` only), and neither does the test. They come first from ``pool`` (the same species'
    specimens that ``load_barcode_records``'s ``per_species`` cap left out, appended as new rows), then,
    for a species with too few of those, from its own ``test_unseen`` specimens, at most half of them,
    which then leave the test split. Seeded; ``per_species = 0`` returns ``records`` unchanged.
    """
    if per_species < 0:
        raise ValueError(f"per_species must be >= 0, got {per_species}")
    if "split" not in records.columns:
        raise ValueError("records have no split column: call make_splits first")
    out = records.copy()
    if per_species == 0:
        return out
    rng = np.random.default_rng(seed)
    unseen = sorted(out.loc[out["split"] == "test_unseen", "species"].unique())
    spare = pool[pool["species"].isin(unseen) & ~pool["processid"].isin(out["processid"])]
    added = []
    for species in unseen:
        extra = spare[spare["species"] == species]
        take = extra.iloc[rng.permutation(len(extra))[:per_species]]
        added.append(take.assign(split=REFERENCE))
        short = per_species - len(take)
        if short > 0:
            tests = out.index[(out["species"] == species) & (out["split"] == "test_unseen")].to_numpy()
            moved = rng.permutation(tests)[:min(short, len(tests) // 2)]
            out.loc[moved, "split"] = REFERENCE
    out = pd.concat([out, *added], ignore_index=True)
    return out.sort_values(["species", "processid"]).reset_index(drop=True)


def split_summary(records: pd.DataFrame) -> pd.DataFrame:
    """Specimens, species, genera and families per split (rows in :data:`SPLITS` order)."""
    grouped = records.groupby("split")
    summary = pd.DataFrame({
        "specimens": grouped.size(),
        "species": grouped["species"].nunique(),
        "genera": grouped["genus"].nunique(),
        "families": grouped["family"].nunique(),
    })
    order = [s for s in SPLITS if s in summary.index] + [s for s in summary.index if s not in SPLITS]
    return summary.loc[order]


def latitude_confounding(records: pd.DataFrame) -> dict[str, float]:
    """How much of the latitude variation is between species (specimens with coordinates).

    ``species_share``: η² = between-species sum of squares / total sum of squares of latitude (1 =
    each species is collected at one latitude, so latitude identifies the species); ``lat_std``: the
    overall standard deviation; ``within_species_std``: the median of the per-species standard
    deviations (species with ≥ 2 located specimens).
    """
    located = records[records["lat"].notna()]
    if located["species"].nunique() < 2:
        raise ValueError("need located specimens of at least two species")
    lat = located["lat"].astype(float)
    total = float(((lat - lat.mean()) ** 2).sum())
    means = located.groupby("species")["lat"].transform("mean")
    between = float(((means - lat.mean()) ** 2).sum())
    within = located.groupby("species")["lat"].std().dropna()
    return {"species_share": between / total if total > 0 else float("nan"), "lat_std": float(lat.std()),
            "within_species_std": float(within.median()) if len(within) else float("nan")}


class SpecimenDataset(Dataset):
    """Records paired with their simulated renders: items are dicts for a PyTorch ``DataLoader``.

    ``pixel_values`` is ``[3, H, W]`` in [-1, 1] (the convention of diffusers' VAEs).  All renders are
    made once at construction through :meth:`PhenotypeSimulator.render_uint8`, which caches them on
    disk; they are held as uint8 so 30k images at 64×64 take ~370 MB.
    """

    def __init__(
        self, records: pd.DataFrame, simulator: PhenotypeSimulator, image_size: int, *, cache: bool = True
    ) -> None:
        self.records = records.reset_index(drop=True)
        self.image_size = int(image_size)
        self.images = torch.from_numpy(simulator.render_uint8(self.records, self.image_size, cache=cache))
        self._barcodes = self.records["barcode"].tolist()
        self._lat = self.records["lat"].to_numpy(dtype=float)
        self._lon = self.records["lon"].to_numpy(dtype=float)
        self._has = self.records["has_coords"].to_numpy(dtype=bool)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        pixels = self.images[index].float().div_(127.5).sub_(1.0)
        return {
            "pixel_values": pixels,
            "barcode": self._barcodes[index],
            "lat": float(self._lat[index]),
            "lon": float(self._lon[index]),
            "has_coords": bool(self._has[index]),
            "index": int(index),
        }


# -- the data a configuration names -----------------------------------------------------------------
def _cap(records: pd.DataFrame, per: int | None, by: list[str], seed: int) -> pd.DataFrame:
    if per is None:
        return records
    shuffled = records.sample(frac=1.0, random_state=seed)
    return shuffled.groupby(by, sort=False).head(per)


def bioscan5m_records(root: str | None, *, max_species: int | None = None, per_species: int | None = None,
                      seed: int = 0, reference_per_species: int = 0) -> pd.DataFrame:
    """The BIOSCAN-5M records with the official splits (:data:`g2p.data.bioscan5m.SPLIT_MAP`: seen
    species' train / val / test_seen, unseen species' test_unseen and their key_unseen specimens as
    ``reference``). ``max_species`` keeps whole genera (seeded) up to that many species, ``per_species``
    at most that many specimens per species in each split, ``reference_per_species`` at most that many
    reference specimens per unseen species (0: none). Sorted by species, processid."""
    from g2p.data.bioscan5m import Bioscan5M

    records = Bioscan5M(root).records()
    if max_species is not None:
        records = records[records["species"].isin(_choose_species(records, max_species, seed))]
    references = _cap(records[records["split"] == REFERENCE], reference_per_species, ["species"], seed)
    records = _cap(records[records["split"] != REFERENCE], per_species, ["species", "split"], seed)
    records = pd.concat([records, references])  # _cap(…, 0, …) keeps none
    return records.sort_values(["species", "processid"]).reset_index(drop=True)


def split_records(config, *, max_species: int | None = None, per_species: int | None = None, seed: int = 0,
                  reference_per_species: int = 0) -> pd.DataFrame:
    """The records, with ``split``, that ``config.data`` names (a ``DiffusionTrainConfig``): the BOLD
    records split by :func:`make_splits` (plus :func:`add_unseen_references`), or BIOSCAN-5M's official
    splits (:func:`bioscan5m_records`)."""
    if config.data == "bioscan5m":
        return bioscan5m_records(config.bioscan5m_root, max_species=max_species, per_species=per_species,
                                 seed=seed, reference_per_species=reference_per_species)
    records = make_splits(load_barcode_records(max_species=max_species, per_species=per_species, seed=seed),
                          seed=seed)
    if reference_per_species:
        pool = load_barcode_records(max_species=max_species, per_species=None, seed=seed)
        records = add_unseen_references(records, pool, reference_per_species, seed=seed)
    return records


class Photos:
    """The real BIOSCAN-5M photos with the simulator's interface: ``render(records, size)`` gives each
    specimen's own photo (whatever its ``lat``/``lon`` say: a photo cannot be moved), ``measure`` the
    same pixel traits as :meth:`PhenotypeSimulator.measure`."""

    def __init__(self, root: str | None) -> None:
        from g2p.data.bioscan5m import Bioscan5M

        self.source = Bioscan5M(root)

    def render(self, records: pd.DataFrame, image_size: int, *, cache: bool | None = None) -> torch.Tensor:
        return self.source.render(records, image_size)

    @staticmethod
    def measure(images, **kwargs) -> pd.DataFrame:  # noqa: ANN001, ANN003 - PhenotypeSimulator.measure's
        from g2p.g2pdiff.simulator import PhenotypeSimulator

        return PhenotypeSimulator.measure(images, **kwargs)


class LazyImages:
    """The true images of ``records`` at ``image_size``, rendered (or read) only when indexed.

    ``images[idx]`` for an integer index tensor of any shape gives ``[*idx.shape, 3, S, S]`` float in
    [0, 1], equal to indexing the whole render, but only the distinct indexed records are rendered.
    The retrieval and random baselines show a few training images per query; at BIOSCAN-5M's full
    scale all training photos as float at 256 px would take ~227 GB."""

    def __init__(self, source, records: pd.DataFrame, image_size: int) -> None:
        self.source, self.records, self.image_size = source, records.reset_index(drop=True), int(image_size)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, idx) -> torch.Tensor:  # noqa: ANN001 - an index tensor or array of any shape
        idx = torch.as_tensor(idx, dtype=torch.long)
        distinct, inverse = torch.unique(idx.reshape(-1), return_inverse=True)
        images = self.source.render(self.records.iloc[distinct.numpy()].reset_index(drop=True), self.image_size)
        return images[inverse].reshape(*idx.shape, *images.shape[1:])


def image_source(config) -> PhenotypeSimulator | Photos:
    """Where each specimen's true image comes from under ``config`` (a ``DiffusionTrainConfig``): the
    simulator (seeded with ``simulator_seed``) or the BIOSCAN-5M photos."""
    if config.data == "bioscan5m":
        return Photos(config.bioscan5m_root)
    from g2p.g2pdiff.simulator import PhenotypeSimulator

    return PhenotypeSimulator(seed=config.simulator_seed)
