"""Independent evaluators: k-mer profiles, training only on train, sanity above chance, metrics table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from g2p.g2pdiff.datasets import load_barcode_records, make_splits
from g2p.g2pdiff.evaluate import Evaluators, evaluate_samples, kmer_profile
from g2p.g2pdiff.simulator import PhenotypeSimulator

TINY = dict(epochs=12, seed=0, width=8, feature_dim=32, batch_size=32, image_size=32, num_threads=1)


@pytest.fixture(scope="module")
def data():
    records = make_splits(load_barcode_records(max_species=16, per_species=15, seed=2), seed=0,
                          unseen_species_fraction=0.15)
    images = PhenotypeSimulator(seed=0).render(records, 32, cache=False)
    return records, images


@pytest.fixture(scope="module")
def evaluators(data):
    records, images = data
    train = (records["split"] == "train").to_numpy(copy=True)
    return Evaluators.fit(records[train], images[train], **TINY)


def _split(data, name):
    records, images = data
    mask = (records["split"] == name).to_numpy(copy=True)
    return records[mask].reset_index(drop=True), images[mask]


def test_kmer_profile_hand_computed():
    p = kmer_profile(["ACGTA", "ANCG", "A"], k=2)
    assert p.shape == (3, 16)
    index = {"AC": 1, "CG": 6, "GT": 11, "TA": 12}
    assert {i: float(p[0, i]) for i in np.flatnonzero(p[0])} == {v: 0.25 for v in index.values()}
    assert p[1, 6] == 1.0 and p[1].sum() == 1.0  # AN and NC skipped
    assert p[2].sum() == 0.0


def test_fit_refuses_non_training_records(data):
    records, images = data
    with pytest.raises(ValueError, match="train split only"):
        Evaluators.fit(records, images, epochs=1)
    with pytest.raises(ValueError):
        Evaluators.fit(records[records["split"] == "train"], images[:3], epochs=1)


def test_sanity_on_held_out_seen_specimens(evaluators, data):
    records, images = _split(data, "test_seen")
    n = len(records)
    assert n >= 15
    scores = evaluators.score_matrix(records["barcode"].tolist(), images)
    true = scores.diag()
    shuffled = scores[torch.arange(n), torch.roll(torch.arange(n), 7)]
    assert (true > shuffled).float().mean() > 0.7  # chance would be 0.5
    genus_logits, species_logits = evaluators.classify(images)
    genus_true = torch.tensor(records["genus"].map(evaluators.genus_index).to_numpy())
    species_true = torch.tensor(records["species"].map(evaluators.species_index).to_numpy())
    genus_acc = (genus_logits.argmax(1) == genus_true).float().mean().item()
    species_acc = (species_logits.argmax(1) == species_true).float().mean().item()
    assert genus_acc > 2.0 / len(evaluators.config.genera)
    assert species_acc > 2.0 / len(evaluators.config.species)


def test_evaluate_samples_table_and_ordering(evaluators, data):
    records, images = _split(data, "test_seen")
    truth = images
    perfect = torch.stack([truth, truth.flip(-1)], dim=1)  # K = 2
    wrong = torch.stack([truth.roll(5, 0), truth.roll(9, 0)], dim=1)
    good = evaluate_samples(evaluators, records, perfect, truth, ks=(1, 2, 5))
    bad = evaluate_samples(evaluators, records, wrong, truth, ks=(1, 2))
    assert list(good.columns) == ["metric", "level", "k", "value", "n"]
    assert sorted(good["k"].unique()) == [1, 2]  # k = 5 > K skipped
    keys = {(m, lvl) for m, lvl in zip(good["metric"], good["level"])}
    assert keys == {("clibd_score", "specimen"), ("success_rate", "genus"), ("success_rate", "species"),
                    ("pes", "specimen"), ("pes", "species"), ("pes", "genus")}
    g = good.set_index(["metric", "level", "k"])["value"]
    b = bad.set_index(["metric", "level", "k"])["value"]
    assert g["pes", "specimen", 1] == pytest.approx(1.0, abs=1e-4)
    for key in [("clibd_score", "specimen", 1), ("pes", "specimen", 1), ("pes", "species", 1),
                ("success_rate", "genus", 1)]:
        assert g[key] > b[key], key
    # Best-of-k can only help.
    assert (good.pivot_table(index=["metric", "level"], columns="k", values="value").diff(axis=1)[2] >= -1e-6).all()
    with pytest.raises(ValueError):
        evaluate_samples(evaluators, records, truth, truth)
    with pytest.raises(ValueError):
        evaluate_samples(evaluators, records.iloc[:-1], perfect, truth)


def test_unseen_species_level_is_nan_genus_counts(evaluators, data):
    records, images = _split(data, "test_unseen")
    table = evaluate_samples(evaluators, records, images[:, None], images, ks=(1,))
    species = table[(table["metric"] == "success_rate") & (table["level"] == "species")].iloc[0]
    genus = table[(table["metric"] == "success_rate") & (table["level"] == "genus")].iloc[0]
    assert np.isnan(species["value"]) and species["n"] == 0
    assert genus["n"] == len(records)


def test_save_load_roundtrip_and_determinism(evaluators, data, tmp_path):
    records, images = _split(data, "val")
    evaluators.save(tmp_path / "ev")
    loaded = Evaluators.load(tmp_path / "ev")
    assert torch.allclose(loaded.score(records["barcode"].tolist(), images),
                          evaluators.score(records["barcode"].tolist(), images), atol=1e-6)
    assert torch.allclose(loaded.embed(images), evaluators.embed(images), atol=1e-6)
    train_records, train_images = _split(data, "train")
    small = dict(TINY, epochs=1)
    a = Evaluators.fit(train_records, train_images, **small)
    b = Evaluators.fit(train_records, train_images, **small)
    for x, y in zip(a.classifier.state_dict().values(), b.classifier.state_dict().values()):
        assert torch.equal(x, y)
    pd.testing.assert_frame_equal(
        evaluate_samples(a, records, images[:, None], images, ks=(1,)),
        evaluate_samples(b, records, images[:, None], images, ks=(1,)))
