"""Barcode records from the real BOLD file (g2p.data.bold), seen/unseen splits, SpecimenDataset (BIOSCAN-5M: test_bioscan5m.py)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import torch

from g2p.data.errors import DataFormatError
from g2p.data.bold import RECORD_COLUMNS, clean_barcode, read_bold_tsv
from g2p.g2pdiff.datasets import SpecimenDataset, load_barcode_records, make_splits, split_summary
from g2p.g2pdiff.simulator import PhenotypeSimulator


@pytest.fixture(scope="module")
def all_records() -> pd.DataFrame:
    return load_barcode_records()


def test_real_file_counts_and_cleaning(all_records):
    r = all_records
    assert list(r.columns) == list(RECORD_COLUMNS)
    # Counts documented in the mirror's README.
    assert len(r) == 33_910
    assert r["species"].nunique() == 1_023 and r["genus"].nunique() == 364 and r["family"].nunique() == 94
    assert r["order"].value_counts().to_dict() == {
        "Lepidoptera": 15_173, "Coleoptera": 9_540, "Hymenoptera": 5_477, "Diptera": 3_720}
    # 32,039 rows have numeric lat; 7 more have only one of lat/lon and count as missing.
    assert int(r["has_coords"].sum()) == 32_039
    assert r.loc[r["has_coords"], ["lat", "lon"]].notna().all().all()
    assert r.loc[~r["has_coords"], ["lat", "lon"]].isna().all().all()
    joined = "".join(r["barcode"])
    assert set(joined) <= set("ACGTN")
    assert r["barcode"].str.len().min() >= 500
    assert r["processid"].is_unique


def test_clean_barcode():
    assert clean_barcode("ac-gT\nnry-") == "ACGTNNN"
    assert clean_barcode("ACGU") == "ACGT"
    with pytest.raises(ValueError, match="'X'"):
        clean_barcode("ACGX")
    with pytest.raises(ValueError, match="empty"):
        clean_barcode("---")


def test_subsampling_is_seeded_and_keeps_genera_whole(all_records):
    a = load_barcode_records(max_species=40, per_species=3, seed=5)
    b = load_barcode_records(max_species=40, per_species=3, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert a["species"].nunique() == 40
    assert a.groupby("species").size().max() <= 3
    c = load_barcode_records(max_species=40, per_species=3, seed=6)
    assert set(c["species"]) != set(a["species"])
    # All but possibly the last genus taken are complete.
    full = all_records.groupby("genus")["species"].nunique()
    taken = a.groupby("genus")["species"].nunique()
    assert (taken == full.loc[taken.index]).sum() >= len(taken) - 1


def test_splits_on_real_records(all_records):
    s = make_splits(all_records, seed=0)
    assert set(s["split"]) == {"train", "val", "test_seen", "test_unseen"}
    summary = split_summary(s)
    assert summary["specimens"].sum() == len(all_records)
    train_species = set(s.loc[s["split"] == "train", "species"])
    unseen = set(s.loc[s["split"] == "test_unseen", "species"])
    assert len(unseen) == round(0.1 * all_records["species"].nunique())
    assert not unseen & set(s.loc[s["split"] != "test_unseen", "species"])  # unseen species only there
    assert set(s.loc[s["split"].isin(["val", "test_seen"]), "species"]) <= train_species
    unseen_genera = set(s.loc[s["split"] == "test_unseen", "genus"])
    assert unseen_genera <= set(s.loc[s["split"] == "train", "genus"])
    frac = summary["specimens"] / len(s)
    assert 0.07 < frac["val"] < 0.13 and 0.07 < frac["test_seen"] < 0.13
    again = make_splits(all_records, seed=0)
    assert (again["split"] == s["split"]).all()
    assert (make_splits(all_records, seed=1)["split"] != s["split"]).any()


def test_splits_small_subset_and_bad_fractions():
    r = load_barcode_records(max_species=30, per_species=4, seed=0)
    s = make_splits(r, seed=0, unseen_species_fraction=0.2)
    counts = s.groupby(["species", "split"]).size().unstack(fill_value=0)
    seen = counts[counts.get("test_unseen", 0) == 0]
    assert (seen["train"] >= 1).all()
    with pytest.raises(ValueError):
        make_splits(r, val_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ValueError):
        make_splits(r, unseen_species_fraction=-0.1)


def test_specimen_dataset_items(tmp_path):
    r = load_barcode_records(max_species=3, per_species=2, seed=0)
    ds = SpecimenDataset(r, PhenotypeSimulator(seed=0, cache_dir=tmp_path), 32, cache=False)
    assert len(ds) == len(r)
    item = ds[1]
    assert set(item) == {"pixel_values", "barcode", "lat", "lon", "has_coords", "index"}
    assert item["pixel_values"].shape == (3, 32, 32)
    assert -1.0 <= item["pixel_values"].min() and item["pixel_values"].max() <= 1.0
    assert item["barcode"] == r["barcode"].iloc[1] and item["index"] == 1
    expected = PhenotypeSimulator(seed=0).render(r.iloc[[1]], 32, cache=False)[0] * 2 - 1
    assert torch.allclose(item["pixel_values"], expected, atol=1e-5)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["pixel_values"].shape == (4, 3, 32, 32) and len(batch["barcode"]) == 4


# --- bad input -------------------------------------------------------------------------------------

_HEADER = ("processid\tsampleid\tbin_uri\tphylum_name\tclass_name\torder_name\tfamily_name\tsubfamily_name"
           "\tgenus_name\tspecies_name\tlat\tlon\tcountry\tinstitution_storing\tmarkercode\tnucleotides")


def _row(pid: str = "P1", lat: str = "10.5", lon: str = "-3", seq: str = "ACGT-ACGTN", species: str = "Ab cd") -> str:
    return "\t".join([pid, "s", "BOLD:1", "Arthropoda", "Insecta", "Coleoptera", "Carabidae", "", "Ab",
                      species, lat, lon, "X", "Y", "COI-5P", seq])


def _write(path, lines):
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def test_good_small_file(tmp_path):
    path = _write(tmp_path / "ok.tsv.gz", [_HEADER, _row(), _row("P2", lat="", lon="", seq="acgtryacgt")])
    r = read_bold_tsv(path)
    assert r["barcode"].tolist() == ["ACGTACGTN", "ACGTNNACGT"]
    assert r["has_coords"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("row", "line", "field"),
    [
        (_row("P2", lat="north"), 3, "lat"),
        (_row("P2", lon="200"), 3, "lon"),
        (_row("P2", seq="ACGTXX"), 3, "nucleotides"),
        (_row("P2", species=""), 3, "species_name"),
        (_row("P1"), 3, "processid"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, row, line, field):
    path = _write(tmp_path / "bad.tsv.gz", [_HEADER, _row(), row])
    with pytest.raises(DataFormatError) as info:
        read_bold_tsv(path)
    assert info.value.line == line and info.value.field == field
    assert "bad.tsv.gz" in str(info.value)


def test_missing_column_and_truncated_file(tmp_path):
    path = _write(tmp_path / "cols.tsv.gz", [_HEADER.replace("nucleotides", "seq"), _row()])
    with pytest.raises(DataFormatError, match="missing column"):
        read_bold_tsv(path)
    data = gzip.compress(("\n".join([_HEADER] + [_row(f"P{i}") for i in range(2000)])).encode())
    (tmp_path / "trunc.tsv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError):
        read_bold_tsv(tmp_path / "trunc.tsv.gz")
