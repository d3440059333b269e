"""Real BIOSCAN-5M specimens (barcode, coordinates, taxonomy, ``cropped_256`` photo) through the dataset
authors' loader, the ``bioscan-dataset`` package (:class:`bioscan_dataset.BIOSCAN5M`).

The package reads the official metadata CSV (its dtypes, barcodes cut to 660 nt, the partition filter,
each record's image path ``<split>/<chunk>/<processid>.jpg``), checks the download against its md5
sums and opens the photos. This module adds only what it does not do:

* the root (:mod:`g2p.data.bioscan5m_root`): a setting, else ``$G2P_BIOSCAN5M_ROOT``; a missing or
  incomplete one is a one-line :class:`~g2p.errors.InputError` naming the path and how to download it;
* the official partitions → this project's splits (:data:`SPLIT_MAP`: seen species' train / val /
  test, the unseen species' ``test_unseen``, and their ``key_unseen`` specimens as the evaluators'
  ``reference``), and the record columns of :mod:`g2p.data.bold` (cleaned barcodes, ``lat``/``lon``);
* photos as ``[N, 3, S, S]`` tensors (shorter side resized to S, centre crop), in batches, so that
  :mod:`g2p.g2pdiff.training_data` encodes and caches their latents.

:class:`Bioscan5M` has the ``render(records, image_size)`` of the phenotype simulator, so the
evaluators and the benchmark take either as a source of each specimen's true image.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from g2p.data.bioscan5m_root import IMAGES, METADATA, check_root, how_to_get, root_from
from g2p.data.bold import RECORD_COLUMNS, clean_barcode
from g2p.errors import InputError

IMAGE_PACKAGE = "cropped_256"
#: Official partition → our split. ``pretrain`` (no species label), ``val_unseen`` and ``other_heldout``
#: are not used: the paper trains on ``train`` (289,203 specimens, 11,846 species); ``key_unseen`` holds
#: the unseen species' reference specimens, which only the evaluators learn from.
SPLIT_MAP: dict[str, str] = {
    "train": "train",
    "val": "val",
    "test": "test_seen",
    "test_unseen": "test_unseen",
    "key_unseen": "reference",
}
PARTITIONS = "+".join(SPLIT_MAP)


def _rgb(image):  # noqa: ANN001, ANN202 - a PIL image in, an RGB PIL image out
    return image.convert("RGB")


@lru_cache(maxsize=2)
def open_dataset(root: str):  # noqa: ANN201 - a bioscan_dataset.BIOSCAN5M
    """``bioscan_dataset.BIOSCAN5M`` at ``root`` over :data:`PARTITIONS` (images only; the metadata is its
    ``metadata`` table); what the package finds missing or corrupt is one InputError."""
    from bioscan_dataset import BIOSCAN5M

    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):  # it prints what is missing; the error says it once
            return BIOSCAN5M(root, split=PARTITIONS, modality=("image",), image_package=IMAGE_PACKAGE,
                             target_type=[], output_format="dict")
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
        first = next((line for line in said.getvalue().splitlines() if line.strip()), str(exc))
        raise InputError(f"bioscan-dataset cannot load it: {first}", path=Path(root) / METADATA,
                         hint=how_to_get(root)) from exc


class Bioscan5M:
    """One BIOSCAN-5M download: its records (:meth:`records`) and photos (:meth:`render`, :meth:`batches`)."""

    def __init__(self, root: str | os.PathLike | None) -> None:
        self.root = check_root(root_from(root))

    @property
    def dataset(self):  # noqa: ANN201 - a bioscan_dataset.BIOSCAN5M
        """The package's dataset over the used partitions, opened once per root and process (reading
        the 5-million-row CSV and checking its md5 takes a while)."""
        return open_dataset(str(self.root))

    def records(self) -> pd.DataFrame:
        """Species-labelled records of the used partitions: :data:`RECORD_COLUMNS` plus ``split`` (ours),
        ``official_split`` and ``image_path`` (relative to the ``cropped_256`` folder)."""
        meta = self.dataset.metadata
        path = self.root / METADATA
        out = pd.DataFrame({"processid": meta["processid"].astype(str).to_numpy()})
        for rank in ("order", "family", "genus", "species"):
            out[rank] = meta[rank].astype(object).where(meta[rank].notna(), np.nan).to_numpy()
        for name, column, bound in (("lat", "coord-lat", 90.0), ("lon", "coord-lon", 180.0)):
            values = pd.to_numeric(meta[column], errors="coerce").to_numpy(dtype=float)
            bad = np.flatnonzero(np.abs(values) > bound)
            if len(bad):
                raise InputError(f"{values[bad[0]]} is not in [-{bound:g}, {bound:g}] (processid "
                                 f"{out['processid'].iloc[bad[0]]})", path=path, field=column)
            out[name] = values
        out["has_coords"] = out["lat"].notna() & out["lon"].notna()
        out.loc[~out["has_coords"], ["lat", "lon"]] = np.nan
        barcodes = []
        for pid, raw in zip(out["processid"], meta["dna_barcode"].fillna("")):
            try:
                barcodes.append(clean_barcode(raw))
            except ValueError as exc:
                raise InputError(f"processid {pid}: {exc}", path=path, field="dna_barcode") from None
        out["barcode"] = barcodes
        out["official_split"] = meta["split"].to_numpy()
        out["split"] = out["official_split"].map(SPLIT_MAP)
        out["image_path"] = meta["image_path"].to_numpy()
        out = out[out["species"].notna() & out["order"].notna()]
        return out.loc[:, [*RECORD_COLUMNS, "split", "official_split", "image_path"]].reset_index(drop=True)

    @cached_property
    def _position(self) -> pd.Series:
        meta = self.dataset.metadata
        return pd.Series(np.arange(len(meta)), index=meta["processid"].astype(str).to_numpy())

    def batches(self, records: pd.DataFrame, image_size: int, batch_size: int = 256,
                num_workers: int | None = None) -> Iterator[torch.Tensor]:
        """The records' photos, in order, as uint8 batches ``[B, 3, S, S]`` (shorter side → S, centre crop),
        read by the package's dataset (``num_workers`` loader processes; default: up to 8 for ≥ 2,000)."""
        from torch.utils.data import DataLoader, Subset
        from torchvision import transforms

        unknown = ~records["processid"].astype(str).isin(self._position.index)
        if unknown.any():
            raise InputError(f"processid {records['processid'][unknown].iloc[0]} is not in the used partitions",
                             path=self.root / METADATA, field="processid")
        dataset = self.dataset
        dataset.transform = transforms.Compose([_rgb, transforms.Resize(int(image_size)),
                                                transforms.CenterCrop(int(image_size)), transforms.PILToTensor()])
        positions = self._position[records["processid"].astype(str)].to_numpy().tolist()
        if num_workers is None:
            num_workers = min(8, os.cpu_count() or 1) if len(positions) >= 2000 else 0
        loader = DataLoader(Subset(dataset, positions), batch_size=batch_size, num_workers=num_workers,
                            collate_fn=lambda items: torch.stack([item["image"] for item in items]))
        try:
            yield from loader
        except (OSError, ValueError) as exc:  # a truncated or unreadable photo
            raise InputError(f"cannot read a photo: {exc}", path=self.root / IMAGES) from exc

    def render(self, records: pd.DataFrame, image_size: int, *, cache: bool | None = None) -> torch.Tensor:
        """The records' photos as ``[N, 3, S, S]`` float32 in [0, 1] (``cache`` is accepted for the
        simulator's signature; photos need no render cache)."""
        if len(records) == 0:
            return torch.zeros(0, 3, int(image_size), int(image_size))
        return torch.cat(list(self.batches(records, image_size))).float().div_(255.0)
