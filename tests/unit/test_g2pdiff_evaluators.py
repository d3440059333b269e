"""Independent evaluators: k-mer profiles, training only on train, sanity above chance, metrics table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from g2p.g2pdiff.datasets import load_barcode_records, make_splits
from g2p.g2pdiff.evaluators import (
    Evaluators,
    background_deviation,
    bootstrap_interval,
    evaluate_samples,
    kmer_profile,
    summarise,
)
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
    with pytest.raises(ValueError, match="train split"):
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
    assert list(good.columns) == ["metric", "level", "k", "value", "n", "ci_low", "ci_high"]
    assert sorted(good["k"].unique()) == [1, 2]  # k = 5 > K skipped
    keys = {(m, lvl) for m, lvl in zip(good["metric"], good["level"])}
    assert keys == {("clibd_score", "specimen"), ("success_taxon", "genus"), ("success_taxon", "species"),
                    ("pes", "specimen"), ("pes", "species"), ("pes", "genus")}  # no τ calibrated yet
    g = good.set_index(["metric", "level", "k"])["value"]
    b = bad.set_index(["metric", "level", "k"])["value"]
    assert g["pes", "specimen", 1] == pytest.approx(1.0, abs=1e-4)
    for key in [("clibd_score", "specimen", 1), ("pes", "specimen", 1), ("pes", "species", 1),
                ("success_taxon", "genus", 1)]:
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
    species = table[(table["metric"] == "success_taxon") & (table["level"] == "species")].iloc[0]
    genus = table[(table["metric"] == "success_taxon") & (table["level"] == "genus")].iloc[0]
    assert np.isnan(species["value"]) and species["n"] == 0 and np.isnan(species["ci_low"])
    assert genus["n"] == len(records)


def test_calibrated_threshold_gives_the_paper_style_success_rate(evaluators, data):
    val, val_images = _split(data, "val")
    with pytest.raises(ValueError, match="validation records, not on a test split"):
        evaluators.calibrate(*_split(data, "test_seen"))
    tau = evaluators.calibrate(val, val_images, false_positive_rate=0.1)
    try:
        assert evaluators.config.score_threshold == tau
        # by construction 10 % of other-species pairs on validation pass τ
        scores = evaluators.score_matrix(val["barcode"].tolist(), val_images)
        other = torch.from_numpy(val["species"].to_numpy()[:, None] != val["species"].to_numpy()[None, :])
        assert (scores[other] >= tau).float().mean().item() == pytest.approx(0.1, abs=0.02)
        records, images = _split(data, "test_seen")
        table = evaluate_samples(evaluators, records, images[:, None], images, ks=(1,)).set_index(["metric", "level"])
        own = evaluators.score(records["barcode"].tolist(), images)
        assert table.loc[("success_score", "specimen"), "value"] == pytest.approx((own >= tau).float().mean().item())
    finally:
        evaluators.config.score_threshold = None  # the module's other tests use the uncalibrated fixture


def test_bootstrap_interval_and_summary():
    values = np.array([0.0, 1.0] * 50)
    low, high = bootstrap_interval(values, n_boot=2000, seed=0)
    # the mean of 100 fair coin flips: standard error 0.05, so the 95 % interval is about ±0.1
    assert low == pytest.approx(0.4, abs=0.02) and high == pytest.approx(0.6, abs=0.02)
    assert bootstrap_interval(np.array([1.0, 1.0, np.nan])) == (1.0, 1.0)
    assert all(np.isnan(bootstrap_interval(np.array([np.nan]))))
    per = pd.DataFrame({"metric": "m", "level": "l", "k": 1, "specimen": range(4), "value": [1.0, 0.0, np.nan, 1.0]})
    row = summarise(per, n_boot=200).iloc[0]
    assert row["value"] == pytest.approx(2 / 3) and row["n"] == 3 and row["ci_low"] <= row["value"] <= row["ci_high"]


def test_background_deviation():
    plain = torch.full((2, 3, 16, 16), 0.0)
    plain[:, 0], plain[:, 1], plain[:, 2] = 242 / 255, 240 / 255, 235 / 255
    assert background_deviation(plain, (242, 240, 235)) == pytest.approx([0.0, 0.0], abs=1e-3)
    tinted = plain.clone()
    tinted[1, 2] += 30 / 255  # blue channel off by 30 levels everywhere
    assert background_deviation(tinted, (242, 240, 235))[1] == pytest.approx(10.0, abs=1e-3)
    centre = plain.clone()
    centre[:, :, 5:11, 5:11] = 0.0  # a specimen in the middle does not touch the frame
    assert background_deviation(centre, (242, 240, 235)) == pytest.approx([0.0, 0.0], abs=1e-3)


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


@pytest.fixture(scope="module")
def referenced():
    """The fixture's records with reference specimens of its unseen species (from the specimens the
    per-species cap left out, then from their test specimens), and every render."""
    from g2p.g2pdiff.datasets import add_unseen_references

    pool = load_barcode_records(max_species=16, per_species=None, seed=2)
    base = make_splits(load_barcode_records(max_species=16, per_species=15, seed=2), seed=0,
                       unseen_species_fraction=0.15)
    records = add_unseen_references(base, pool, 12, seed=0)
    images = PhenotypeSimulator(seed=0).render(records, 32, cache=False)
    return base, records, images


def test_references_never_touch_train_val_or_seen_test(referenced):
    base, records, _ = referenced
    ref = records[records["split"] == "reference"]
    unseen = set(base.loc[base["split"] == "test_unseen", "species"])
    assert len(ref) and set(ref["species"]) == unseen
    assert ref.groupby("species").size().max() <= 12
    for split in ("train", "val", "test_seen"):  # the generator's data and the seen test: unchanged
        assert set(records.loc[records["split"] == split, "processid"]) == \
            set(base.loc[base["split"] == split, "processid"]), split
    test = records[records["split"] == "test_unseen"]
    assert not set(test["processid"]) & set(ref["processid"])  # never a test specimen
    assert set(test["species"]) == unseen  # every unseen species keeps test specimens
    assert records["processid"].is_unique


def test_the_unseen_scorer_ranks_the_truth_first(referenced):
    """A stand-in generator that draws the nearest *seen* species for an unseen barcode (what a model
    that never saw the species does at best) against the truth: the scorer that learned the unseen
    species from their reference specimens scores the truth higher, and classifies it to its species."""
    from g2p.g2pdiff.baselines import nearest_barcodes

    _, records, images = referenced
    fit = records["split"].isin(["train", "reference"]).to_numpy(copy=True)
    evaluators = Evaluators.fit(records[fit], images[fit], **{**TINY, "epochs": 30, "width": 16})
    test = (records["split"] == "test_unseen").to_numpy(copy=True)
    train = (records["split"] == "train").to_numpy(copy=True)
    test_records, truth = records[test].reset_index(drop=True), images[test]
    nearest = nearest_barcodes(records.loc[train, "barcode"].tolist(), test_records["barcode"].tolist(), 1)[:, 0]
    look_alike = images[train][torch.from_numpy(nearest)]
    barcodes = test_records["barcode"].tolist()
    truth_score = evaluators.score(barcodes, truth).mean().item()
    look_alike_score = evaluators.score(barcodes, look_alike).mean().item()
    assert truth_score > look_alike_score + 0.05, (truth_score, look_alike_score)  # 0.79 against 0.68
    table = evaluate_samples(evaluators, test_records, truth[:, None], truth, ks=(1,), n_boot=20)
    species = table.query("metric == 'success_taxon' and level == 'species'").iloc[0]
    # the species head knows the unseen species too (0.35 here; chance is 1 in 16)
    assert species["n"] == len(test_records) and species["value"] > 3 / len(evaluators.config.species)


def test_the_guidance_2x2_has_every_cell_and_pairs_its_effects(evaluators, data):
    """Four cells per split and measure; alignment's effect is a paired difference: the truth against
    random training images is beyond its interval, two identical cells give exactly 0 (not beyond)."""
    from g2p.g2pdiff.benchmark import GUIDANCE_CELLS, GUIDANCE_MEASURES, guidance_2x2, guidance_table

    records, images = data
    train = (records["split"] == "train").to_numpy(copy=True)
    test_records, truth = _split(data, "test_seen")
    random = images[train][torch.randperm(int(train.sum()), generator=torch.Generator().manual_seed(0))[:len(truth)]]
    samples = {("g2pdiffusion", "test_seen"): truth[:, None], ("no_alignment", "test_seen"): random[:, None],
               ("no_cfg", "test_seen"): random[:, None], ("no_cfg_no_alignment", "test_seen"): random[:, None]}
    cells, effects = guidance_2x2(evaluators, samples, {"test_seen": test_records}, {"test_seen": truth}, n_boot=200)
    n_measures = len(GUIDANCE_MEASURES) - (evaluators.config.score_threshold is None)  # success_rate needs τ
    assert len(cells) == len(GUIDANCE_CELLS) * n_measures
    assert set(zip(cells["cfg"], cells["alignment"])) == set(GUIDANCE_CELLS)
    assert (cells["n"] == len(test_records)).all()
    known = cells.dropna(subset=["value"])
    assert ((known["ci_low"] <= known["value"] + 1e-9) & (known["value"] <= known["ci_high"] + 1e-9)).all()
    effect = effects.set_index(["cfg", "measure"])
    on = effect.loc[("on", "clibd_score")]
    assert on["effect"] > 0 and on["beyond"] and on["ci_low"] > 0
    off = effect.loc[("off", "species_hit")]
    assert off["effect"] == 0 and off["ci_low"] == off["ci_high"] == 0 and not off["beyond"]
    assert guidance_table(cells).shape == (2, n_measures * 2)
    with pytest.raises(ValueError, match="needs all four cells"):
        guidance_2x2(evaluators, {k: v for k, v in samples.items() if k[0] != "no_cfg"}, {"test_seen": test_records},
                     {"test_seen": truth})


def test_balanced_species_loss_learns_species_with_few_specimens(referenced):
    """Three reference specimens per unseen species against ~10 training specimens per seen species: an
    unweighted species head crowds the few-specimen species out; the inverse-frequency weighting (the
    default) classifies their held-out truth renders to them."""
    _, records, images = referenced
    ref = records.index[records["split"] == "reference"]
    few = records.loc[ref].groupby("species").head(3).index
    keep = records["split"].eq("train") | records.index.isin(few)
    fit = keep.to_numpy(copy=True)
    test = (records["split"] == "test_unseen").to_numpy(copy=True)
    test_records = records[test].reset_index(drop=True)

    def unseen_species_hit(balanced: bool) -> float:
        ev = Evaluators.fit(records[fit], images[fit], **{**TINY, "epochs": 30, "width": 16},
                            balanced_species=balanced)
        table = evaluate_samples(ev, test_records, images[test][:, None], images[test], ks=(1,), n_boot=20)
        return float(table.query("metric == 'success_taxon' and level == 'species'")["value"].iloc[0])

    plain, balanced = unseen_species_hit(False), unseen_species_hit(True)
    assert balanced > plain + 0.1, (balanced, plain)  # 0.35 against 0.00 here
