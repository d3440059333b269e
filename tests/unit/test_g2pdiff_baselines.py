"""Retrieval and random baselines, barcode mutation."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from g2p.g2pdiff.baselines import nearest_barcodes, random_samples, retrieval_samples
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


def test_mutate_changes_exactly_n_bases():
    seq = "ACGT" * 20
    for n in (0, 1, 7, 80):
        out = mutate(seq, n, seed=1)
        assert len(out) == len(seq) and sum(a != b for a, b in zip(seq, out)) == n
    with pytest.raises(ValueError, match="cannot mutate 81"):
        mutate(seq, 81)
