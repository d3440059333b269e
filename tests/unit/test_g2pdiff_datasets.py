"""Barcode records from the real BOLD file (g2p.data.bold), seen/unseen splits, SpecimenDataset, BIOSCAN-5M loader."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from g2p.data import sources
from g2p.data.errors import DataFormatError
from g2p.data.bold import RECORD_COLUMNS, clean_barcode, load_bioscan5m, read_bold_tsv
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


# --- BIOSCAN-5M ------------------------------------------------------------------------------------

@pytest.fixture()
def bioscan_fixture(tmp_path):
    """The 25 real BIOSCAN-5M sample records as an official-style CSV plus stand-in JPEGs."""
    records = json.loads(sources.resolve("bioscan5m_samples").read_text())
    table = pd.DataFrame(records)
    latlon = table["latlon"].str.split(",", expand=True).astype(float)
    table["coord-lat"], table["coord-lon"] = latlon[0], latlon[1]
    csv = tmp_path / "BIOSCAN_5M_Insect_Dataset_metadata.csv"
    table.drop(columns=["latlon"]).to_csv(csv, index=False)
    root = tmp_path / "bioscan5m" / "images" / "cropped_256"
    for rec in records:
        folder = root / rec["split"] / rec["chunk"] if rec.get("chunk") else root / rec["split"]
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 12), (200, 190, 180)).save(folder / f"{rec['processid']}.jpg")
    return records, csv, root


def test_bioscan5m_csv_and_images(bioscan_fixture):
    records, csv, root = bioscan_fixture
    df = load_bioscan5m(csv, root)
    assert len(df) == 25
    assert set(RECORD_COLUMNS) <= set(df.columns)
    assert df["official_split"].value_counts().to_dict() == {"pretrain": 21, "train": 3, "test": 1}
    assert df["split"].value_counts().to_dict() == {"train": 24, "test_seen": 1}
    assert df["order"].value_counts().to_dict() == {o: 5 for o in
                                                    ["Diptera", "Hymenoptera", "Lepidoptera", "Coleoptera", "Hemiptera"]}
    assert df["species"].notna().sum() == 4 and df["genus"].notna().sum() == 11
    assert df["has_coords"].all()
    first = df.set_index("processid").loc["GMMVA27218-22"]
    assert first["lat"] == pytest.approx(20.032) and first["lon"] == pytest.approx(-97.106)
    assert first["image_path"].endswith("pretrain/a9/GMMVA27218-22.jpg")
    test_row = df.set_index("processid").loc["CRATC20925-23"]
    assert test_row["image_path"].endswith("cropped_256/test/CRATC20925-23.jpg")
    assert all(Image.open(p).size == (16, 12) for p in df["image_path"])
    by_id = {r["processid"]: r["dna_barcode"] for r in records}
    assert (df["barcode"] == df["processid"].map(by_id).str.upper()).all()


def test_bioscan5m_json_records_without_images():
    df = load_bioscan5m(sources.resolve("bioscan5m_samples"))
    assert len(df) == 25 and df["image_path"].str.endswith(".jpg").all()
    assert df.loc[df["processid"] == "LPKIL3701-22", "lat"].iloc[0] == pytest.approx(68.982)


def test_bioscan5m_bad_inputs(bioscan_fixture, tmp_path):
    _, csv, root = bioscan_fixture
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    (root / "pretrain" / "a9" / "GMMVA27218-22.jpg").unlink()
    with pytest.raises(DataFormatError, match="GMMVA27218-22"):
        load_bioscan5m(csv, root)
    bad_split = table.copy()
    bad_split.loc[3, "split"] = "holdout"
    bad_split.to_csv(tmp_path / "split.csv", index=False)
    with pytest.raises(DataFormatError) as info:
        load_bioscan5m(tmp_path / "split.csv")
    assert info.value.line == 5 and info.value.field == "split"
    bad_lat = table.copy()
    bad_lat.loc[0, "coord-lat"] = "95"
    bad_lat.to_csv(tmp_path / "lat.csv", index=False)
    with pytest.raises(DataFormatError, match="lat"):
        load_bioscan5m(tmp_path / "lat.csv")
    table.drop(columns=["dna_barcode"]).to_csv(tmp_path / "nodna.csv", index=False)
    with pytest.raises(DataFormatError, match="dna_barcode"):
        load_bioscan5m(tmp_path / "nodna.csv")
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(DataFormatError, match="JSON"):
        load_bioscan5m(tmp_path / "broken.json")
    assert load_bioscan5m(sources.resolve("bioscan5m_samples"))["species"].isna().sum() == 21
