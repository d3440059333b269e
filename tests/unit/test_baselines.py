"""Baselines on a tiny synthetic dataset where labels follow protein families.

Genes come in families (mutated copies of one random ancestor protein); each family has its own
phenotype terms and GO terms. Homology transfer, k-mer LR and the GO MLP should therefore all beat
the label-frequency baseline on the held-out genes.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from g2p.data.curated import CuratedDataset
from g2p.genepheno import baselines, metrics

AMINO = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def toy_dataset(n_families: int = 6, per_family: int = 20, n_terms: int = 16, length: int = 160,
                mutation: float = 0.15, seed: int = 0, name: str = "toy") -> CuratedDataset:
    rng = np.random.default_rng(seed)
    n = n_families * per_family
    family = np.repeat(np.arange(n_families), per_family)
    ancestors = rng.choice(AMINO, size=(n_families, length))
    seqs = []
    for f in family:
        s = ancestors[f].copy()
        hit = rng.random(length) < mutation
        s[hit] = rng.choice(AMINO, size=hit.sum())
        seqs.append("M" + "".join(s))
    family_terms = (rng.random((n_families, n_terms)) < 0.3)
    family_terms[:, 0] = True  # a frequent term
    y = family_terms[family] & (rng.random((n, n_terms)) < 0.9)
    y |= rng.random((n, n_terms)) < 0.03
    y[:, 0] = True
    # Every split gets some of each family.
    split = np.empty(n, dtype=object)
    for f in range(n_families):
        idx = rng.permutation(np.flatnonzero(family == f))
        split[idx[: int(0.6 * per_family)]] = "train"
        split[idx[int(0.6 * per_family): int(0.8 * per_family)]] = "val"
        split[idx[int(0.8 * per_family):]] = "test"
    genes = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n)], "symbol": [f"g{i}" for i in range(n)],
                          "accession": [f"P{i:05d}" for i in range(n)], "split": split, "sequence": seqs})
    counts = y.sum(axis=0)
    bins = np.array(["11-30", "31-100", "101-300", ">=301"])[np.arange(n_terms) % 4]
    terms = pd.DataFrame({"term_id": [f"MP:{j:07d}" for j in range(n_terms)],
                          "name": [f"term {j}" for j in range(n_terms)],
                          "n_genes": counts, "bin": bins, "depth": 3})
    n_concepts = 5
    concept_labels = sp.csr_matrix((rng.random((n_families, n_concepts)) < 0.5)[family].astype(np.int8))
    concepts = pd.DataFrame({"go_id": [f"GO:{k:07d}" for k in range(n_concepts)],
                             "name": [f"concept {k}" for k in range(n_concepts)], "namespace": "biological_process"})
    go_inputs = [[f"GO:1{f:03d}{k:03d}" for k in range(4)] + [f"GO:9{rng.integers(0, 50):06d}"] for f in family]
    pairs = pd.DataFrame({"term_a": [terms.term_id[1], terms.term_id[2]], "name_a": ["a", "b"],
                          "term_b": [terms.term_id[3], terms.term_id[4]], "name_b": ["c", "d"],
                          "parent": ["MP:0000001"] * 2, "rule": ["test"] * 2})
    return CuratedDataset(name, genes, terms, sp.csr_matrix(y.astype(np.int8)), concepts, concept_labels,
                      go_inputs, pairs)


FAST = baselines.BaselineConfig(epochs=40, patience=10, hidden=64, lr=5e-3, batch_size=32, min_go_count=1)


@pytest.fixture(scope="module")
def toy():
    return toy_dataset()


def _test_fmax(ds, scores):
    return metrics.fmax(ds.labels[ds.split_index("test")], scores)[0]


def test_label_frequency_is_train_prevalence(toy):
    scores = baselines.LabelFrequency().fit(toy).predict(toy, "test")
    train_prev = toy.labels[toy.split_index("train")].toarray().mean(axis=0)
    assert scores.shape == (len(toy.split_index("test")), len(toy.terms))
    np.testing.assert_allclose(scores[0], train_prev)
    np.testing.assert_allclose(scores[-1], train_prev)


@pytest.mark.skipif(not baselines.diamond_available(), reason="diamond binary not installed")
def test_diamond_transfer_beats_naive(toy):
    naive = _test_fmax(toy, baselines.LabelFrequency().fit(toy).predict(toy, "test"))
    best = baselines.SequenceSimilarity("max", FAST).fit(toy)
    weighted = baselines.SequenceSimilarity("weighted", FAST)
    weighted.share_hits(best)
    weighted.fit(toy)
    s_max, s_w = best.predict(toy, "test"), weighted.predict(toy, "test")
    assert best.method == "max-BLAST (DIAMOND)" and weighted.method == "w-BLAST (DIAMOND)"
    hits = best.hits(toy, "test")
    # Only train genes are database entries; every test gene finds its family.
    assert hits["subject"].max() < len(toy.split_index("train"))
    assert hits["query"].nunique() == len(toy.split_index("test"))
    assert ((s_max >= 0) & (s_max <= 1)).all() and ((s_w >= 0) & (s_w <= 1)).all()
    assert _test_fmax(toy, s_max) > naive + 0.1
    assert _test_fmax(toy, s_w) > naive + 0.1


def test_fallback_when_aligner_missing(toy, monkeypatch):
    monkeypatch.setattr(baselines.shutil, "which", lambda name: None)
    assert not baselines.diamond_available()
    model = baselines.SequenceSimilarity("weighted", FAST)
    with pytest.warns(RuntimeWarning, match="fallback"):
        model.fit(toy)
    assert model.method == "w-BLAST (k-mer fallback)"
    scores = model.predict(toy, "test")
    naive = _test_fmax(toy, baselines.LabelFrequency().fit(toy).predict(toy, "test"))
    assert _test_fmax(toy, scores) > naive + 0.1
    with pytest.raises(FileNotFoundError, match="diamond"):
        baselines.diamond_hits(["MAAA"], ["MAAA"], FAST)


def test_kmer_logistic_and_go_mlp_learn(toy):
    naive = _test_fmax(toy, baselines.LabelFrequency().fit(toy).predict(toy, "test"))
    for model in (baselines.KmerLogistic(FAST), baselines.DeepPhenoLike(FAST)):
        scores = model.fit(toy).predict(toy, "test")
        assert scores.shape == (len(toy.split_index("test")), len(toy.terms))
        assert np.isfinite(scores).all() and scores.min() >= 0 and scores.max() <= 1
        assert model.history["val_fmax"].notna().all()
        assert _test_fmax(toy, scores) > naive + 0.05, model.name


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="bogus"):
        baselines.BaselineConfig.from_dict({"bogus": 1})


def test_sparse_input_linear_equals_the_dense_layer_it_replaces():
    """Sparse rows (one of them empty) give x @ W + b of the dense rows, gradients included, and the
    layer starts from nn.Linear's weights for the same seed."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    from g2p.genepheno.baselines import SparseInputLinear, _batch

    torch.manual_seed(0)
    reference = torch.nn.Linear(30, 5)
    torch.manual_seed(0)
    layer = SparseInputLinear(30, 5)
    assert torch.equal(layer.weight, reference.weight.t()) and torch.equal(layer.bias, reference.bias)
    x = sp.random(6, 30, density=0.2, format="csr", dtype=np.float32, random_state=1)
    x = sp.vstack([x[:3], sp.csr_matrix((1, 30), dtype=np.float32), x[3:]]).tocsr()
    rows = np.arange(7)
    sparse_out = layer(_batch(x, rows, torch.device("cpu")))
    dense_out = reference(torch.as_tensor(x.toarray()))
    assert torch.allclose(sparse_out, dense_out, atol=1e-6)
    sparse_out.square().sum().backward()
    dense_out.square().sum().backward()
    assert torch.allclose(layer.weight.grad, reference.weight.grad.t(), atol=1e-5)


