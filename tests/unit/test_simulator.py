"""Phenotype simulator: determinism, shapes, inheritance down the real taxonomy, latitude clines."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from g2p.g2pdiff.datasets import load_barcode_records
from g2p.g2pdiff.simulator import (
    MELANISM,
    SIZE_CLINE,
    TRAIT_NAMES,
    PhenotypeSimulator,
    sweep_latitude,
)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    # Whole genera, 2 specimens per species: enough species for within/between comparisons.
    return load_barcode_records(max_species=120, per_species=2, seed=1)


def test_traits_deterministic_and_complete(records):
    a = PhenotypeSimulator(seed=3).traits(records)
    b = PhenotypeSimulator(seed=3).traits(records.sample(frac=1.0, random_state=0)).loc[a.index]
    pd.testing.assert_frame_equal(a, b)  # depends only on seed + the record, not on row order
    assert set(TRAIT_NAMES) <= set(a.columns)
    assert a[list(TRAIT_NAMES)].notna().all().all()
    assert a["pattern_type"].isin([0, 1, 2]).all()
    other = PhenotypeSimulator(seed=4).traits(records)
    assert not np.allclose(a["hue"], other["hue"])


def test_render_shapes_range_and_determinism(records, tmp_path):
    subset = records.head(6)
    sim = PhenotypeSimulator(seed=0, cache_dir=tmp_path)
    images = sim.render(subset, 32, cache=False)
    assert images.shape == (6, 3, 32, 32) and images.dtype == torch.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    again = PhenotypeSimulator(seed=0, cache_dir=tmp_path).render(subset, 32, cache=False)
    assert torch.equal(images, again)
    assert not torch.equal(images, PhenotypeSimulator(seed=1).render(subset, 32, cache=False))
    # Different specimens look different; background corners are the plain light background.
    assert not torch.equal(images[0], images[-1])
    assert (images[:, :, 0, 0] > 0.9).all()


def test_render_cache_roundtrip(records, tmp_path):
    subset = records.head(4)
    sim = PhenotypeSimulator(seed=0, cache_dir=tmp_path)
    first = sim.render_uint8(subset, 24, cache=True)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and not list(tmp_path.glob(".*tmp"))
    np.testing.assert_array_equal(np.load(files[0]), first)
    np.testing.assert_array_equal(sim.render_uint8(subset, 24, cache=True), first)
    moved = subset.assign(lat=subset["lat"].fillna(0) + 10)  # different records → different key
    sim.render_uint8(moved, 24, cache=True)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def _standardized(traits: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in TRAIT_NAMES if c != "pattern_type"]
    x = traits[cols].astype(float)
    return (x - x.mean()) / x.std().replace(0, 1)


def test_traits_inherited_down_the_taxonomy(records):
    # Remove the environment (no coordinates) so only taxonomy + individual noise remain.
    no_env = records.assign(lat=np.nan, lon=np.nan)
    traits = _standardized(PhenotypeSimulator(seed=0).traits(no_env))
    species_mean = traits.groupby(records["species"]).mean()
    taxonomy = records.drop_duplicates("species").set_index("species").loc[species_mean.index]
    within_genus, between_family = [], []
    for a, b in itertools.combinations(range(len(species_mean)), 2):
        d = float(np.linalg.norm(species_mean.iloc[a] - species_mean.iloc[b]))
        if taxonomy["genus"].iloc[a] == taxonomy["genus"].iloc[b]:
            within_genus.append(d)
        elif taxonomy["family"].iloc[a] != taxonomy["family"].iloc[b]:
            between_family.append(d)
    assert len(within_genus) > 20 and len(between_family) > 20
    assert np.mean(within_genus) < 0.7 * np.mean(between_family)
    # Specimens of one species are closer to each other than to congeneric species.
    spec = traits.groupby(records["species"]).std().mean(axis=1).mean()
    assert spec < np.mean(within_genus)


def test_missing_coordinates_use_reference_point(records):
    sim = PhenotypeSimulator(seed=0)
    row = records.iloc[[0]]
    missing = sim.traits(row.assign(lat=np.nan, lon=np.nan))
    at_reference = sim.traits(row.assign(lat=40.0, lon=0.0))
    pd.testing.assert_frame_equal(missing.drop(columns=["env_lat", "env_lon"]),
                                  at_reference.drop(columns=["env_lat", "env_lon"]))
    assert missing["size_factor"].iloc[0] == pytest.approx(1.0)


@pytest.mark.parametrize("order", ["Lepidoptera", "Coleoptera", "Hymenoptera", "Diptera"])
def test_latitude_cline_in_traits_and_pixels(records, order):
    sim = PhenotypeSimulator(seed=0)
    record = records[records["order"] == order].iloc[0]
    sweep = sweep_latitude(record, [0.0, 40.0, 80.0])
    traits = sim.traits(sweep)
    # As documented: size × (1 + 0.25 a), value − 0.25 a, a = (|lat| − 40) / 50.
    a = (np.array([0.0, 40.0, 80.0]) - 40.0) / 50.0
    np.testing.assert_allclose(traits["size_factor"], 1 + SIZE_CLINE * a)
    assert traits["body_length"].is_monotonic_increasing
    assert (np.diff(traits["value"]) < 0).all() or traits["value"].iloc[-1] <= 0.08 + 1e-9
    assert MELANISM > 0
    measured = sim.measure(sim.render(sweep, 64, cache=False))
    assert measured["area_fraction"].is_monotonic_increasing
    assert measured["darkness"].iloc[-1] > measured["darkness"].iloc[0]


def test_measure_recovers_size_and_darkness_on_synthetic_images():
    images = torch.ones(3, 3, 20, 20)
    images[0, :, 5:10, 5:10] = 0.2  # small, dark
    images[1, :, 2:18, 2:18] = 0.2  # large, dark
    images[2, :, 2:18, 2:18] = 0.6  # large, light
    m = PhenotypeSimulator.measure(images)
    assert m["area_fraction"].tolist() == pytest.approx([25 / 400, 256 / 400, 256 / 400])
    assert m["darkness"].tolist() == pytest.approx([0.8, 0.8, 0.4], abs=1e-5)
    assert np.isnan(PhenotypeSimulator.measure(torch.ones(1, 3, 8, 8))["darkness"].iloc[0])
    with pytest.raises(ValueError):
        PhenotypeSimulator.measure(torch.ones(3, 8, 8))


def test_unknown_order_and_missing_ranks_render(records):
    row = records.iloc[[0]].assign(order="Hemiptera", genus=np.nan, species=np.nan)
    sim = PhenotypeSimulator(seed=0)
    assert sim.traits(row)["plan"].iloc[0] == "other"
    image = sim.render(row, 32, cache=False)
    assert image.shape == (1, 3, 32, 32) and (image < 0.9).any()
