"""Retrieval and random baselines, the paper table, the comparison table, barcode mutation."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from g2p.g2pdiff.baselines import (
    PAPER_LABEL,
    comparison_table,
    headline_metrics,
    nearest_barcodes,
    published_metrics,
    random_samples,
    retrieval_samples,
)
from g2p.g2pdiff.sweeps import mutate


def test_nearest_barcodes_by_kmer_cosine():
    train = ["AAAAAAAAAA", "ACGTACGTAC", "CCCCCCCCCC"]
    query = ["ACGTACGTAA", "CCCCCCCCCA"]
    idx = nearest_barcodes(train, query, k=2, kmer=2)
    assert idx[0, 0] == 1 and idx[1, 0] == 2
    assert idx.shape == (2, 2)


def test_retrieval_and_random_shapes():
    train = pd.DataFrame({"barcode": ["AAAAAAAAAA", "ACGTACGTAC", "CCCCCCCCCC"]})
    images = torch.arange(3, dtype=torch.float32)[:, None, None, None].expand(3, 3, 4, 4)
    got = retrieval_samples(train, images, pd.DataFrame({"barcode": ["CCCCCCCCCA"]}), k=2)
    assert got.shape == (1, 2, 3, 4, 4) and got[0, 0].unique().item() == 2.0
    rnd = random_samples(images, n=5, k=3, seed=0)
    assert rnd.shape == (5, 3, 3, 4, 4)
    assert torch.equal(rnd, random_samples(images, n=5, k=3, seed=0))


def test_published_numbers_are_the_papers():
    paper = published_metrics()
    row = paper[(paper["method"] == "G2PDiffusion") & (paper["metric"] == "clibd_score") & (paper["k"] == 1)]
    assert row["value"].item() == pytest.approx(0.182)
    assert (paper["source"] == PAPER_LABEL).all()


def test_comparison_table_puts_ours_beside_the_paper():
    metrics = pd.DataFrame([
        ("g2pdiffusion", "test_seen", "clibd_score", "specimen", 1, 0.3, 4),
        ("g2pdiffusion", "test_seen", "success_rate", "species", 1, 0.5, 4),
        ("g2pdiffusion", "test_seen", "success_rate", "genus", 1, 0.75, 4),
        ("g2pdiffusion", "test_unseen", "success_rate", "genus", 1, 0.25, 4),
        ("g2pdiffusion", "test_unseen", "success_rate", "species", 1, float("nan"), 0),
        ("g2pdiffusion", "test_seen", "pes", "specimen", 1, 0.6, 4),
    ], columns=["method", "split", "metric", "level", "k", "value", "n"])
    table = comparison_table(metrics, ks=(1,))
    ours = table[table["source"] != PAPER_LABEL].set_index("split")
    assert ours.loc["test_seen", "success_rate@1"] == 0.5  # species level on seen species
    assert ours.loc["test_unseen", "success_rate@1"] == 0.25  # genus level on unseen species
    assert PAPER_LABEL in set(table["source"])
    flat = headline_metrics(metrics)
    assert flat["g2pdiff_test_seen_g2pdiffusion_success_rate_k1"] == 0.75


def test_mutate_changes_exactly_n_bases():
    seq = "ACGT" * 20
    for n in (0, 1, 7, 80):
        out = mutate(seq, n, seed=1)
        assert len(out) == len(seq) and sum(a != b for a, b in zip(seq, out)) == n
    with pytest.raises(ValueError, match="cannot mutate 81"):
        mutate(seq, 81)