def test_the_baselines_read_the_dna_genepheno_reads(toy, tmp_path):
    """GenePheno given a DNA FASTA: the sequence baselines read the same DNA (6-mers; homology by k-mer
    neighbours, DIAMOND aligns proteins only), and the score cache knows which FASTA it was."""
    import dataclasses
    import warnings

    from g2p.genepheno.benchmark import BaselineInputs, run_baseline
    from g2p.genepheno.config import TrainConfig

    rng = np.random.default_rng(1)
    family = np.repeat(np.arange(6), 20)  # toy_dataset's families, in gene order
    # proteins without any family signal; DNA with it (mutated copies of one ancestor per family)
    proteins = ["M" + "".join(rng.choice(AMINO, size=160)) for _ in family]
    scrambled = dataclasses.replace(toy, genes=toy.genes.assign(sequence=proteins))
    ancestors = rng.choice(list("ACGT"), size=(6, 480))
    fasta = tmp_path / "genes.fa"
    lines = []
    for gene_id, f in zip(toy.genes["gene_id"], family):
        dna = ancestors[f].copy()
        hit = rng.random(480) < 0.1
        dna[hit] = rng.choice(list("ACGT"), size=hit.sum())
        lines += [f">{gene_id}", "".join(dna)]
    fasta.write_text("\n".join(lines) + "\n")
    model = TrainConfig(sequences_fasta=str(fasta), alphabet="dna")

    inputs = BaselineInputs.of(scrambled, model, FAST, None)
    assert inputs.use_aligner is False and inputs.config.kmer_k == FAST.dna_kmer_k == 6
    assert set(inputs.dataset.genes["sequence"].str[0]) <= set("ACGT")
    assert list(scrambled.genes["sequence"]) == proteins  # the dataset itself is left alone
    assert BaselineInputs.of(scrambled, TrainConfig(), FAST, None).dataset is scrambled  # no FASTA: the proteins
    naive = _test_fmax(toy, baselines.LabelFrequency().fit(toy).predict(toy, "test"))
    on_proteins = _test_fmax(toy, baselines.KmerLogistic(FAST).fit(scrambled).predict(scrambled, "test"))
    on_dna = _test_fmax(toy, baselines.KmerLogistic(inputs.config).fit(inputs.dataset).predict(inputs.dataset, "test"))
    assert on_dna > naive + 0.1 and on_dna > on_proteins + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "DIAMOND not found": the k-mer search is the choice
        nearest = baselines.SequenceSimilarity("max", inputs.config, inputs.use_aligner).fit(inputs.dataset)
    assert nearest.method == "max-BLAST (k-mer fallback)"
    assert _test_fmax(toy, nearest.predict(inputs.dataset, "test")) > naive + 0.1

    lr = baselines.KmerLogistic(inputs.config)
    first = run_baseline(inputs.dataset, lr, tmp_path / "cache", seed=0, sequences_digest=inputs.sequences_digest)
    again = run_baseline(inputs.dataset, lr, tmp_path / "cache", seed=0, sequences_digest=inputs.sequences_digest)
    assert again.wall_s == first.wall_s  # read back from the cache
    stored = str(np.load(tmp_path / "cache" / "kmer_lr-seed0.npz")["key"])
    fasta.write_text(fasta.read_text().replace("A", "C", 1))
    changed = BaselineInputs.of(scrambled, model, FAST, None)
    assert changed.sequences_digest != inputs.sequences_digest
    run_baseline(changed.dataset, baselines.KmerLogistic(changed.config), tmp_path / "cache", seed=0,
                 sequences_digest=changed.sequences_digest)
    assert str(np.load(tmp_path / "cache" / "kmer_lr-seed0.npz")["key"]) != stored  # a new FASTA: refitted
